package report

import (
	"html/template"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/escape"
)

// oldRowTemplate is the grid row as the template wrote it before rows
// were made in Go (appendHTMLRow); it stays here as the reference.
const oldRowTemplate = `<tr>{{range .}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Key}} data-key="{{.Key}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</td>{{end}}</tr>`

// oldCells is the conversion the template was given.
func oldCells(cols []col, row []cell) []map[string]any {
	var out []map[string]any
	for j, c := range row {
		var lines []string
		for _, l := range c.Lines {
			lines = append(lines, escape.Terminal(l))
		}
		class := ""
		if j < len(cols) {
			switch {
			case cols[j].Sev:
				class = "sev sev-" + sevClass(c.text())
			case cols[j].Num:
				class = "num"
			}
		}
		out = append(out, map[string]any{"Lines": lines, "Key": c.Key, "Title": c.Title, "Class": class})
	}
	return out
}

// appendHTMLRow writes what html/template wrote for the same row, for
// hostile text too: markup, quotes, '+', NUL, invalid UTF-8, controls,
// bidi overrides, several lines, more cells than columns.
func TestHTMLRowAsTemplate(t *testing.T) {
	tmpl := template.Must(template.New("row").Parse(oldRowTemplate))
	cols := []col{{Name: "a"}, {Name: "n", Num: true}, {Name: "s", Sev: true}}
	hostile := []string{"", "plain", `<script>alert("x")</script>`, "a&b'c\"d+e", "nul\x00byte", "bad\xff\xfeutf8", "\u202eevil", "tab\tnl\nend",
		"&amp;", "日本語", "\x7f\x1b[31m", "\ufdd0\uffff", "+1 555", "x</td></tr><tr>", "high", "HIGH", "medium"}
	var rows [][]cell
	for i, s := range hostile {
		next := hostile[(i+1)%len(hostile)]
		rows = append(rows,
			[]cell{txt(s), {Lines: []string{s, next}, Key: s, Title: next}, txt(s)},
			[]cell{{Key: s}, {Title: s}, {Lines: []string{next}}, txt(s)},
			[]cell{{Lines: []string{s, s, next}}})
	}
	rows = append(rows, nil, []cell{{}}, []cell{numCell(12345), bytesCell(1 << 20), txt("critical")})
	for i, row := range rows {
		var want strings.Builder
		if err := tmpl.Execute(&want, oldCells(cols, row)); err != nil {
			t.Fatal(err)
		}
		if got := string(appendHTMLRow(nil, cols, row)); got != want.String() {
			t.Errorf("row %d:\n got %q\nwant %q", i, got, want.String())
		}
	}
}

func FuzzHTMLRow(f *testing.F) {
	for _, s := range []string{"", "<b>", "a&b'c\"d+e\x00", "\xff\u202e"} {
		f.Add(s, s+"2", "k")
	}
	tmpl := template.Must(template.New("row").Parse(oldRowTemplate))
	cols := []col{{Name: "a"}, {Name: "n", Num: true}, {Name: "s", Sev: true}}
	f.Fuzz(func(t *testing.T, a, b, k string) {
		row := []cell{{Lines: []string{a, b}, Key: k, Title: b}, {Lines: []string{b}, Key: a}, txt(a)}
		var want strings.Builder
		if err := tmpl.Execute(&want, oldCells(cols, row)); err != nil {
			t.Fatal(err)
		}
		if got := string(appendHTMLRow(nil, cols, row)); got != want.String() {
			t.Errorf("got %q\nwant %q", got, want.String())
		}
	})
}
