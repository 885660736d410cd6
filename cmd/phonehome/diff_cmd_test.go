package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDiffFirmware compares the two firmware builds: build 2 adds a
// destination, a country, a vendor and a plaintext IMEI leak.
func TestDiffFirmware(t *testing.T) {
	out, errs, code := runCLI(t, "diff", fwV1, fwV2)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	matchGolden(t, "diff.firmware.txt", out)

	out, _, code = runCLI(t, "diff", "--format", "json", "--exit-code", fwV2, fwV1)
	if code != exitOK {
		t.Errorf("--exit-code with only removals: exit %d", code)
	}
	var d struct {
		Added, Removed int
		Changes        []struct{ Op, Kind, Subject string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Added != 0 || d.Removed != 4 || d.Changes[3].Kind != "leak" || d.Changes[3].Subject != "imei to sdk.sensorsdata.cn over HTTP" {
		t.Errorf("reverse diff: %+v", d)
	}
	out, _, _ = runCLI(t, "diff", "--format", "markdown", fwV1, fwV2)
	if !strings.Contains(out, "| ➕ | leak | imei to sdk.sensorsdata.cn over HTTP |") {
		t.Errorf("markdown diff:\n%s", out)
	}
}

func TestDiffUsage(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"diff", fwV1}, "two arguments"},
		{[]string{"diff", "-f", "sarif", fwV1, fwV2}, "unknown format"},
		{[]string{"diff", fwV1, "nope.pcap"}, "nope.pcap"},
		{[]string{"diff", "go.mod", fwV1}, "not a pcap"},
	}
	for _, tc := range cases {
		_, errs, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
}
