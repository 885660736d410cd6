package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
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
	for _, s := range append(indentCases, fusedCases...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			return
		}
		checkIndent(t, c.Bytes())
		checkIndent(t, b)
		checkFused(t, c.Bytes())
		checkFused(t, b)
		for i := range min(len(b), 4) {
			if got, want := quoteEnd(b, i), quoteEndReference(b, i); got != want {
				t.Fatalf("quoteEnd(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	})
}

// quoteEndReference is quoteEnd byte by byte.
func quoteEndReference(src []byte, i int) int {
	for ; i < len(src); i++ {
		switch src[i] {
		case '"':
			return i
		case '\\':
			i++
		}
	}
	return len(src) - 1
}

var fusedCases = []string{
	`{"name":"490154203237518.x.com","v":["2218",{"name":"a 2218"}],"device":"2218"}`,
	`{"a":"\u0026490154203237518\"","b":[2218,"x 2218 y"],"c":{"d":"id%3D2218"}}`,
	`["a@b.org",["2218"],{"2218":"2218"}]`,
	"{\"ws\": \"2218\", \"name\" :\n\"2218\"}",
	`"2218"`, `{"name":"2218`, `{"name`,
}

// fusedMasker masks a few spellings, for the fused masking and indenting.
var fusedMasker = func() *leak.Masker {
	m := leak.NewMasker()
	m.AddLeak("serial", "2218", []string{"2218"})
	m.AddLeak("imei", "490154203237518", []string{"490154203237518", "NDkwMTU0MjAzMjM3NTE4"})
	m.AddLeak("email", "a@b.org", []string{"a@b.org"})
	return m
}()

// TestFusedMatchesTwoSteps: masking through StringValues while indenting
// (or compacting for NDJSON) writes what masking first and formatting
// then writes.
func TestFusedMatchesTwoSteps(t *testing.T) {
	for _, src := range append(indentCases, fusedCases...) {
		checkFused(t, []byte(src))
	}
}

// checkFused compares jsonItem and ndjsonLine given the masker's
// StringValues with the two steps, for valid JSON: leak.Masker.JSON, then
// the format of the masked record. Other text must not make them panic.
func checkFused(t *testing.T, src []byte) {
	t.Helper()
	cache := leak.NewMaskCache()
	for _, onlyName := range []bool{false, true} {
		skip := func(k []byte) bool { return onlyName && string(k) != "name" }
		strs := audit.StringValues(func(dst, rec []byte, i int, key []byte) ([]byte, int) {
			if key != nil && skip(key) {
				return dst, -1
			}
			return fusedMasker.AppendLiteral(cache, dst, rec, i)
		})
		masked, _ := fusedMasker.JSON(nil, src, skip)
		for _, tc := range []struct {
			name   string
			format audit.RecordFormat
			event  bool
		}{{"json", jsonItem, false}, {"ndjson event", ndjsonLine, true}, {"ndjson flow", ndjsonLine, false}} {
			got, gerr := tc.format([]byte("x"), tc.event, src, strs)
			want, werr := tc.format([]byte("x"), tc.event, masked, nil)
			if !json.Valid(src) {
				continue
			}
			if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Errorf("%s, only names %v: %q\ngot  %q, %v\nwant %q, %v", tc.name, onlyName, src, got, gerr, want, werr)
			}
		}
	}
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

// BenchmarkRecordFormat is the formatting of spooled records, masked
// through StringValues as the engine does, for JSON and NDJSON.
func BenchmarkRecordFormat(b *testing.B) {
	r := fixture()
	var recs [][]byte
	for _, v := range []any{r.Flows, r.Events} {
		js, _ := json.Marshal(v)
		var items []json.RawMessage
		json.Unmarshal(js, &items)
		for _, it := range items {
			recs = append(recs, it)
		}
	}
	cache := leak.NewMaskCache()
	strs := audit.StringValues(func(dst, rec []byte, i int, _ []byte) ([]byte, int) {
		return fusedMasker.AppendLiteral(cache, dst, rec, i)
	})
	for _, f := range []struct {
		name   string
		format audit.RecordFormat
	}{{"json", jsonItem}, {"ndjson", ndjsonLine}} {
		b.Run(f.name, func(b *testing.B) {
			var out []byte
			n := 0
			for b.Loop() {
				n = 0
				for _, rec := range recs {
					out, _ = f.format(out[:0], true, rec, strs)
					n += len(rec)
				}
			}
			b.SetBytes(int64(n))
		})
	}
}
