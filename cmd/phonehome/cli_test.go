package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// Each case is a surprise a new user met: the CLI must say what is wrong on
// stderr in a line or two, write nothing to stdout, and exit 2.
func TestUsageErrorsAreShortAndOnStderr(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"bad flag", []string{"analyze", "--frobnicate", "fixtures/demo.pcap"}, []string{"analyze: flag provided but not defined: -frobnicate", "phonehome analyze --help"}},
		{"bad subcommand flag", []string{"signatures", "list", "--frobnicate"}, []string{"signatures list: flag provided but not defined"}},
		{"unknown command", []string{"analzye", "fixtures/demo.pcap"}, []string{`unknown command "analzye"`, `did you mean "analyze"?`}},
		{"unknown subcommand", []string{"signatures", "lsit"}, []string{`unknown command "lsit" for phonehome signatures`, `did you mean "list"?`}},
		{"far-off command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "phonehome --help lists them"}},
		{"size with a bad unit", []string{"analyze", "--max-body", "1XB", "fixtures/demo.pcap"}, []string{`--max-body: "1XB" is not a size`}},
		{"fractional size", []string{"analyze", "--max-buffer", "1.5MiB", "fixtures/demo.pcap"}, []string{`--max-buffer: "1.5MiB" is not a size`}},
		{"country name", []string{"analyze", "--home-country", "germany", "fixtures/demo.pcap"}, []string{`"germany" is not a two-letter ISO 3166 country code`}},
		{"private-use country", []string{"analyze", "--home-country", "XX", "fixtures/demo.pcap"}, []string{`"XX" is not an ISO 3166 country code`}},
		{"bad colour", []string{"analyze", "--color", "sometimes", "fixtures/demo.pcap"}, []string{"want auto, always or never"}},
		{"format contradicts -o", []string{"analyze", "-f", "csv", "-o", "REPLACED/r.json", "fixtures/demo.pcap"}, []string{"looks like json but --format is csv"}},
		{"several csv tables to stdout", []string{"analyze", "-f", "csv", "--table", "leaks", "--table", "devices", "fixtures/demo.pcap"}, []string{"csv holds one table per file", "--output DIR"}},
		{"bad list format", []string{"signatures", "list", "-f", "yaml"}, []string{`--format "yaml": want table or json`}},
		{"-v is not the version", []string{"-v"}, []string{"flag provided but not defined: -v"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, a := range tc.args {
				tc.args[i] = strings.ReplaceAll(a, "REPLACED", dir)
			}
			out, errs, code := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout is not empty (%d bytes): help or a report leaked there", len(out))
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not say %q", errs, w)
				}
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n") + 1; n > 2 {
				t.Errorf("stderr has %d lines, want at most 2:\n%s", n, errs)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("a refused run left %d files in the output directory", len(ents))
			}
		})
	}
}

func TestOutputExtensionSetsFormat(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		file  string
		check func([]byte) error
	}{
		{"r.json", func(b []byte) error { var v map[string]any; return json.Unmarshal(b, &v) }},
		{"r.ndjson", func(b []byte) error {
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var v map[string]any
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					return err
				}
			}
			return nil
		}},
		{"r.csv", func(b []byte) error { _, err := csv.NewReader(strings.NewReader(string(b))).ReadAll(); return err }},
		{"r.html", func(b []byte) error {
			if !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
				return errString("not an HTML document")
			}
			return nil
		}},
		{"r.md", func(b []byte) error {
			if !strings.Contains(string(b), "| --- |") {
				return errString("no markdown table")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			_, errs, code := runCLI(t, "analyze", "-o", p, "fixtures/demo.pcap")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.check(b); err != nil {
				t.Errorf("%s is not what its extension says: %v", tc.file, err)
			}
		})
	}
	// An explicit --format that agrees is fine; an unknown extension
	// keeps --format.
	if _, errs, code := runCLI(t, "analyze", "-f", "json", "-o", filepath.Join(dir, "same.json"), "fixtures/demo.pcap"); code != 0 {
		t.Errorf("agreeing --format refused: %s", errs)
	}
	p := filepath.Join(dir, "report.out")
	if _, errs, code := runCLI(t, "analyze", "-f", "json", "-o", p, "fixtures/demo.pcap"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(p); !json.Valid(b) {
		t.Error("--format json to report.out is not JSON")
	}
}

func TestCSVTablesToDirectory(t *testing.T) {
	dir := t.TempDir() + "/tables/"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runCLI(t, "analyze", "-f", "csv", "--table", "leaks", "--table", "devices", "--table", "destinations", "-o", dir, "--devices", "fixtures/demo-devices.yaml", "fixtures/demo.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, table := range []string{"leaks", "devices", "destinations"} {
		b, err := os.ReadFile(filepath.Join(dir, table+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Errorf("%s.csv: %d rows, err %v", table, len(rows), err)
		}
		// Each file is its own table, not a copy of the first.
		single, _, _ := runCLI(t, "analyze", "-f", "csv", "--table", table, "--devices", "fixtures/demo-devices.yaml", "fixtures/demo.pcap")
		if single != string(b) {
			t.Errorf("%s.csv differs from --table %s on stdout", table, table)
		}
	}
}

func TestColorMode(t *testing.T) {
	cases := []struct {
		args   []string
		noCol  string
		term   string
		tty    bool
		want   bool
		reason string
	}{
		{nil, "", "xterm", true, true, "a terminal gets colour"},
		{nil, "", "xterm", false, false, "a pipe does not"},
		{nil, "", "dumb", true, false, "TERM=dumb means no colour"},
		{nil, "1", "xterm", true, false, "NO_COLOR"},
		{[]string{"--color", "always"}, "1", "dumb", false, true, "--color always forces it"},
		{[]string{"--color", "never"}, "", "xterm", true, false, "--color never"},
		{[]string{"--no-color"}, "", "xterm", true, false, "--no-color"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noCol)
			if tc.noCol == "" {
				os.Unsetenv("NO_COLOR")
			}
			t.Setenv("TERM", tc.term)
			app := newApp(nil, nil, nil)
			var got bool
			var err error
			app.Command("analyze").Action = func(c *cli.Context) error { got, err = colorMode(c, tc.tty); return nil }
			if rerr := app.Run(append([]string{"phonehome", "analyze"}, append(tc.args, "x.pcap")...)); rerr != nil {
				t.Fatal(rerr)
			}
			if err != nil || got != tc.want {
				t.Errorf("colour %v (err %v), want %v", got, err, tc.want)
			}
		})
	}
	// --color always reaches the writer: ANSI escapes on a pipe.
	out, _, code := runCLI(t, "analyze", "--color", "always", "--devices", "fixtures/demo-devices.yaml", "fixtures/demo.pcap")
	if code != 0 || !strings.Contains(out, "\x1b[") {
		t.Errorf("--color always wrote no colour (exit %d)", code)
	}
}

// The reading rate ignores the first burst and the time left settles: at a
// steady 100 MB/s after a 1 GB burst, the rate converges to 100 MB/s and
// the time left only falls.
func TestRateMeterSettles(t *testing.T) {
	var m rateMeter
	const total = 20 << 30
	pos := int64(1 << 30) // a burst served from buffers at once
	var prev time.Duration
	for ms := 200; ms <= 60000; ms += 200 {
		at := time.Duration(ms) * time.Millisecond
		if ms > 200 {
			pos += 100 << 20 / 5 // 100 MiB/s in 200 ms steps
		}
		rate, left, ok := m.add(at, pos, total)
		if at < rateWarmup && ok {
			t.Fatalf("estimate at %v, before the warm-up", at)
		}
		if !ok {
			continue
		}
		if at >= rateWarmup+rateWindow {
			if rate < 95<<20 || rate > 105<<20 {
				t.Fatalf("rate %.0f B/s at %v, want about 100 MiB/s", rate, at)
			}
			if prev != 0 && left > prev+time.Second {
				t.Fatalf("time left grew from %v to %v at %v", prev, left, at)
			}
			prev = left
		}
	}
	if prev == 0 {
		t.Fatal("no estimate after a minute")
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1048576", 1 << 20, true}, {"64KiB", 64 << 10, true}, {"1MiB", 1 << 20, true}, {"1mib", 1 << 20, true},
		{"2GB", 2_000_000_000, true}, {"10 MB", 10_000_000, true}, {"512K", 512 << 10, true}, {"0", 0, true},
		{"1XB", 0, false}, {"1.5MiB", 0, false}, {"-1", 0, false}, {"", 0, false}, {"MiB", 0, false}, {"+5", 0, false},
		{"99999999999TiB", 0, false}, {"12abc", 0, false},
	}
	for _, tc := range cases {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseCountry(t *testing.T) {
	good := map[string]string{"DE": "DE", "de": "DE", " sg ": "SG", "UK": "GB", "GB": "GB", "XK": "XK"}
	for in, want := range good {
		if got, err := parseCountry(in); err != nil || got != want {
			t.Errorf("parseCountry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"XX", "ZZ", "EU", "AA", "germany", "D", "DEU", ""} {
		if got, err := parseCountry(in); err == nil {
			t.Errorf("parseCountry(%q) = %q, want an error", in, got)
		}
	}
}

func TestListFormatFlag(t *testing.T) {
	for _, args := range [][]string{{"signatures", "list", "--format", "json"}, {"signatures", "list", "--json"}} {
		out, errs, code := runCLI(t, args...)
		if code != 0 || !json.Valid([]byte(out)) {
			t.Errorf("%v: exit %d, valid JSON %v: %s", args, code, json.Valid([]byte(out)), errs)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestCheckLintSaysOKAndWarnsAboutExpiredSuppressions(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	ign := filepath.Join(dir, "ignore.yaml")
	os.WriteFile(pol, []byte("version: 1\nrules:\n  - id: no-china\n    deny_countries: [CN]\n"), 0o644)
	os.WriteFile(ign, []byte("version: 1\nignore:\n  - rule: no-china\n    reason: vendor ticket 1\n    expires: 2026-06-30\n  - rule: no-china\n    reason: vendor ticket 2\n    expires: 2027-06-30\n"), 0o644)
	out, errs, code := runCLI(t, "check", "--lint", "--policy", pol, "--ignore", ign, "--date", "2026-12-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.HasPrefix(out, "OK with 1 warning(s): policy ") || !strings.Contains(out, "2 suppression(s), 1 expired") {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errs, "ignore.yaml:3:") || !strings.Contains(errs, "expired on 2026-06-30") || strings.Contains(errs, "ticket 2") {
		t.Errorf("stderr %q does not name the one expired suppression", errs)
	}
	out, _, code = runCLI(t, "check", "--lint", "--policy", pol, "--ignore", ign, "--date", "2026-01-01")
	if code != 0 || !strings.HasPrefix(out, "OK: policy ") {
		t.Errorf("clean lint: exit %d, %q", code, out)
	}
}

// Two runs of one device under different ids still compare, and the diff
// says that it paired them by guess.
func TestDiffSaysWhenItPairsByGuess(t *testing.T) {
	dir := t.TempDir()
	oldB := filepath.Join(dir, "old.json")
	if _, errs, code := runCLI(t, "baseline", "-o", oldB, "--devices", "fixtures/demo-devices.yaml", "fixtures/demo.pcap"); code != 0 {
		t.Fatalf("baseline: %s", errs)
	}
	b, _ := os.ReadFile(oldB)
	// Edit the text, keeping the file's layout (its first bytes say it is
	// a baseline): the phone had another id in the old run.
	if !bytes.Contains(b, []byte(`"id": "phone"`)) {
		t.Fatalf("the demo baseline has no device with id phone:\n%s", b)
	}
	b = bytes.Replace(b, []byte(`"id": "phone"`), []byte(`"id": "02:00:00:00:00:99"`), 1)
	os.WriteFile(oldB, b, 0o644)
	out, errs, code := runCLI(t, "diff", "--devices", "fixtures/demo-devices.yaml", oldB, "fixtures/demo.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "note: compared old device 02:00:00:00:00:99 with new device phone although their ids differ: their names agree"
	if !strings.Contains(out, want) {
		t.Errorf("diff output does not say it guessed:\n%s", out)
	}
	if !strings.Contains(out, "no changes") {
		t.Errorf("the guessed pair was not compared as one device:\n%s", out)
	}
}

func TestGeoipLookupAnswersTheGoodAddresses(t *testing.T) {
	out, errs, code := runCLI(t, "geoip", "lookup", "1.1.1.1", "not-an-ip", "47.241.18.20")
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(out, "1.1.1.1") || !strings.Contains(out, "47.241.18.20") {
		t.Errorf("the good addresses were not looked up:\n%s", out)
	}
	if !strings.Contains(errs, `"not-an-ip" is not an IP address`) || strings.Contains(out, "not-an-ip") {
		t.Errorf("the bad one is not named on stderr only: stderr %q", errs)
	}
	for _, args := range [][]string{{"geoip", "lookup", "-f", "json", "8.8.8.8"}, {"geoip", "lookup", "--json", "8.8.8.8"}} {
		out, _, code := runCLI(t, args...)
		if code != 0 || !json.Valid([]byte(out)) {
			t.Errorf("%v: exit %d, not JSON", args, code)
		}
	}
}

// TestDiffMarkdownNeutralisesBidi runs `phonehome diff -f markdown` on
// baselines whose device name, destination and file name carry a bidi
// override (U+202E) and ESC sequences: none may reach the Markdown raw. The
// file names went into code spans unescaped before.
func TestDiffMarkdownNeutralisesBidi(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if _, errs, code := runCLI(t, "baseline", "fixtures/demo.pcap", "-o", old); code != exitOK {
		t.Fatalf("baseline: exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	const hostile = "cam\u202eevil\x1b[31mred\x1b]8;;x\x07"
	js, _ := json.Marshal(hostile)
	q := strings.Trim(string(js), `"`)
	hostileB := strings.NewReplacer(`"name": "Espressif 9f:10:2e"`, `"name": "`+q+`"`,
		`"name": "m1.tuyaeu.com"`, `"name": "m1.`+q+`.com"`).Replace(string(data))
	if hostileB == string(data) {
		t.Fatal("the demo baseline changed: no device or destination to rename")
	}
	newer := filepath.Join(dir, "fw\u202egnp\x1b[2J.json")
	if err := os.WriteFile(newer, []byte(hostileB), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "diff", "-f", "markdown", old, newer)
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, errs)
	}
	if strings.ContainsRune(out, '\u202e') || strings.ContainsRune(out, '\x1b') || strings.ContainsRune(out, '\x07') {
		t.Errorf("a bidi override or control character reached the Markdown:\n%q", out)
	}
	for _, want := range []string{`fw\u202egnp\x1b[2J.json` + "`", `### cam\\u202eevil\\x1b\[31mred`, `m1.cam\\u202eevil`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}
