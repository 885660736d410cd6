package signature

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func loadGood(t testing.TB) *Set {
	t.Helper()
	p, err := DirPack("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadPacks("test", p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrokenPacks: each broken pack fails lint at the expected place.
func TestBrokenPacks(t *testing.T) {
	tests := []struct {
		dir  string
		want []string // "line:col: substring" of each error, in order
	}{
		{"indent", []string{"5:2: YAML syntax: did not find expected key"}},
		{"unknown-key", []string{"4:5: has no matchers", `9:5: unknown key "domain" in service`}},
		{"bad-regex", []string{"11:9: domain regex"}},
		{"bad-cidr", []string{"11:9: CIDR \"198.51.100.7/24\": host bits set"}},
		{"duplicate", []string{"11:9: duplicate pattern domain:t.acme.example (first at testdata/broken/duplicate/pack.yaml:10:9)"}},
		{"tie", []string{`16:15: tie: domain:*.acme.example is also in "acme-telemetry"`, `17:24: example "ads.acme.example" should match "acme-ads" but "acme-telemetry" wins`}},
		{"bad-example", []string{`10:24: example "u.acme.example" should match "acme-telemetry" but matches nothing`}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := "testdata/broken/" + tt.dir
			p, err := DirPack(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, issues := Lint("test", p)
			var got []string
			for _, is := range issues {
				if is.Level == LevelError {
					got = append(got, is.String())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				line, msg, _ := strings.Cut(w, ": ")
				prefix := dir + "/pack.yaml:" + line + ": error: "
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], msg) {
					t.Errorf("error %d = %q\nwant prefix %q containing %q", i, got[i], prefix, msg)
				}
			}
		})
	}
}

// TestLoadErrors: Load fails on schema errors with *Error values that carry
// positions and wrap ErrInvalid; lint-only problems do not fail Load.
func TestLoadErrors(t *testing.T) {
	for _, dir := range []string{"indent", "unknown-key", "bad-regex", "bad-cidr"} {
		p, _ := DirPack("testdata/broken/" + dir)
		_, err := LoadPacks("test", p)
		if err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", dir, err)
			continue
		}
		for _, e := range Errors(err) {
			if e.Pos.Line == 0 || e.Pos.Col == 0 || !strings.HasSuffix(e.Pos.File, dir+"/pack.yaml") {
				t.Errorf("%s: error without a position: %v", dir, e)
			}
		}
	}
	for _, dir := range []string{"duplicate", "tie", "bad-example"} {
		p, _ := DirPack("testdata/broken/" + dir)
		if _, err := LoadPacks("test", p); err != nil {
			t.Errorf("%s: Load should succeed (lint reports it): %v", dir, err)
		}
	}
}

func TestSchemaErrors(t *testing.T) {
	base := "schema: 1\nvendor: {id: v, name: V, country: US}\nservices:\n  - id: v-s\n    name: S\n    category: other\n    description: d\n    references: [https://v.example]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "1:1: empty file"},
		{"not a mapping", "- a\n", "1:1: want pack file (a mapping), found a list"},
		{"schema", strings.Replace(base, "schema: 1", "schema: 2", 1) + "    domains: [a.v.example]\n", "1:9: unsupported schema 2"},
		{"country", strings.Replace(base, "country: US", "country: usa", 1) + "    domains: [a.v.example]\n", "2:35: country \"usa\""},
		{"category", strings.Replace(base, "category: other", "category: spying", 1) + "    domains: [a.v.example]\n", "6:15: unknown category \"spying\""},
		{"severity", base + "    severity: extreme\n    domains: [a.v.example]\n", "9:15: severity \"extreme\""},
		{"reference", strings.Replace(base, "https://v.example", "v.example", 1) + "    domains: [a.v.example]\n", "8:18: reference \"v.example\""},
		{"no references", strings.Replace(base, "    references: [https://v.example]\n", "", 1) + "    domains: [a.v.example]\n", "4:5: service \"v-s\": missing key \"references\""},
		{"id", strings.Replace(base, "id: v-s", "id: V_S", 1) + "    domains: [a.v.example]\n", "4:9: service id \"V_S\""},
		{"port", base + "    ports: [udp/0]\n", "9:13: port \"0\""},
		{"port range", base + "    ports: [tcp/9-1]\n", "9:13: port range"},
		{"asn", base + "    asns: [ASX]\n", "9:12: ASN \"ASX\""},
		{"ja3", base + "    ja3: [abc]\n", "9:11: ja3 \"abc\""},
		{"ja4", base + "    ja4: [abc]\n", "9:11: ja4 \"abc\""},
		{"bad label", base + "    domains: [a!.v.example]\n", "9:15: domain pattern \"a!.v.example\""},
		{"bare star", base + "    domains: [\"*\"]\n", "9:15: domain pattern \"*\""},
		{"glob no suffix", base + "    domains: [\"adservice.google.*\"]\n", "9:15: domain pattern \"adservice.google.*\": a wildcard needs a literal suffix"},
		{"http empty", base + "    http: [{}]\n", "9:12: http rule needs at least one"},
		{"http path", base + "    http: [{path: upload}]\n", "9:19: http path: want an absolute path"},
		{"alias", base + "    domains: &d [a.v.example]\n    cidrs: *d\n", "10:12: YAML aliases are not allowed"},
		{"twice", base + "    domains: [a.v.example]\n    domains: [b.v.example]\n", "10:5: key \"domains\" given twice"},
		{"two docs", base + "    domains: [a.v.example]\n---\nschema: 1\n", "10:1: more than one YAML document"},
		{"cidr zone", base + "    cidrs: [\"fe80::1%eth0\"]\n", "9:13: CIDR \"fe80::1%eth0\": zones are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("f.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), "f.yaml:"+tt.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, "f.yaml:"+tt.want)
			}
		})
	}
}

// TestParseFileReportsEveryError: every problem of a pack file, in file order.
func TestParseFileReportsEveryError(t *testing.T) {
	in := "schema: one\nvendor: {id: V, name: [x], country: US, site: y}\nservices:\n  - id: s\n    name: S\n    category: other\n    description: d\n    references: [https://v.example]\n    domains: [a.v.example, {x: 1}]\n    ports: [tcp/0]\n    colour: red\n"
	want := []string{
		`f.yaml:1:9: schema: want a whole number, found "one"`,
		`f.yaml:2:14: vendor id "V"`,
		`f.yaml:2:23: want vendor name (a string), found a list`,
		`f.yaml:2:41: unknown key "site" in vendor`,
		`f.yaml:9:28: domains entry: want a plain value, found a mapping`,
		`f.yaml:10:13: port "0"`,
		`f.yaml:11:5: unknown key "colour" in service`,
	}
	_, err := ParseFile("f.yaml", []byte(in))
	errs := Errors(err)
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
}

func TestMatchDomain(t *testing.T) {
	s := loadGood(t)
	tests := []struct {
		name, want, by string
	}{
		{"telemetry.example.com", "example-telemetry", "domain:telemetry.example.com"},  // exact beats *.example.com
		{"TELEMETRY.Example.COM.", "example-telemetry", "domain:telemetry.example.com"}, // case, trailing dot
		{"x.telemetry.example.com", "example-owned", "domain:*.example.com"},            // exact is not a suffix
		{"example.com", "example-owned", "domain:*.example.com"},                        // suffix includes the apex
		{"badexample.com", "", ""}, // label boundary
		{"example.com.evil.net", "", ""},
		{"a.metrics.example.com", "example-telemetry", "domain:*.metrics.example.com"}, // deeper suffix wins
		{"metrics.example.com", "example-telemetry", "domain:*.metrics.example.com"},
		{"log7.example.com", "example-telemetry", "domain:log*.example.com"}, // glob beats suffix at same depth
		{"log.example.com", "example-telemetry", "domain:log*.example.com"},
		{"a.log7.example.com", "example-owned", "domain:*.example.com"}, // '*' stays within a label
		{"blog.example.com", "example-owned", "domain:*.example.com"},
		{"t12.cdn.example.net", "example-telemetry", `domain:re:^t[0-9]+\.cdn\.example\.net$`},
		{"tx.cdn.example.net", "", ""},
		{"xn--bcher-kva.example", "example-owned", "domain:*.xn--bcher-kva.example"}, // punycode
		{"www.Bücher.example", "example-owned", "domain:*.xn--bcher-kva.example"},    // IDN
		{"", "", ""},
		{".", "", ""},
		{"..example.com", "example-owned", "domain:*.example.com"},
		{"com", "", ""},
		{strings.Repeat("a.", 130) + "example.com", "", ""}, // longer than 253
	}
	for _, tt := range tests {
		m, ok := s.MatchDomain(tt.name)
		if ok != (tt.want != "") || m.SignatureID != tt.want || m.MatchedBy != tt.by {
			t.Errorf("MatchDomain(%q) = %q by %q (%v), want %q by %q", tt.name, m.SignatureID, m.MatchedBy, ok, tt.want, tt.by)
		}
	}
	m, _ := s.MatchDomain("telemetry.example.com")
	want := Match{SignatureID: "example-telemetry", Vendor: "Example Corp", VendorCountry: "US", Service: "Example telemetry",
		Category: "telemetry", Description: "Telemetry of the example device.", Severity: "high", MatchedBy: "domain:telemetry.example.com"}
	if m != want {
		t.Errorf("match = %+v\nwant %+v", m, want)
	}
}

func TestMatchPrecedence(t *testing.T) {
	s := loadGood(t)
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		q    Query
		want string
		by   string
	}{
		{"cidr v4", Query{IP: ip("192.0.2.7")}, "example-owned", "cidr:192.0.2.0/24"},
		{"longest prefix", Query{IP: ip("192.0.2.200")}, "example-edge", "cidr:192.0.2.128/25"},
		{"v4-mapped v6", Query{IP: ip("::ffff:192.0.2.200")}, "example-edge", "cidr:192.0.2.128/25"},
		{"cidr v6", Query{IP: ip("2001:db8:1::1")}, "example-owned", "cidr:2001:db8::/32"},
		{"v6 outside", Query{IP: ip("2001:db9::1")}, "", ""},
		{"asn", Query{ASN: 64501}, "example-owned", "asn:AS64501"},
		{"cidr beats asn", Query{IP: ip("192.0.2.200"), ASN: 64500}, "example-edge", "cidr:192.0.2.128/25"},
		{"domain beats cidr", Query{Domain: "telemetry.example.com", IP: ip("192.0.2.200")}, "example-telemetry", "domain:telemetry.example.com"},
		{"ja3 beats cidr", Query{JA3: "E7D705A3286E19EA42F587B344EE6865", IP: ip("192.0.2.1")}, "example-edge", "ja3:e7d705a3286e19ea42f587b344ee6865"},
		{"cert beats ja4", Query{CertSubject: "CN=a.edge.example.com,O=Example", JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1"}, "example-edge", "cert:CN=*.edge.example.com*"},
		{"http path beats domain", Query{HTTPHost: "api.example.com:8080", HTTPPath: "/v1/upload/x?y=1"}, "example-edge", "http:host=*.example.com,path=/v1/upload*"},
		{"http path mismatch", Query{HTTPHost: "api.example.com", HTTPPath: "/v2/upload"}, "example-owned", "domain:*.example.com"},
		{"user agent", Query{UserAgent: "examplesdk/3.0"}, "example-edge", "http:ua=ExampleSDK/*"},
		{"port+transport", Query{Port: 9003, Transport: "udp"}, "example-edge", "port:udp/9000-9009"},
		{"port wrong transport", Query{Port: 9003, Transport: "tcp"}, "", ""},
		{"cidr beats port", Query{Port: 9003, Transport: "udp", IP: ip("192.0.2.7")}, "example-owned", "cidr:192.0.2.0/24"},
		{"nothing", Query{Domain: "example.org", IP: ip("198.51.100.1"), ASN: 1}, "", ""},
	}
	for _, tt := range tests {
		m, ok := s.Match(tt.q)
		if ok != (tt.want != "") || m.SignatureID != tt.want || m.MatchedBy != tt.by {
			t.Errorf("%s: got %q by %q, want %q by %q", tt.name, m.SignatureID, m.MatchedBy, tt.want, tt.by)
		}
	}
}

// TestUserOverride: a user pack replaces a service with the same ID and
// wins ties on identical patterns; new services add to the set.
func TestUserOverride(t *testing.T) {
	good, _ := DirPack("testdata/good")
	user := Pack{FS: fstest.MapFS{"u.yaml": {Data: []byte(`schema: 1
vendor: {id: mine, name: Mine, country: DE}
services:
  - id: example-edge
    name: Replaced edge
    category: cdn
    description: replaced
    references: [https://mine.example]
    cidrs: [192.0.2.192/26]
  - id: mine-telemetry
    name: Mine telemetry
    category: telemetry
    description: mine
    references: [https://mine.example]
    domains: [telemetry.example.com]
`)}}, Dir: ".", Name: "user"}
	s, issues := Lint("test+user", good, user)
	if s == nil {
		t.Fatalf("lint failed: %v", issues)
	}
	if m, _ := s.MatchDomain("telemetry.example.com"); m.SignatureID != "mine-telemetry" || m.Vendor != "Mine" {
		t.Errorf("user pattern should win: %+v", m)
	}
	if m, _ := s.MatchIP(netip.MustParseAddr("192.0.2.200")); m.SignatureID != "example-edge" || m.Service != "Replaced edge" {
		t.Errorf("replaced service: %+v", m)
	}
	if m, _ := s.MatchIP(netip.MustParseAddr("192.0.2.130")); m.SignatureID != "example-owned" {
		t.Errorf("old edge range should be gone: %+v", m)
	}
	var overrides int
	for _, is := range issues {
		if is.Level == LevelInfo && strings.Contains(is.Msg, "overrides") {
			overrides++
		}
	}
	if overrides != 2 {
		t.Errorf("want 2 override notes, got %d: %v", overrides, issues)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in   string
		want Query
		err  bool
	}{
		{"a.example", Query{Domain: "a.example"}, false},
		{"192.0.2.1", Query{IP: netip.MustParseAddr("192.0.2.1")}, false},
		{"AS13335", Query{ASN: 13335}, false},
		{"https://h.example:8443/p/q?x=1", Query{HTTPHost: "h.example:8443", HTTPPath: "/p/q?x=1"}, false},
		{"port:udp/8801 + 206.247.1.1", Query{Port: 8801, Transport: "udp", IP: netip.MustParseAddr("206.247.1.1")}, false},
		{"ua:Foo/1.0", Query{UserAgent: "Foo/1.0"}, false},
		{"port:99999", Query{}, true},
		{"", Query{}, true},
		{"not a name", Query{}, false},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseQuery(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.err && tt.in != "not a name" && q != tt.want {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.in, q, tt.want)
		}
	}
}

// TestBundledPack lints the embedded pack: no errors, no warnings, every
// example passes, and the size the issue asks for.
func TestBundledPack(t *testing.T) {
	s, issues := Lint("embedded", EmbeddedPack())
	for _, is := range issues {
		if is.Level != LevelInfo {
			t.Error(is)
		}
	}
	if s == nil {
		t.FailNow()
	}
	v, sv, d := s.Stats()
	t.Logf("bundled pack: %d vendors, %d services, %d domain patterns", v, sv, d)
	if v < 60 || d < 1000 {
		t.Errorf("pack too small: %d vendors (want >= 60), %d domain patterns (want >= 1000)", v, d)
	}
	for _, sv := range s.Services() {
		if len(sv.References) == 0 {
			t.Errorf("%s: no references", sv.ID)
		}
	}
	if _, err := LoadEmbedded(); err != nil {
		t.Fatal(err)
	}
}

// TestContextCases pins the attributions the motivating cases need.
func TestContextCases(t *testing.T) {
	s, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q        string
		id, cat  string
		wantVend string
	}{
		{"tracking.intl.miui.com", "xiaomi-miui-tracking", "telemetry", "Xiaomi"},
		{"data.mistat.intl.xiaomi.com", "xiaomi-mistat", "analytics", "Xiaomi"},
		{"api.ad.xiaomi.com", "xiaomi-ads", "advertising", "Xiaomi"},
		{"sgp-api.xmpush.global.xiaomi.com", "xiaomi-push", "push", "Xiaomi"},
		{"api.account.xiaomi.com", "xiaomi-account", "account", "Xiaomi"},
		{"api.micloud.xiaomi.net", "xiaomi-cloud", "cloud", "Xiaomi"},
		{"bigota.d.miui.com", "xiaomi-update", "update", "Xiaomi"},
		{"sa.api.intl.miui.com", "sensors-analytics-xiaomi", "analytics", "Sensors Data (Sensors Analytics)"},
		{"AS45102", "alibaba-cloud-network", "cloud", "Alibaba Group"},
		{"us05web.zoom.us", "zoom-meetings", "voip-media", "Zoom Video Communications"},
		{"port:udp/8801 + 3.7.35.10", "zoom-network", "voip-media", "Zoom Video Communications"}, // Zoom range inside AWS space
		{"221.122.88.130", "zoom-network-china", "voip-media", "Zoom Video Communications"},
		{"graph.facebook.com", "meta-app-events", "analytics", "Meta Platforms"},
		{"a.gw.tuyaeu.com", "tuya-device-cloud", "cloud", "Tuya"},
		{"v10.events.data.microsoft.com", "microsoft-windows-telemetry", "telemetry", "Microsoft"},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.q)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := s.Match(q)
		if !ok || m.SignatureID != tt.id || m.Category != tt.cat || m.Vendor != tt.wantVend {
			t.Errorf("%s: got %+v", tt.q, m)
		}
	}
}

func TestMatchDomainAllocs(t *testing.T) {
	s, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	// Names below a regex's literal suffix (*.amazonaws.com in the pack)
	// pay one allocation; everything else must not allocate.
	names := []string{"tracking.miui.com", "Data.Mistat.Intl.Xiaomi.COM.", "log16-normal-c-useast1a.tiktokv.com", "unknown.example.org", "x.y.z.google.com"}
	for _, n := range names {
		if a := testing.AllocsPerRun(100, func() { s.MatchDomain(n) }); a != 0 {
			t.Errorf("MatchDomain(%q): %v allocs", n, a)
		}
	}
}

// synthetic returns a pack file with n generated patterns of mixed kinds.
func synthetic(n int) []byte {
	var b strings.Builder
	b.WriteString("schema: 1\nvendor: {id: synth, name: Synthetic, country: US}\nservices:\n")
	per := 500
	for i := 0; i*per < n; i++ {
		fmt.Fprintf(&b, "  - id: synth-%d\n    name: S%d\n    category: other\n    description: synthetic\n    references: [https://synth.example]\n    domains:\n", i, i)
		for j := i * per; j < n && j < (i+1)*per; j++ {
			switch j % 3 {
			case 0:
				fmt.Fprintf(&b, "      - \"*.svc%d.synth%d.example\"\n", j, j%97)
			case 1:
				fmt.Fprintf(&b, "      - api%d.synth%d.example\n", j, j%97)
			default:
				fmt.Fprintf(&b, "      - \"log*.n%d.synth%d.example\"\n", j, j%97)
			}
		}
	}
	return []byte(b.String())
}

func benchSet(b *testing.B) *Set {
	s, err := LoadPacks("bench", EmbeddedPack(), Pack{FS: fstest.MapFS{"synth.yaml": {Data: synthetic(10000)}}, Dir: ".", Name: "synth"})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

var benchNames = []string{
	"tracking.miui.com", "data.mistat.intl.xiaomi.com", "sgp-api.xmpush.global.xiaomi.com", "www.google.com",
	"log16-normal-c-useast1a.tiktokv.com", "graph.facebook.com", "x.api7.synth7.example", "log3.n5.synth5.example",
	"cdn.jsdelivr.net", "Api.Example.ORG.", "e123.dscb.akamaiedge.net", "a1b2-ats.iot.eu-west-1.amazonaws.com",
	"unknown-host.local", "us04web.zoom.us", "abc.svc3.synth3.example", "firebaseinstallations.googleapis.com",
}

// BenchmarkMatchDomain measures lookups against the bundled pack plus
// 10,000 synthetic patterns (run: go test -bench MatchDomain ./pkg/signature).
func BenchmarkMatchDomain(b *testing.B) {
	s := benchSet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.MatchDomain(benchNames[i%len(benchNames)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkMatch(b *testing.B) {
	s := benchSet(b)
	q := Query{Domain: "data.mistat.intl.xiaomi.com", IP: netip.MustParseAddr("47.88.1.1"), ASN: 45102, Port: 443, Transport: "tcp"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Match(q)
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LoadEmbedded(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
