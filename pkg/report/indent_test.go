package report

import (
	"bytes"
	"encoding/json"
	"testing"
)

var indentCases = []string{
	`{}`, `[]`, `{"a":[]}`, `{"a":{}}`, `1`, `"x"`, `null`,
	`{"a":1,"b":[1,2,{"c":"d,e:{f}[g]"}],"h":{"i":null,"j":true}}`,
	`{"esc":"quote \" and backslash \\\\ and \\u00e9 \"{,:}\""}`,
	`[[[]],[{}],{"k":[{"x":[]}]}]`,
	`{"type":"http","frame":12,"ts":"2026-03-14T09:26:53Z","request":{"headers":[{"name":"Host","value":"a:b"}]}}`,
	"{\"ws\": 1}", // white space: handed to json.Indent
}

// TestAppendIndentMatchesJSONIndent: byte for byte what json.Indent
// writes, for the shapes the JSON writer indents.
func TestAppendIndentMatchesJSONIndent(t *testing.T) {
	for _, src := range indentCases {
		checkIndent(t, []byte(src))
	}
	r := fixture()
	for _, v := range []any{r, r.Devices, r.Flows, r.Warnings} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkIndent(t, b)
	}
}

func checkIndent(t *testing.T, src []byte) {
	t.Helper()
	var want, got bytes.Buffer
	want.WriteString("x")
	got.WriteString("x")
	if err := json.Indent(&want, src, "    ", "  "); err != nil {
		return // appendIndent is only given valid JSON
	}
	if err := appendIndent(&got, src, "    ", "  "); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("%s:\ngot  %q\nwant %q", src, got.Bytes(), want.Bytes())
	}
}

func FuzzAppendIndent(f *testing.F) {
	for _, s := range indentCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			return
		}
		checkIndent(t, c.Bytes())
		checkIndent(t, b)
	})
}

func BenchmarkIndent(b *testing.B) {
	src, _ := json.Marshal(fixture())
	b.SetBytes(int64(len(src)))
	var buf bytes.Buffer
	b.Run("json.Indent", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			json.Indent(&buf, src, "    ", "  ")
		}
	})
	b.Run("appendIndent", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			appendIndent(&buf, src, "    ", "  ")
		}
	})
}
