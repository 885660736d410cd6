package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// FuzzWrite puts arbitrary captured strings where captures put them and
// checks every format stays well-formed and inert: terminal output carries
// no control characters, CSV parses with no formula cells, JSON and NDJSON
// parse, Markdown rows keep their cell count, HTML has only its own script.
func FuzzWrite(f *testing.F) {
	for _, s := range []string{hostileScript, hostileESC, hostileCSV, hostilePipe, hostileBidi, "", "\xff\xfe", "a\r\nb", "|||", "\u0085\u009b"} {
		f.Add(s, s, s, uint8(80), false)
	}
	f.Add("ok", "<b>", "=1+1", uint8(0), true)
	f.Fuzz(func(t *testing.T, name, host, value string, width uint8, color bool) {
		r := smallFixture()
		d := &r.Devices[0]
		d.Name, d.Vendor = name, host
		d.UserAgents = append(d.UserAgents, value)
		d.Destinations[0].Name, d.Destinations[0].Vendor, d.Destinations[0].Country = host, name, value
		d.Leaks[0].Value, d.Leaks[0].Location, d.Leaks[0].Dest.Name = value, name, host
		d.Findings[0].Message, d.Findings[0].Kind = value, host
		d.Summary.ThirdParties = append(d.Summary.ThirdParties, name)
		d.Summary.ByCountry[0].Label = host
		r.Flows[0].Name, r.Warnings[0].Message = host, value
		r.Events[0].Fields = httpFields{Host: host, URI: value}

		opt := Options{Width: int(width), Color: color, Tables: textTables, GroupBy: groupKeys[int(width)%len(groupKeys)]}
		var buf bytes.Buffer
		for _, format := range Formats() {
			buf.Reset()
			opt.Format = format
			if err := Write(&buf, r, opt); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			out := buf.Bytes()
			switch format {
			case "table":
				if hasControl(string(out), color) {
					t.Fatalf("control characters in table output")
				}
			case "json":
				if !json.Valid(out) {
					t.Fatalf("invalid JSON")
				}
			case "ndjson":
				sc := bufio.NewScanner(bytes.NewReader(out))
				sc.Buffer(nil, 1<<24)
				for sc.Scan() {
					if !json.Valid(sc.Bytes()) {
						t.Fatalf("invalid NDJSON line %q", sc.Text())
					}
				}
			case "csv":
				recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
				if err != nil {
					t.Fatalf("csv: %v", err)
				}
				for _, rec := range recs {
					for _, c := range rec {
						if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
							t.Fatalf("formula cell %q", c)
						}
					}
				}
			case "markdown":
				want := 0
				for _, line := range strings.Split(string(out), "\n") {
					if !strings.HasPrefix(line, "|") {
						want = 0
						continue
					}
					n := strings.Count(line, "|") - strings.Count(line, `\|`)
					if want == 0 {
						want = n
					} else if n != want {
						t.Fatalf("markdown row with %d separators, header %d: %q", n, want, line)
					}
				}
				if strings.Contains(string(out), "<script") {
					t.Fatalf("raw <script in markdown")
				}
			case "html":
				s := string(out)
				if strings.Count(s, "<script") != 1 || strings.ContainsAny(s, "\x1b\u202e") {
					t.Fatalf("HTML carries a foreign script or control characters")
				}
			}
		}
		// Filtering by the fuzzed name must not panic and keeps the device
		// when the name is non-blank and not padded (filter values are trimmed).
		got := Apply(r, Filter{Devices: []string{name}, MinSeverity: audit.Severity(width % 7), Categories: []string{value}})
		if name != "" && name == strings.TrimSpace(name) && len(got.Devices) == 0 {
			t.Fatalf("device named %q not kept", name)
		}
	})
}

// smallFixture is one device with a few rows of each kind, so that each
// fuzz execution stays cheap.
func smallFixture() *audit.Report {
	r := fixture()
	d := r.Devices[1]
	d.Destinations, d.Leaks, d.Findings = d.Destinations[:2], d.Leaks[:2], d.Findings[:1]
	r.Devices = []audit.Device{d}
	r.Flows, r.Events, r.Warnings = r.Flows[:2], r.Events[:2], r.Warnings[:1]
	return r
}

// FuzzTruncate: truncate never makes a cell wider than asked, and
// textWidth measures as twwidth does.
func FuzzTruncate(f *testing.F) {
	for _, s := range []string{hostileScript, hostileESC, hostileCSV, hostilePipe, hostileBidi, "\xff", "日本語テキスト", "a_b_", "a\tb", "~\x7f "} {
		f.Add(s, uint8(8))
	}
	f.Fuzz(func(t *testing.T, s string, width uint8) {
		st := escape.Terminal(s)
		for _, x := range []string{s, st} {
			if got, want := textWidth(x), twwidth.Width(x); got != want {
				t.Fatalf("textWidth(%q) = %d, twwidth says %d", x, got, want)
			}
		}
		if w := int(width%40) + 1; twwidth.Width(truncate(st, w)) > max(w, 2) {
			t.Fatalf("truncate(%q, %d) = %q is too wide", st, w, truncate(st, w))
		}
	})
}

// TestTextWidthMatchesTwwidth: the ASCII fast path gives twwidth's width
// for every single byte and for mixed strings.
func TestTextWidthMatchesTwwidth(t *testing.T) {
	cases := []string{"", "plain ascii", "tab\there", "esc\x1b[31mred\x1b[0m", "数据", "e\u0301", "😀", "\x7f", "~"}
	for c := range 256 {
		cases = append(cases, string([]byte{byte(c)}), "ab"+string([]byte{byte(c)}))
	}
	for _, s := range cases {
		if got, want := textWidth(s), twwidth.Width(s); got != want {
			t.Errorf("textWidth(%q) = %d, twwidth.Width = %d", s, got, want)
		}
	}
}
