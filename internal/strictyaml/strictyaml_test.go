package strictyaml

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decodeAll runs every helper over a small schema: a mapping with name (a
// string), count (a number), on (a bool), tags (a list of scalars) and
// items (a list of mappings with id).
func decodeAll(d *Decoder, data []byte) {
	root := d.Parse(data)
	if root == nil {
		return
	}
	var name, count, on, tags, items *yaml.Node
	if !d.Known(root, "file", map[string]**yaml.Node{"name": &name, "count": &count, "on": &on, "tags": &tags, "items": &items}) {
		return
	}
	if name != nil {
		d.String(name, "name")
	}
	if count != nil {
		d.Int(count, "count")
	}
	if on != nil {
		d.Bool(on, "on")
	}
	if tags != nil {
		d.List(tags, "tags", func(*yaml.Node) {})
	}
	if items != nil {
		d.Seq(items, "items (a list)", func(it *yaml.Node) {
			d.Fields(it, "an item (a mapping)", func(key string, k, v *yaml.Node) {
				if key != "id" {
					d.Errf(k, "unknown key %q in item", key)
				}
			})
		})
	}
}

func problems(d *Decoder) []string {
	var out []string
	for _, p := range d.Problems() {
		out = append(out, p.String())
	}
	return out
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // every problem, in order
	}{
		{"good", "name: a\ncount: 3\non: yes\ntags: [x, y]\nitems:\n  - id: 1\n", nil},
		{"empty", "", nil},
		{"comment only", "# nothing\n", nil},
		{"unknown key", "name: a\nnmae: b\n", []string{`2:1: unknown key "nmae" in file (want one of count, items, name, on, tags)`}},
		{"every error, not only the first", "name: [a]\ncount: three\non: maybe\ntags: [[x]]\nextra: 1\n", []string{
			"1:7: want name (a string), found a list",
			`2:8: count: want a whole number, found "three"`,
			`3:5: on: want true or false, found "maybe"`,
			"4:8: tags entry: want a plain value, found a list",
			`5:1: unknown key "extra" in file (want one of count, items, name, on, tags)`,
		}},
		{"null string", "name:\n", []string{"1:6: name is empty"}},
		{"twice", "name: a\nname: b\n", []string{`2:1: key "name" given twice (first on line 1)`}},
		{"alias", "name: &n a\ncount: *n\n", []string{"2:8: YAML aliases are not allowed"}},
		{"not a mapping", "- a\n", []string{"1:1: want file (a mapping), found a list"}},
		{"complex key", "? [a]\n: b\n", []string{"1:3: keys must be plain strings"}},
		{"nested errors", "items:\n  - id: 1\n  - idd: 2\n  - 3\n", []string{
			`3:5: unknown key "idd" in item`,
			"4:5: want an item (a mapping), found a scalar",
		}},
		{"two documents", "name: a\n---\nname: b\n", []string{"2:1: more than one YAML document in the file"}},
		{"scanner error", "name: a\n\tcount: 1\n", []string{"2:2: YAML syntax: found a tab character that violates indentation"}},
		// yaml.v3 points at the list the bad line breaks, 0-based.
		{"parser error line is 1-based", "items:\n  - id: 1\n   bad\n", []string{"2:3: YAML syntax: did not find expected '-' indicator"}},
		{"unclosed flow", "tags: [\n", []string{"2:1: YAML syntax: did not find expected node content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			decodeAll(&d, []byte(tt.in))
			got := problems(&d)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("tags:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "  - [%d]\n", i)
	}
	d := Decoder{MaxProblems: 3}
	decodeAll(&d, []byte(b.String()))
	got := problems(&d)
	want := []string{
		"2:5: tags entry: want a plain value, found a list",
		"3:5: tags entry: want a plain value, found a list",
		"4:5: tags entry: want a plain value, found a list",
		"5:5: 7 more problems not shown",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("capped problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Len() != 10 {
		t.Errorf("Len = %d, want 10", d.Len())
	}

	d = Decoder{MaxItems: 2}
	n := 0
	root := d.Parse([]byte("a: [1, 2, 3, 4]\nb: [5]\n"))
	d.Fields(root, "a mapping", func(_ string, _, v *yaml.Node) { d.List(v, "list", func(*yaml.Node) { n++ }) })
	if got := problems(&d); n != 2 || len(got) != 1 || got[0] != "1:11: more than 2 list entries in the file" {
		t.Errorf("item cap: %d entries taken, problems %q", n, got)
	}
}

func TestSingleScalarIsAList(t *testing.T) {
	var d Decoder
	root := d.Parse([]byte("a: x\nb: [y, z]\nc:\n"))
	var got []string
	d.Fields(root, "a mapping", func(key string, _, v *yaml.Node) {
		d.List(v, key, func(it *yaml.Node) { got = append(got, key+"="+it.Value) })
	})
	if strings.Join(got, " ") != "a=x b=y b=z" {
		t.Errorf("entries %q", got)
	}
	if p := problems(&d); len(p) != 1 || p[0] != "3:3: want c (a list), found nothing" {
		t.Errorf("problems %q", p)
	}
}

// FuzzDecode: any input gives problems or nodes, never a panic, and every
// problem has a position inside the file.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "name: a\ncount: 3\non: yes\ntags: [x, y]\nitems:\n  - id: 1\n",
		"name: &n a\ncount: *n\n", "? [a]\n: b\n", "a: [\n", "name: a\n---\nname: b\n",
		"items:\n  - id: 1\n   bad\n", "x: !!binary aGVsbG8=\n", "a: {b: {c: [1, [2, {d: e}]]}}\n",
		"&a [*a]\n", "%YAML 1.1\n---\nname: a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		d := Decoder{MaxItems: 1000}
		decodeAll(&d, data)
		// yaml.v3 counts lines its own way (CR, NEL, U+2028, UTF-16
		// input), so a position is only bounded by the file's size.
		for _, p := range d.Problems() {
			if p.Line < 1 || p.Col < 1 || p.Line > len(data)+1 || p.Col > len(data)+1 || p.Msg == "" {
				t.Fatalf("problem outside the file (%d bytes): %+v", len(data), p)
			}
		}
	})
}
