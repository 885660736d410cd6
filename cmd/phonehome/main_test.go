package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/golden"
)

// runCLI runs the command in-process from the repository root.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"phonehome"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func matchGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	golden.Check(t, path, []byte(got))
}

func TestAnalyzeGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"demo.table", []string{"analyze", "--devices", "fixtures/demo-devices.yaml", "fixtures/demo.pcap"}},
		{"demo.json", []string{"analyze", "--devices", "fixtures/demo-devices.yaml", "--format", "json", "fixtures/demo.pcap"}},
		{"demo.flows", []string{"analyze", "fixtures/demo.pcap", "--table", "flows"}},
		{"demo.ndjson", []string{"analyze", "-f", "ndjson", "fixtures/demo.pcap"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			matchGolden(t, tc.name, out)
			// Same input, same bytes.
			again, _, _ := runCLI(t, tc.args...)
			if again != out {
				t.Error("output differs between two runs")
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no capture", []string{"analyze"}, exitUsage, "no capture given"},
		{"missing file", []string{"analyze", "nope.pcap"}, exitUsage, "nope.pcap: no such file"},
		{"not a capture", []string{"analyze", "go.mod"}, exitUsage, "not a pcap"},
		{"bad flag", []string{"analyze", "--frobnicate", "fixtures/demo.pcap"}, exitUsage, "frobnicate"},
		{"bad format", []string{"analyze", "-f", "xml", "fixtures/demo.pcap"}, exitUsage, "xml"},
		{"truncated", []string{"analyze", "fixtures/captures/truncated.pcap"}, exitPartial, "damaged after frame"},
		{"version", []string{"version"}, exitOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q does not mention %q", errs, tc.stderr)
			}
		})
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	app := newApp(nil, nil, nil)
	got := permuteArgs(app, []string{"phonehome", "analyze", "a.pcap", "--format", "json", "b.pcap", "--no-color", "-o=x"})
	want := "phonehome analyze --format json --no-color -o=x -- a.pcap b.pcap"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// JSON and NDJSON stream every flow record and event through spool files,
// so --max-records (which bounds the in-memory flows table) cuts nothing
// there; the flows table still stops at it and says so.
func TestStreamedFormatsListEveryRecord(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	all, _, code := runCLI(t, "analyze", "fixtures/demo.pcap", "--format", "ndjson")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	flows := strings.Count(all, `{"type":"flow",`)
	if flows < 5 {
		t.Fatalf("demo has %d flow records; the test needs more than 4", flows)
	}
	capped, _, code := runCLI(t, "analyze", "fixtures/demo.pcap", "--format", "ndjson", "--max-records", "2")
	if code != 0 || capped != all {
		t.Errorf("--max-records 2 changed the NDJSON output (exit %d)", code)
	}
	doc, _, _ := runCLI(t, "analyze", "fixtures/demo.pcap", "--format", "json", "--max-records", "2")
	var rep struct {
		Flows []json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal([]byte(doc), &rep); err != nil || len(rep.Flows) != flows {
		t.Errorf("json lists %d flows (err %v), want %d", len(rep.Flows), err, flows)
	}
	table, _, _ := runCLI(t, "analyze", "fixtures/demo.pcap", "--table", "flows", "--max-records", "2")
	if !strings.Contains(table, "only the first 2 flow records") {
		t.Errorf("the flows table does not report the cap:\n%s", table)
	}
	if ents, _ := os.ReadDir(os.Getenv("TMPDIR")); len(ents) != 0 {
		t.Errorf("%d spool files left in TMPDIR", len(ents))
	}
}
