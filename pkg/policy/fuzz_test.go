package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func seedYAML(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("version: 1\nrules:\n  - {id: a, max_bytes_per_country: {CN: 0, '*': 9999999999999GiB}, direction: both}\n"))
	f.Add([]byte("version: 1\nrules: &r [{id: a, deny_countries: *r}]\n"))
	f.Add([]byte("version: 1\nignore:\n  - {fingerprint: 0123abcd, reason: r, expires: 2026-01-01T00:00:00+02:00}\n"))
	f.Add([]byte("version: 1\nrules:\n  - id: a\n    allow_destinations: ['*.a', '::/0', 1.2.3.4]\n    devices: x\n"))
}

// FuzzParse: any bytes load as a policy or fail with positioned errors;
// a loaded policy lints and evaluates without panicking.
func FuzzParse(f *testing.F) {
	seedYAML(f)
	rep := firmwareReport(true)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			errs := Errors(err)
			if len(errs) == 0 || len(errs) > maxErrors+1 { // the last may say how many more
				t.Fatalf("%d positioned errors for %v", len(errs), err)
			}
			for _, e := range errs {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 {
					t.Fatalf("error without position: %v", e)
				}
			}
			return
		}
		for _, r := range p.Rules {
			if !idRE.MatchString(r.ID) || r.Kind == "" || r.Severity == 0 {
				t.Fatalf("loaded an invalid rule %+v", r)
			}
		}
		Lint(p)
		res := Evaluate(rep, p, Options{FailOn: 3})
		for _, v := range res.Violations {
			if len(v.Fingerprint) != 64 {
				t.Fatalf("fingerprint %q", v.Fingerprint)
			}
		}
	})
}

// FuzzParseIgnore: any bytes load as an ignore file or fail with
// positioned errors; loaded entries apply without panicking.
func FuzzParseIgnore(f *testing.F) {
	seedYAML(f)
	rep := firmwareReport(true)
	p, err := Load("testdata/all-kinds.yaml")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		ig, err := ParseIgnore("i.yaml", data)
		if err != nil {
			for _, e := range Errors(err) {
				if e.Pos.File != "i.yaml" || e.Pos.Line < 1 {
					t.Fatalf("error without position: %v", e)
				}
			}
			return
		}
		for _, e := range ig.Entries {
			if e.Reason == "" || e.Expires.IsZero() {
				t.Fatalf("loaded an entry without reason or expiry: %+v", e)
			}
		}
		Evaluate(rep, p, Options{Ignore: ig, Now: now})
	})
}

// FuzzReadBaseline: any bytes decode as a baseline or fail with ErrInvalid;
// a decoded baseline compares with itself as unchanged.
func FuzzReadBaseline(f *testing.F) {
	var buf bytes.Buffer
	NewBaseline(firmwareReport(true)).Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"phonehome_baseline":1,"devices":[{"id":"a","destinations":[{"ips":null,"port":70000}]}]}`))
	f.Add([]byte(`{"phonehome_baseline":1,"devices":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBaseline(bytes.NewReader(data), "b.json")
		if err != nil {
			if !strings.Contains(err.Error(), "b.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, c := range Compare(b, b) {
			// Duplicate devices or items may pair differently, but a
			// baseline never gains anything against itself.
			if c.Op == Added && len(b.Devices) < 2 {
				t.Fatalf("self-compare added %+v", c)
			}
		}
	})
}
