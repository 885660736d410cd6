// Package corpus finds the shared corpus of real captures and their tshark
// truth files (../shared/corpus beside the repository, or $PHONEHOME_CORPUS)
// for tests. Tests call Dev(t), which skips the test with a clear message
// when the corpus is absent, as it is for users who clone the repository.
package corpus

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Entry is one row of MANIFEST.tsv.
type Entry struct {
	File     string   // path relative to the corpus dir, e.g. pcaps/zeek/dns53.pcap
	Path     string   // absolute path of the capture
	Truth    string   // absolute path of the truth JSON
	LinkType string   // e.g. "pcap/ether"
	Packets  int      // packet count per tshark
	Tags     []string // what_it_covers, split on ; and |
	Set      string   // "dev", ...
}

// HasTag reports whether the entry carries tag.
func (e Entry) HasTag(tag string) bool {
	for _, t := range e.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Name is the file path below pcaps/, used as a stable test name.
func (e Entry) Name() string { return strings.TrimPrefix(e.File, "pcaps/") }

// Dir returns the corpus directory, or "" if it cannot be found.
func Dir() string {
	if d := os.Getenv("PHONEHOME_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "MANIFEST.tsv")); err == nil {
				return c
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// All returns every manifest entry, skipping t when the corpus is absent.
func All(t testing.TB) []Entry {
	t.Helper()
	dir := Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols map[string]int
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range fields {
				cols[c] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(fields) {
				return fields[i]
			}
			return ""
		}
		e := Entry{File: get("file"), LinkType: get("link_type"), Set: get("set")}
		e.Path = filepath.Join(dir, e.File)
		e.Truth = filepath.Join(dir, "truth", strings.TrimPrefix(e.File, "pcaps/")+".json")
		for _, part := range strings.FieldsFunc(get("what_it_covers"), func(r rune) bool { return r == ';' || r == '|' }) {
			e.Tags = append(e.Tags, part)
		}
		if n := get("packet_count"); n != "" {
			json.Unmarshal([]byte(n), &e.Packets)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return out
}

// Dev returns the entries of the "dev" set.
func Dev(t testing.TB) []Entry {
	t.Helper()
	var out []Entry
	for _, e := range All(t) {
		if e.Set == "dev" {
			out = append(out, e)
		}
	}
	return out
}

// LoadTruth decodes e's truth JSON into v (a struct with the fields the test
// needs; unknown fields are ignored).
func LoadTruth(t testing.TB, e Entry, v any) {
	t.Helper()
	b, err := os.ReadFile(e.Truth)
	if err != nil {
		t.Fatalf("corpus: truth for %s: %v", e.File, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("corpus: truth for %s: %v", e.File, err)
	}
}

// CustomBlocks returns how many pcapng Custom Blocks tshark listed as
// frames in e (its truth's pcapng_custom_block_records). tshark numbers
// frames including them and phonehome does not, so frame numbers after
// one cannot be compared.
func CustomBlocks(t testing.TB, e Entry) int {
	t.Helper()
	var v struct {
		N int `json:"pcapng_custom_block_records"`
	}
	LoadTruth(t, e, &v)
	return v.N
}
