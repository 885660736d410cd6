package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSignaturesCommand(t *testing.T) {
	tests := []struct {
		args []string
		exit int
		out  string // substring of stdout
	}{
		{[]string{"signatures", "lint", "-q"}, 0, ""},
		{[]string{"signatures", "lint"}, 0, "0 errors, 0 warnings"},
		{[]string{"signatures", "lint", "--only", "../../pkg/signature/testdata/broken/bad-cidr"}, 2, "pack.yaml:11:9: error: CIDR"},
		{[]string{"signatures", "lint", "--only", "../../pkg/signature/testdata/broken/indent"}, 2, "pack.yaml:5:2: error: YAML syntax"},
		{[]string{"signatures", "lint", "--only"}, 2, ""},
		{[]string{"signatures", "lint", "../../pkg/signature/testdata/good"}, 0, "74 vendors"},
		{[]string{"signatures", "test"}, 0, "0 failed"},
		{[]string{"signatures", "test", "tracking.miui.com", "AS30103"}, 0, "xiaomi-miui-tracking"},
		{[]string{"signatures", "test", "port:x"}, 2, ""},
		{[]string{"signatures", "list", "--vendor", "zoom"}, 0, "zoom-network-china"},
		{[]string{"signatures", "list", "--json", "--category", "push"}, 0, `"id": "xiaomi-push"`},
		{[]string{"signatures", "list", "--signatures", "/nonexistent"}, 2, ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"phonehome"}, tt.args...), strings.NewReader(""), &out, &errb)
		if code != tt.exit || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d, want %d; stdout contains %q? %v\nstdout:\n%.2000s\nstderr:\n%s", tt.args, code, tt.exit, tt.out, strings.Contains(out.String(), tt.out), out.String(), errb.String())
		}
	}
}
