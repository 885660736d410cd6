package signature

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// seedFiles adds every YAML file under testdata and a few bundled pack
// files to the fuzz corpus.
func seedFiles(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*/*.yaml")
	more, _ := filepath.Glob("testdata/broken/*/*.yaml")
	for _, p := range append(paths, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, name := range []string{"xiaomi.yaml", "zoom.yaml", "sensors-data.yaml"} {
		if b, err := EmbeddedPack().FS.(interface{ ReadFile(string) ([]byte, error) }).ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("schema: 1\nvendor: {id: a, name: A, country: US}\nservices: [{id: a, name: a, category: other, description: d, references: [https://a.example], domains: ['re:(a|b)*$', '*.x', 'a*b*.c'], http: [{path: '*'}]}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("schema: 1\nvendor: {id: a, name: A, country: US}\nservices:\n  - {id: a, name: a, category: other, description: d, references: [https://a.example], cidrs: ['::/0', 0.0.0.0/0], ports: [1-65535], asns: [4294967295]}\n"))
}

// FuzzLoad: any bytes must load or fail with positioned errors, never
// panic; a loaded set must answer queries and pass its own lint run.
func FuzzLoad(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Pack{FS: fstest.MapFS{"f.yaml": {Data: data}}, Dir: ".", Name: "fuzz"}
		s, err := LoadPacks("fuzz", p)
		if err != nil {
			for _, e := range Errors(err) {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.File != "fuzz/f.yaml" {
					t.Fatalf("bad position in %v", e)
				}
			}
			return
		}
		Lint("fuzz", p)
		for _, q := range []string{"a.example", "192.0.2.1", "::1", "AS1", "http://a.example/sa?x", "ua:x", "port:udp/53"} {
			pq, _ := ParseQuery(q)
			s.Match(pq)
		}
		s.Stats()
	})
}

// FuzzMatchDomain: lookups of arbitrary names never panic, are
// case-insensitive for ASCII, and agree with the trailing-dot form.
func FuzzMatchDomain(f *testing.F) {
	s, err := LoadPacks("fuzz", EmbeddedPack(), Pack{FS: fstest.MapFS{"g.yaml": {Data: mustRead(f, "testdata/good/example.yaml")}}, Dir: ".", Name: "good"})
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []string{"tracking.miui.com", "TRACKING.MIUI.COM.", "log7.example.com", "a..b", ".", "", "xn--bcher-kva.example", "Bücher.example",
		"mistat.intl.xiaomi.com.edgesuite.net", "a1-ats.iot.us-east-1.amazonaws.com", strings.Repeat("a.", 200), "\xff\xfe.example.com"} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m1, ok1 := s.MatchDomain(name)
		if isASCII(name) && !strings.HasSuffix(name, ".") {
			m2, ok2 := s.MatchDomain(strings.ToUpper(name) + ".")
			if ok1 != ok2 || m1 != m2 {
				t.Fatalf("%q: %v %+v vs upper-case with dot: %v %+v", name, ok1, m1, ok2, m2)
			}
		}
		s.Match(Query{Domain: name, HTTPHost: name, HTTPPath: name, UserAgent: name, CertSubject: name, JA3: name, JA4: name})
	})
}

func mustRead(f *testing.F, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
