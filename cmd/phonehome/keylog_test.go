package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeylogFlag: a bad key log line is a warning with its file and line
// number and never its content; a missing key log is a usage error.
func TestKeylogFlag(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("ab", 48)
	keys := filepath.Join(dir, "keys.log")
	content := "# comment\r\n" +
		"CLIENT_RANDOM " + strings.Repeat("01", 32) + " " + secret + "\r\n" +
		"CLIENT_RANDOM " + strings.Repeat("02", 31) + " " + secret + "\n" + // client random too short
		"CLIENT_RANDOM " + strings.Repeat("03", 32) + " " + secret[:90] + "zz\n" // not hex
	if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "analyze", "--keylog", keys, "-f", "json", "fixtures/demo.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{keys + ":3: key log line not used: client random is 62 hex digits", keys + ":4: key log line not used: secret is not hex"} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not warn %q", want)
		}
	}
	if strings.Contains(out+errs, secret[:32]) || strings.Contains(out+errs, strings.Repeat("02", 31)) {
		t.Error("a key log line's content is in the output")
	}
	_, errs, code = runCLI(t, "analyze", "--keylog", filepath.Join(dir, "nope.log"), "fixtures/demo.pcap")
	if code != exitUsage || !strings.Contains(errs, "--keylog") {
		t.Errorf("missing key log: exit %d, stderr %q", code, errs)
	}
}
