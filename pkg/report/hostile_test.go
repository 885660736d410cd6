package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// hasControl reports bytes that a terminal would interpret, outside the
// SGR colour sequences the writer adds itself.
func hasControl(s string, allowSGR bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' {
			continue
		}
		if c == 0x1b && allowSGR {
			j := i + 1
			if j < len(s) && s[j] == '[' {
				j++
				for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
					j++
				}
				if j < len(s) && s[j] == 'm' {
					i = j
					continue
				}
			}
			return true
		}
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return strings.ContainsAny(s, "\u202e\u2066\u0085\u009b")
}

func TestHostileTable(t *testing.T) {
	for _, opt := range []Options{{}, {Color: true, Width: 90}, {Tables: textTables, Width: 60}} {
		out := string(render(t, hostileFixture(), opt))
		if hasControl(out, opt.Color) {
			t.Errorf("%+v: control characters reach the terminal", opt)
		}
		if !strings.Contains(out, `cam\x1b[2J\x1b]0;owned\x07era`) {
			t.Errorf("%+v: escaped device name not shown", opt)
		}
	}
}

func TestTableFitsWidth(t *testing.T) {
	// Below about 80 columns the essential columns of some tables
	// (numbers, severity) may not fit; those widths only must not fail.
	for _, w := range []int{40, 60, 80, 100, 132, 200} {
		out := string(render(t, hostileFixture(), Options{Width: w, Tables: textTables}))
		for i, line := range strings.Split(out, "\n") {
			if got := twwidth.Width(line); got > w && w >= 80 {
				t.Errorf("width %d: line %d is %d wide: %q", w, i+1, got, line)
			}
		}
	}
}

func TestHostileCSV(t *testing.T) {
	for _, table := range csvTables {
		out := render(t, hostileFixture(), Options{Format: "csv", CSVTable: table})
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%s: output does not parse: %v", table, err)
		}
		for _, rec := range recs {
			if len(rec) != len(recs[0]) {
				t.Fatalf("%s: ragged row %q", table, rec)
			}
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("%s: formula cell %q", table, c)
				}
			}
		}
	}
	out := string(render(t, hostileFixture(), Options{Format: "csv", CSVTable: "leaks"}))
	if !strings.Contains(out, `'=cmd|' /C calc'!A0`) {
		t.Errorf("formula not neutralised:\n%s", out)
	}
}

func TestHostileMarkdown(t *testing.T) {
	out := string(render(t, hostileFixture(), Options{Format: "markdown", Tables: textTables}))
	if strings.Contains(out, "<script") || strings.Contains(out, "\x1b") {
		t.Error("raw script tag or ESC in markdown")
	}
	// Every table row has as many unescaped pipes as its header.
	var want int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if want == 0 {
			want = n
		} else if n != want {
			t.Errorf("row has %d cell separators, header %d: %q", n, want, line)
		}
	}
}

func TestHostileJSON(t *testing.T) {
	for _, f := range []string{"json", "ndjson"} {
		out := render(t, hostileFixture(), Options{Format: f})
		if bytes.Contains(out, []byte("<script")) || bytes.Contains(out, []byte{0x1b}) {
			t.Errorf("%s: raw <script or ESC in output", f)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
	var r map[string]any
	if err := json.Unmarshal(render(t, hostileFixture(), Options{Format: "json"}), &r); err != nil {
		t.Fatal(err)
	}
	name := r["devices"].([]any)[0].(map[string]any)["name"]
	if name != hostileESC {
		t.Errorf("json does not round-trip the device name: %q", name)
	}
}

func TestHostileHTML(t *testing.T) {
	out := string(render(t, hostileFixture(), Options{Format: "html"}))
	if strings.Contains(out, hostileScript) || strings.Count(out, "<script") != 1 {
		t.Error("captured <script> reached the HTML unescaped")
	}
	if strings.ContainsAny(out, "\x1b\u202e\x07") {
		t.Error("control or bidi characters reach the HTML")
	}
	if !strings.Contains(out, "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") {
		t.Error("escaped Host header not shown")
	}
	if !strings.Contains(out, `http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`) {
		t.Error("no strict CSP")
	}
	// No external resources, handlers, inline styles or script URLs.
	for _, bad := range []string{`src=`, `href="http`, `="javascript`, `onerror=`, `onclick=`, `style="`, `<iframe`, `<img`} {
		if i := strings.Index(out, bad); i >= 0 {
			t.Errorf("HTML contains %q near %q", bad, out[max(0, i-60):min(len(out), i+40)])
		}
	}
}
