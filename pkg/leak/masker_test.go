package leak

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMaskerString(t *testing.T) {
	m := NewMasker()
	m.AddLeak("password", "pass", []string{"pass"})
	m.AddLeak("imei", "490154203237518", []string{"490154203237518"})
	m.AddLeak("imei", "867891045582412", []string{"ODY3ODkxMDQ1NTgyNDEy", "867891045582412"})
	m.AddLeak("phone", "+4916289027936", []string{"+49 162 89027936"})
	m.AddLeak("email", "a@example.org", []string{"a@example.org"})
	for _, tc := range []struct{ in, want string }{
		{"myvoiceismypassport", "myvoiceismypassport"},
		{"user=pass", "user=********"},
		{"pass", "********"},
		{"490154203237518.host.tracker-example.com", "4901*******7518.host.tracker-example.com"},
		{"x490154203237518", "x490154203237518"},
		{"4901542032375189", "4901542032375189"},
		{"d=ODY3ODkxMDQ1NTgyNDEy&r=1", "d=ODY3************NDEy&r=1"},
		{"id%3D867891045582412", "id%3D8678*******2412"},
		{"tel:+49 162 89027936;x", "tel:+49 16* ****7936;x"},
		{"to a@example.org now", "to *@example.org now"},
		{"ba@example.org", "ba@example.org"},
		{"", ""},
	} {
		if got, _ := m.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskerJSON(t *testing.T) {
	m := NewMasker()
	m.AddLeak("serial", "2218", []string{"2218"})
	m.AddLeak("imei", "490154203237518", []string{"490154203237518"})
	for _, tc := range []struct{ in, want string }{
		{`{"content_length":2218,"v":"2218"}`, `{"content_length":2218,"v":"2***"}`},
		{`{"2218":"a 2218 b"}`, `{"2218":"a 2*** b"}`},
		{`{"name":"490154203237518.x.com","device":"490154203237518"}`, `{"name":"4901*******7518.x.com","device":"490154203237518"}`},
		{`["\u0026490154203237518\"", 2218]`, `["\u00264901*******7518\"",2218]`},
	} {
		got, _ := m.JSON(nil, []byte(tc.in), func(k []byte) bool { return string(k) == "device" })
		var a, b any
		if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(tc.want), &b) != nil {
			t.Fatalf("JSON(%s) = %s: not JSON", tc.in, got)
		}
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		if string(ga) != string(gb) {
			t.Errorf("JSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzMaskerJSON: masking valid JSON gives valid JSON with the same
// structure, and text without registered spellings is unchanged.
func FuzzMaskerJSON(f *testing.F) {
	for _, s := range []string{`["a long clean literal here", "a long clean literal here", "490154203237518 in a long one"]`, `"a\u0026b\"\\\/\n\u00e9"`, `"\ud83d\ude00"`, `"\u00"`, `{"a":"2218","b":[1,"x 2218"]}`, `"490154203237518"`, `{"k\"2218":"\u00222218"}`, `[]`, `{"a":{"b":"c"}}`} {
		f.Add([]byte(s))
	}
	m := NewMasker()
	m.AddLeak("serial", "2218", []string{"2218"})
	m.AddLeak("imei", "490154203237518", []string{"490154203237518", "NDkwMTU0MjAzMjM3NTE4"})
	m.AddLeak("email", "a@b.org", []string{"a@b.org"})
	cache := NewMaskCache()
	f.Fuzz(func(t *testing.T, js []byte) {
		for i := range min(len(js), 4) {
			if a, b := literalEnd(js, i), stringEnd(js, i); a != b {
				t.Fatalf("literalEnd(%q, %d) = %d, stringEnd %d", js, i, a, b)
			}
			if js[i] == '"' {
				var sc literalScan
				if m.scanLiteral(js, i, &sc); sc.end != literalEnd(js, i+1) {
					t.Fatalf("scanLiteral(%q, %d) = %d, literalEnd %d", js, i, sc.end, literalEnd(js, i+1))
				}
			}
		}
		// AppendLiteral masks each literal as the reference masks it
		// alone (a value), from the cache too.
		for i := range js {
			if js[i] != '"' {
				continue
			}
			e := literalEnd(js, i+1)
			for range 2 {
				got, end := m.AppendLiteral(cache, []byte("dst"), js, i)
				if e < 0 {
					if end != -1 || string(got) != "dst" {
						t.Fatalf("AppendLiteral(%q, %d) of an open literal = %q, %d", js, i, got, end)
					}
					continue
				}
				want, _ := jsonReference(m, js[i:e+1], nil)
				if end != e+1 || string(got) != "dst"+string(want) {
					t.Fatalf("AppendLiteral(%q, %d) = %q, %d; reference %q, %d", js, i, got, end, want, e+1)
				}
			}
		}
		for _, skip := range []func([]byte) bool{nil, func(k []byte) bool { return string(k) != "name" }} {
			got, gch := m.JSON(nil, js, skip)
			want, wch := jsonReference(m, js, skip)
			if string(got) != string(want) || gch != wch {
				t.Fatalf("JSON(%q) = %q, %v; reference %q, %v", js, got, gch, want, wch)
			}
		}
		if text, ok := appendUnquoted(nil, js); ok {
			var v string
			if err := json.Unmarshal(js, &v); err != nil || v != string(text) {
				t.Fatalf("appendUnquoted(%q) = %q, json.Unmarshal %q, %v", js, text, v, err)
			}
		}
		if !json.Valid(js) {
			return
		}
		out, changed := m.JSON(nil, js, nil)
		for range 2 { // the second time from the cache
			c, cchanged := m.JSONCached(cache, []byte("dst"), js, nil)
			if cchanged != changed || (changed && string(c) != "dst"+string(out)) || (!changed && string(c) != "dst") {
				t.Fatalf("JSONCached(%q) = %q, %v; JSON %q, %v", js, c, cchanged, out, changed)
			}
		}
		if !json.Valid(out) {
			t.Fatalf("%q masked to invalid JSON %q", js, out)
		}
		if !changed && string(out) != string(js) {
			t.Fatalf("unchanged flag but output differs")
		}
		if changed {
			var a, b any
			json.Unmarshal(js, &a)
			json.Unmarshal(out, &b)
			if shape(a) != shape(b) {
				t.Fatalf("structure changed: %q -> %q", js, out)
			}
		}
	})
}

// shape renders a JSON value with every string replaced by "".
func shape(v any) string {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return ""
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

// TestMaskerProbeAllocs: probing text that holds no spelling allocates
// nothing (the JSON pass probes every string of every spooled event).
func TestMaskerProbeAllocs(t *testing.T) {
	m := NewMasker()
	m.AddLeak("imei", "490154203237518", []string{"490154203237518"})
	b := []byte("h000123.cdn.example.com 867891045582412 +49 162")
	if n := testing.AllocsPerRun(100, func() { m.matches(b) }); n > 0 {
		t.Errorf("%v allocations per probe", n)
	}
	if n := testing.AllocsPerRun(100, func() { m.String(string(b[:20])) }); n > 0 {
		t.Errorf("%v allocations per String without a match", n)
	}
}

func TestMaskerJSONAllocs(t *testing.T) {
	m := NewMasker()
	m.AddLeak("imei", "490154203237518", []string{"490154203237518"})
	js := []byte(`{"type":"dns","frame":12,"ts":"2026-03-14T09:26:53Z","questions":[{"name":"h000123.cdn.example.com","type":"A"}]}`)
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { m.JSON(dst[:0], js, nil) }); n > 0 {
		t.Errorf("%v allocations per event without a spelling", n)
	}
}

// TestMaskerRunFilter: spellings whose first run is long, short or begins
// with any byte are found through the (length, first byte) filter.
func TestMaskerRunFilter(t *testing.T) {
	long := strings.Repeat("7", 70) + "x"
	m := NewMasker()
	m.Add("pass", "****")
	m.Add(long, "L")
	m.Add("Zq-1", "Z")
	for _, tc := range []struct{ in, want string }{
		{"a pass b", "a **** b"},
		{"a " + long + " b", "a L b"},
		{"a " + long[1:] + " b", "a " + long[1:] + " b"},
		{"x Zq-1 y", "x Z y"},
		{"x Zq-2 y", "x Zq-2 y"},
		{"passe", "passe"},
	} {
		if got, _ := m.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAppendUnquoted: the literals encoding/json writes decode as
// json.Unmarshal decodes them; the others are left to it.
func TestAppendUnquoted(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`"a\u0026b\u003cc\u003e"`, "a&b<c>", true},
		{`"q\"b\\s\/n\nr\rt\tb\bf\f"`, "q\"b\\s/n\nr\rt\tb\bf\f", true},
		{`"\u00e9\u2028"`, "é\u2028", true},
		{`"é"`, "é", true},
		{`"\ud83d\ude00"`, "", false}, // surrogates: json.Unmarshal decides
		{`"\u00"`, "", false},
		{`"\x41"`, "", false},
		{"\"a\x01\"", "", false},
		{"\"\xff\"", "", false},
		{`"a\"`, "", false},
		{`x`, "", false},
	} {
		got, ok := appendUnquoted(nil, []byte(tc.lit))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("appendUnquoted(%s) = %q, %v, want %q, %v", tc.lit, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMaskCache: JSONCached masks as JSON does, whether a literal is new,
// known clean or met again after the cache started afresh.
func TestMaskCache(t *testing.T) {
	m := NewMasker()
	m.AddLeak("imei", "490154203237518", []string{"490154203237518"})
	c := NewMaskCache()
	docs := []string{
		`{"ua":"Mozilla/5.0 (Linux; Android 10)","v":"imei 490154203237518 sent"}`,
		`{"ua":"Mozilla/5.0 (Linux; Android 10)","v":"imei 490154203237518 sent"}`,
		`["Mozilla/5.0 (Linux; Android 10)","a\u0026b long enough to be cached"]`,
		`["a\u0026b long enough to be cached","x 490154203237518"]`,
	}
	for round := range 3 {
		for _, d := range docs {
			want, wch := m.JSON(nil, []byte(d), nil)
			got, gch := m.JSONCached(c, nil, []byte(d), nil)
			if !gch {
				got = []byte(d) // the caller keeps its text
			}
			if string(got) != string(want) || gch != wch {
				t.Errorf("round %d: JSONCached(%s) = %s, %v; JSON %s, %v", round, d, got, gch, want, wch)
			}
		}
		c.size = maskCacheSize // the next add starts afresh
	}
	if len(c.clean) == 0 {
		t.Error("nothing cached")
	}
}

// jsonReference is Masker.JSON as it was before scanLiteral: every string
// value's text probed whole by matches.
func jsonReference(m *Masker, js []byte, skip func(key []byte) bool) ([]byte, bool) {
	var dst []byte
	changed := false
	var key []byte
	last := 0
	for i := 0; i < len(js); {
		q := bytes.IndexByte(js[i:], '"')
		if q < 0 {
			break
		}
		i += q
		end := literalEnd(js, i+1)
		if end < 0 {
			break
		}
		end++
		lit := js[i:end]
		k := end
		for k < len(js) && (js[k] == ' ' || js[k] == '\n' || js[k] == '\t' || js[k] == '\r') {
			k++
		}
		if k < len(js) && js[k] == ':' {
			key = lit[1 : len(lit)-1]
			i = end
			continue
		}
		if skip != nil && key != nil && skip(key) {
			i = end
			continue
		}
		text := lit[1 : len(lit)-1]
		if bytes.IndexByte(lit, '\\') >= 0 {
			v, ok := unquote(lit)
			if !ok {
				i = end
				continue
			}
			text = []byte(v)
		}
		if masked, ok := m.String(string(text)); ok {
			enc, err := json.Marshal(masked)
			if err == nil {
				dst = append(dst, js[last:i]...)
				dst = append(dst, enc...)
				last = end
				changed = true
			}
		}
		i = end
	}
	return append(dst, js[last:]...), changed
}
