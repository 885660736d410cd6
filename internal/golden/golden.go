// Package golden compares test output with golden files under testdata/.
// `go test ./pkg/x -update` rewrites them instead (review the diff: it is
// the output users see); a mismatch reports the first differing lines.
//
// It owns the -update flag of every test binary that imports it: tests
// that also regenerate other testdata (fuzz seeds, recorded transcripts)
// ask Update.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (and other generated testdata) instead of comparing")

// Update reports whether the test run rewrites its golden files.
func Update() bool { return *update }

// Check compares got with the file at path (with -update: writes it,
// creating its directory).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it; review the diff):\n%s", path, Diff(got, want))
	}
}

// JSON is Check for v written as indented JSON with a final newline.
func JSON(t testing.TB, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Check(t, path, append(got, '\n'))
}

// Diff describes how got differs from want: the first differing line with
// a few lines of context, and the line counts.
func Diff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (got %d lines, want %d)\n", i+1, len(g), len(w))
	from := max(i-2, 0)
	for k := from; k < i; k++ {
		fmt.Fprintf(&b, "  %q\n", g[k])
	}
	for k := i; k < min(i+3, len(w)); k++ {
		fmt.Fprintf(&b, "- %q\n", w[k])
	}
	for k := i; k < min(i+3, len(g)); k++ {
		fmt.Fprintf(&b, "+ %q\n", g[k])
	}
	return b.String()
}
