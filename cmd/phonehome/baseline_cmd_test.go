package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBaselineCheckAndDiff records build 1 as the approved baseline, then
// checks and diffs build 2 against it.
func TestBaselineCheckAndDiff(t *testing.T) {
	base := filepath.Join(t.TempDir(), "approved.json")
	if _, errs, code := runCLI(t, "baseline", "-o", base, fwV1); code != exitOK {
		t.Fatalf("baseline: exit %d: %s", code, errs)
	}
	stdout, _, _ := runCLI(t, "baseline", fwV1)
	if !strings.HasPrefix(stdout, "{\n  \"phonehome_baseline\": 1,") {
		t.Errorf("baseline on stdout: %.80s", stdout)
	}
	if _, errs, code := runCLI(t, "check", "--baseline", base, fwV1); code != exitOK {
		t.Errorf("check v1 against its own baseline: exit %d: %s", code, errs)
	}
	out, _, code := runCLI(t, "check", "--baseline", base, "-f", "json", fwV2)
	if code != exitViolation {
		t.Fatalf("check v2: exit %d", code)
	}
	if _, failed := parseCheck(t, out); strings.Join(failed, ",") != "baseline-new-country,baseline-new-destination,baseline-new-leak,baseline-new-vendor" {
		t.Errorf("baseline rules failed: %v", failed)
	}
	// A baseline on one side, a capture on the other.
	out, _, code = runCLI(t, "diff", "--exit-code", base, fwV2)
	if code != exitViolation || !strings.Contains(out, "+ leak imei to sdk.sensorsdata.cn over HTTP") {
		t.Errorf("diff baseline capture: exit %d\n%s", code, out)
	}
	if out, _, code := runCLI(t, "diff", base, fwV1); code != exitOK || out != "no changes\n" {
		t.Errorf("diff against itself: exit %d %q", code, out)
	}
}
