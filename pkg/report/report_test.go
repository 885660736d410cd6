package report

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/audit"
)

// goldenCases are the outputs checked byte for byte against testdata.
var goldenCases = []struct {
	name string
	opt  Options
}{
	{"table", Options{}},
	{"table-w100-color", Options{Color: true, Width: 100}},
	{"table-all-country", Options{Tables: []string{"devices", "destinations", "leaks", "findings", "summary", "flows"}, GroupBy: "country", Width: 140}},
	{"table-endpoint", Options{Tables: []string{"destinations"}, GroupBy: "endpoint"}},
	{"markdown", Options{Format: "markdown", Tables: []string{"devices", "destinations", "leaks", "findings", "summary"}}},
	{"json", Options{Format: "json"}},
	{"ndjson", Options{Format: "ndjson"}},
	{"destinations.csv", Options{Format: "csv"}},
	{"leaks.csv", Options{Format: "csv", CSVTable: "leaks"}},
	{"findings.csv", Options{Format: "csv", CSVTable: "findings"}},
	{"devices.csv", Options{Format: "csv", CSVTable: "devices"}},
	{"flows.csv", Options{Format: "csv", CSVTable: "flows"}},
	{"html", Options{Format: "html", GroupBy: "domain"}},
}

func render(t testing.TB, r *audit.Report, opt Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r, opt); err != nil {
		t.Fatalf("Write(%+v): %v", opt, err)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	golden.Check(t, path, got)
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, render(t, fixture(), tc.opt))
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			r := hostileFixture()
			a := render(t, r, tc.opt)
			b := render(t, r, tc.opt)
			if !bytes.Equal(a, b) {
				t.Fatalf("two writes differ:\n%s", golden.Diff(a, b))
			}
			if c := render(t, hostileFixture(), tc.opt); !bytes.Equal(a, c) {
				t.Fatalf("writes of equal reports differ:\n%s", golden.Diff(a, c))
			}
		})
	}
}

func TestWriteDoesNotModify(t *testing.T) {
	r := fixture()
	want := render(t, r, Options{Format: "json"})
	for _, f := range Formats() {
		render(t, r, Options{Format: f})
	}
	Apply(r, Filter{Devices: []string{"Pixel-7"}, MinSeverity: audit.High, Categories: []string{"advertising"}})
	if got := render(t, r, Options{Format: "json"}); !bytes.Equal(got, want) {
		t.Fatalf("report changed by writing or filtering:\n%s", golden.Diff(got, want))
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		opt      Options
		sentinel error
		mention  string
	}{
		{Options{Format: "xml"}, ErrFormat, "table, json, ndjson, csv, markdown, html"},
		{Options{Format: "csv", CSVTable: "summary"}, ErrTable, "destinations, leaks, findings, devices, flows"},
		{Options{Tables: []string{"leaks", "nope"}}, ErrTable, `"nope"`},
		{Options{GroupBy: "asn"}, ErrGroupBy, "name, domain, vendor, country"},
		{Options{Width: -1}, nil, "negative width"},
	}
	for _, tc := range tests {
		err := Write(&bytes.Buffer{}, fixture(), tc.opt)
		if err == nil {
			t.Errorf("%+v: no error", tc.opt)
			continue
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("%+v: error %v is not %v", tc.opt, err, tc.sentinel)
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%+v: error %q does not mention %q", tc.opt, err, tc.mention)
		}
	}
	if err := Write(&bytes.Buffer{}, nil, Options{}); !errors.Is(err, ErrNil) {
		t.Errorf("nil report: %v", err)
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

var errDisk = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDisk
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	for _, f := range Formats() {
		err := Write(&errWriter{n: 100}, fixture(), Options{Format: f})
		if !errors.Is(err, errDisk) {
			t.Errorf("%s: error %v, want %v", f, err, errDisk)
		}
	}
}

func TestEmptyReport(t *testing.T) {
	for _, f := range Formats() {
		out := render(t, &audit.Report{}, Options{Format: f})
		if len(out) == 0 {
			t.Errorf("%s: empty output for an empty report", f)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {10 << 20, "10.0 MiB"},
		{5 << 30, "5.0 GiB"}, {1 << 62, "4.0 EiB"}, {^uint64(0), "16.0 EiB"},
	}
	for _, tc := range tests {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
