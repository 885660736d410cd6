package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// Synthetic reports mirroring fixtures/scenario firmware V1/V2 (the
// end-to-end tests in cmd/phonehome run the real captures).
func dst(name, ip string, port uint16, country string, asn uint32, category, channel string, up uint64) audit.Destination {
	d := audit.Destination{Dest: audit.Dest{Name: name, IP: ip, Port: port, Transport: "tcp", Country: country, ASN: asn,
		Category: category, Channel: channel}, BytesUp: up, BytesDown: up / 2, Flows: 1, FirstFrame: uint64(port)}
	if i := strings.Index(name, "."); i > 0 {
		d.Domain = name[i+1:]
	}
	if category != "" {
		d.Vendor = "Vendor of " + name
	}
	return d
}

func firmwareReport(v2 bool) *audit.Report {
	dev := audit.Device{ID: "mac:2c:aa:8e:5b:00:17", Name: "cam-5b0017", MAC: "2c:aa:8e:5b:00:17", IPs: []string{"192.168.1.77"},
		Destinations: []audit.Destination{
			dst("m1.tuyaeu.com", "3.120.28.74", 443, "DE", 16509, "cloud", "TLS1.3", 3131),
			dst("www.google.com", "142.250.185.68", 443, "US", 15169, "", "TLS1.2", 929),
			dst("", "192.168.1.1", 53, "private", 0, "", "DNS", 147),
		}}
	if v2 {
		d := dst("sdk.sensorsdata.cn", "106.75.64.39", 80, "CN", 4808, "analytics", "HTTP", 468)
		dev.Destinations = append(dev.Destinations, d)
		dev.Leaks = append(dev.Leaks, audit.Leak{Severity: audit.Critical, Identifier: "imei", Known: true, Value: "3569*******3809",
			Encoding: "plain", Location: "url.query:imei", Dest: d.Dest, Frame: 40, Count: 1})
	}
	return &audit.Report{Tool: audit.Tool{Name: "phonehome", Version: "test"}, Inputs: []audit.Input{{Path: "fw.pcap"}},
		Devices: []audit.Device{dev}}
}

// oldReport has old TLS and a large upload.
func oldReport() *audit.Report {
	r := firmwareReport(false)
	r.Devices[0].Destinations = append(r.Devices[0].Destinations, dst("legacy.tuyaeu.com", "3.120.28.75", 443, "DE", 16509, "cloud", "TLS1.0", 5000))
	return r
}

func mustLoad(t testing.TB, path string) *Policy {
	t.Helper()
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func failedRules(res *Result) []string {
	var out []string
	for _, v := range res.Violations {
		if v.Suppressed == nil && !slices.Contains(out, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryRuleKindPassesAndFails(t *testing.T) {
	p := mustLoad(t, "testdata/all-kinds.yaml")
	kinds := map[Kind]bool{}
	for _, r := range p.Rules {
		kinds[r.Kind] = true
	}
	for _, k := range Kinds() {
		if !kinds[k] {
			t.Errorf("testdata/all-kinds.yaml has no %s rule", k)
		}
	}
	aliases := map[string]string{"cam": "2c:aa:8e:5b:00:17"}
	cases := []struct {
		name string
		rep  *audit.Report
		want []string
	}{
		{"v1", firmwareReport(false), nil},
		{"v2", firmwareReport(true), []string{"cam-only", "country-budget", "eu-us-only", "expected-hosts", "imei-stays-home",
			"known-networks", "lab-ids-stay-home", "no-china", "no-high", "no-http-mqtt", "no-plaintext-ids", "no-sensorsdata",
			"no-trackers", "no-unicom"}},
		{"old", oldReport(), []string{"modern-tls", "small-uploads"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Evaluate(tc.rep, p, Options{Aliases: aliases})
			if got := failedRules(res); !slices.Equal(got, tc.want) {
				t.Errorf("failed rules %v, want %v", got, tc.want)
			}
			if res.Failed() != (len(tc.want) > 0) {
				t.Errorf("Failed() = %v", res.Failed())
			}
			for _, v := range res.Violations {
				if v.Fingerprint != Fingerprint(v.Rule, v.Device, v.Subject) || len(v.Fingerprint) != 64 {
					t.Errorf("bad fingerprint %q", v.Fingerprint)
				}
				if strings.Contains(v.Subject, "3809") || strings.Contains(v.Detail, "3809") {
					t.Errorf("violation carries an identifier value: %+v", v)
				}
			}
		})
	}
}

func TestRuleDetails(t *testing.T) {
	v2 := firmwareReport(true)
	cases := []struct {
		name, yaml string
		rep        *audit.Report
		subjects   []string // of the violations, in order
	}{
		{"local destinations are exempt", "allow_countries: [DE]", firmwareReport(false), []string{"www.google.com"}},
		{"unknown country fails an allow list", "allow_countries: [DE, US, CN]", withDest(firmwareReport(true), dst("x.example", "203.0.113.5", 443, "", 0, "", "TLS1.3", 1)), []string{"x.example"}},
		{"suffix pattern matches the domain itself", "allow_destinations: ['*.google.com', '*.tuyaeu.com', 106.75.64.0/24]", v2, nil},
		{"exact name does not match subdomains", "allow_destinations: [google.com, m1.tuyaeu.com, sdk.sensorsdata.cn]", v2, []string{"www.google.com"}},
		{"cleartext pseudo-channel leaves LAN infrastructure alone", "deny_channels: [cleartext]", v2, []string{"sdk.sensorsdata.cn HTTP"}},
		{"an explicit channel applies on the LAN too", "deny_channels: [DNS]", v2, []string{"192.168.1.1 DNS"}},
		{"channel names ignore case", "deny_channels: [http]", v2, []string{"sdk.sensorsdata.cn HTTP"}},
		{"min tls 1.3", "min_tls_version: TLSv1.3", v2, []string{"www.google.com TLS1.2"}},
		{"budget both directions", "max_bytes_per_destination: 4000\n    direction: both", v2, []string{"m1.tuyaeu.com"}},
		{"budget down", "max_bytes_per_destination: 1KiB\n    direction: down", v2, []string{"m1.tuyaeu.com"}},
		{"country budget star", "max_bytes_per_country: {DE: 1MiB, '*': 500}", v2, []string{"country US"}},
		{"country budget without star", "max_bytes_per_country: {CN: 100}", v2, []string{"country CN"}},
		{"known only", "deny_identifiers: [imei]\n    known: true", firmwareReport(false), nil},
		{"fail_on below threshold", "fail_on: critical", v2, []string{"leak imei to sdk.sensorsdata.cn over HTTP at url.query:imei"}},
		{"scope to another device", "deny_countries: [CN]\n    devices: [printer]", v2, nil},
		{"scope by IP", "deny_countries: [CN]\n    devices: [192.168.1.77]", v2, []string{"sdk.sensorsdata.cn"}},
		// A server located in SG on a block registered in the US, and an
		// anycast resolver registered in the US.
		{"deny located (default)", "deny_countries: [SG]", abroad(), []string{"data.mistat.intl.xiaomi.com"}},
		{"deny located, registration ignored", "deny_countries: [US]", abroad(), []string{"www.google.com"}},
		{"deny registered", "deny_countries: [US]\n    country: registered", abroad(), []string{"data.mistat.intl.xiaomi.com", "dns.google", "www.google.com"}},
		{"deny anycast", "deny_countries: [anycast]", abroad(), []string{"dns.google"}},
		{"allow located", "allow_countries: [DE, US, SG]\n    country: located", abroad(), []string{"dns.google"}},
		{"allow registered", "allow_countries: [DE, US]\n    country: registered", abroad(), nil},
		{"budget per registered country", "max_bytes_per_country: {'*': 1000}\n    country: registered", abroad(), []string{"country DE", "country US"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: r\n    "+tc.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			res := Evaluate(tc.rep, p, Options{})
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Subject)
			}
			if !slices.Equal(got, tc.subjects) {
				t.Errorf("subjects %q, want %q", got, tc.subjects)
			}
		})
	}
}

// abroad is firmware V1 with a destination in a cloud region abroad and an
// anycast one; every public destination carries its registration.
func abroad() *audit.Report {
	r := firmwareReport(false)
	sg := dst("data.mistat.intl.xiaomi.com", "47.241.18.20", 443, "SG", 45102, "analytics", "TLS1.2", 700)
	sg.RegisteredCountry = "US"
	any := dst("dns.google", "8.8.8.8", 853, "anycast", 15169, "", "TLS1.3", 300)
	any.RegisteredCountry, any.Anycast = "US", "Google Public DNS"
	r.Devices[0].Destinations = append(r.Devices[0].Destinations, sg, any)
	for i, d := range r.Devices[0].Destinations {
		if len(d.Country) == 2 && d.RegisteredCountry == "" {
			r.Devices[0].Destinations[i].RegisteredCountry = d.Country
		}
	}
	return r
}

func withDest(r *audit.Report, d audit.Destination) *audit.Report {
	r.Devices[0].Destinations = append(r.Devices[0].Destinations, d)
	return r
}

func TestScopeWarnsAboutUnknownDevice(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: r\n    devices: [printer, cam-5b0017]\n    deny_countries: [CN]\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(firmwareReport(true), p, Options{})
	if len(res.Violations) != 1 || len(res.Warnings) != 1 || res.Warnings[0].Code != "scope-no-device" || !strings.Contains(res.Warnings[0].Message, "printer") {
		t.Errorf("violations %d, warnings %+v", len(res.Violations), res.Warnings)
	}
	if !res.Rules[0].Scoped || !slices.Equal(res.Rules[0].Devices, []string{"mac:2c:aa:8e:5b:00:17"}) {
		t.Errorf("rule info %+v", res.Rules[0])
	}
}

func TestFailOnOption(t *testing.T) {
	res := Evaluate(firmwareReport(true), nil, Options{FailOn: audit.High})
	if got := failedRules(res); !slices.Equal(got, []string{FailOnRuleID}) {
		t.Errorf("got %v", got)
	}
	if res.Violations[0].Severity != audit.Critical {
		t.Errorf("fail_on violation severity %v, want the leak's", res.Violations[0].Severity)
	}
	if Evaluate(firmwareReport(false), nil, Options{FailOn: audit.Info}).Failed() {
		t.Error("v1 has no leaks or findings")
	}
}

func TestViolationsMergeAndSort(t *testing.T) {
	r := firmwareReport(true)
	// The same host on a second address: one violation, counted twice.
	r.Devices[0].Destinations = append(r.Devices[0].Destinations, dst("sdk.sensorsdata.cn", "106.75.64.40", 80, "CN", 4808, "analytics", "HTTP", 10))
	p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - {id: b-rule, severity: low, deny_countries: [CN]}\n  - {id: a-rule, severity: low, deny_asns: [4808]}\n  - {id: z-rule, severity: critical, deny_channels: [HTTP]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(r, p, Options{})
	var got []string
	for _, v := range res.Violations {
		got = append(got, v.Rule)
		if v.Count != 2 || v.Frame != 80 {
			t.Errorf("%s: count %d frame %d", v.Rule, v.Count, v.Frame)
		}
	}
	if want := []string{"z-rule", "a-rule", "b-rule"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"syntax", "version: 1\nrules: [\n", "p.yaml:3:1: YAML syntax"}, // at the end of the file
		{"empty", "", "p.yaml:1:1: empty file"},
		{"not a mapping", "- a\n", "p.yaml:1:1: want a mapping"},
		{"no version", "rules: []\n", "p.yaml:1:1: missing version"},
		{"bad version", "version: 2\nrules: []\n", "p.yaml:1:10: unsupported version 2"},
		{"no rules", "version: 1\n", "missing rules"},
		{"unknown top key", "version: 1\nrulez: []\n", "p.yaml:2:1: unknown key \"rulez\""},
		{"rule without id", "version: 1\nrules:\n  - deny_countries: [CN]\n", "p.yaml:3:5: rule without id"},
		{"bad id", "version: 1\nrules:\n  - id: No_China\n    deny_countries: [CN]\n", "p.yaml:3:9: rule id \"No_China\""},
		{"duplicate id", "version: 1\nrules:\n  - {id: a, deny_countries: [CN]}\n  - {id: a, deny_countries: [RU]}\n", "p.yaml:4:5: duplicate rule id \"a\" (first at p.yaml:3:5)"},
		{"no kind", "version: 1\nrules:\n  - id: a\n", "p.yaml:3:5: rule \"a\" checks nothing"},
		{"two kinds", "version: 1\nrules:\n  - id: a\n    deny_countries: [CN]\n    min_tls_version: '1.2'\n", "p.yaml:5:5: rule already checks deny_countries"},
		{"typo suggestion", "version: 1\nrules:\n  - id: a\n    denied_countries: [CN]\n", "did you mean deny_countries?"},
		{"bad country", "version: 1\nrules:\n  - id: a\n    deny_countries: [CN, China]\n", "p.yaml:4:26: country \"China\""},
		{"bad country field", "version: 1\nrules:\n  - id: a\n    deny_countries: [CN]\n    country: whois\n", "p.yaml:5:14: country \"whois\": want located"},
		{"country field on another kind", "version: 1\nrules:\n  - id: a\n    deny_asns: [1]\n    country: registered\n", "country applies to allow_countries"},
		{"private-use country", "version: 1\nrules:\n  - id: a\n    deny_countries: [CN, XX]\n", "p.yaml:4:26: country \"XX\""},
		{"grouping is not a country", "version: 1\nrules:\n  - id: a\n    allow_countries: [EU]\n", "p.yaml:4:23: country \"EU\""},
		{"bad asn", "version: 1\nrules:\n  - id: a\n    deny_asns: [ASX]\n", "p.yaml:4:17: ASN \"ASX\""},
		{"bad pattern", "version: 1\nrules:\n  - id: a\n    allow_destinations: ['a.*.com']\n", "p.yaml:4:26: \"a.*.com\" is not a host name"},
		{"bad cidr", "version: 1\nrules:\n  - id: a\n    allow_destinations: [10.0.0.0/33]\n", "not a CIDR"},
		{"bad tls", "version: 1\nrules:\n  - id: a\n    min_tls_version: '2.0'\n", "p.yaml:4:22: TLS version \"2.0\""},
		{"bad size", "version: 1\nrules:\n  - id: a\n    max_bytes_per_destination: lots\n", "p.yaml:4:32: \"lots\" is not a size"},
		{"bad budget map", "version: 1\nrules:\n  - id: a\n    max_bytes_per_country: 10\n", "want a mapping of country code"},
		{"bad budget country", "version: 1\nrules:\n  - id: a\n    max_bytes_per_country: {XYZ: 1}\n", "p.yaml:4:29: country \"XYZ\""},
		{"bad severity", "version: 1\nrules:\n  - id: a\n    severity: urgent\n    deny_countries: [CN]\n", "p.yaml:4:15: unknown severity \"urgent\""},
		{"fail_on none", "version: 1\nrules:\n  - id: a\n    fail_on: none\n", "fail_on none would fail on nothing"},
		{"direction misplaced", "version: 1\nrules:\n  - id: a\n    direction: up\n    deny_countries: [CN]\n", "p.yaml:4:16: direction applies to"},
		{"known misplaced", "version: 1\nrules:\n  - id: a\n    known: true\n    deny_countries: [CN]\n", "known applies to"},
		{"empty list", "version: 1\nrules:\n  - id: a\n    deny_countries: []\n", "p.yaml:4:21: empty list"},
		{"alias", "version: 1\nx: &a [1]\nrules:\n  - id: a\n    deny_countries: *a\n", "unknown key \"x\""},
		{"alias value", "version: 1\nrules:\n  - &r {id: a, deny_countries: [CN]}\n  - *r\n", "p.yaml:4:5: YAML aliases are not allowed"},
		{"duplicate key", "version: 1\nrules:\n  - id: a\n    id: b\n    deny_countries: [CN]\n", "p.yaml:4:5: key \"id\" given twice (first on line 3)"},
		{"nested list item", "version: 1\nrules:\n  - id: a\n    deny_countries: [[CN]]\n", "want a plain value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			for _, e := range Errors(err) {
				if e.Pos.File != "p.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("error without position: %v", e)
				}
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	_, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: a\n    deny_countries: [X]\n  - id: b\n    deny_asns: [0]\n"))
	if n := len(Errors(err)); n != 2 {
		t.Errorf("%d errors, want 2: %v", n, err)
	}
}

// TestParseReportsEveryError: unknown keys, wrong types and bad values of
// several rules and of the ignore file are all reported, in file order.
func TestParseReportsEveryError(t *testing.T) {
	tests := []struct {
		name, in string
		parse    func(string, []byte) error
		want     []string
	}{
		{"policy", "version: one\nrules:\n  - id: a\n    deny_countries: [CN, China]\n    severity: [high]\n  - id: b\n    min_tls_version: {v: 1}\n    colour: red\n  - id: c\n    max_bytes_per_country: {CN: lots}\n    known: maybe\nextra: 1\n",
			func(f string, b []byte) error { _, err := Parse(f, b); return err },
			[]string{
				`p.yaml:1:10: version: want a whole number, found "one"`,
				`p.yaml:4:26: country "China"`,
				`p.yaml:5:15: want severity (a string), found a list`,
				`p.yaml:7:22: want min_tls_version (a string), found a mapping`,
				`p.yaml:8:5: unknown key "colour"`,
				`p.yaml:10:33: "lots" is not a size`,
				`p.yaml:11:12: known: want true or false, found "maybe"`,
				`p.yaml:11:12: known applies to deny_identifiers and deny_plaintext_identifiers only`,
				`p.yaml:12:1: unknown key "extra"`,
			}},
		{"ignore", "version: 1\nignore:\n  - rule: [a]\n    reason: r\n    expires: soon\n  - fingerprint: xyz\n    reason: r\n    expires: 2026-01-01\n    until: x\n",
			func(f string, b []byte) error { _, err := ParseIgnore(f, b); return err },
			[]string{
				`p.yaml:3:11: want rule (a string), found a list`,
				`p.yaml:5:14: expires "soon"`,
				`p.yaml:6:18: fingerprint: want 8 to 64 hex digits`,
				`p.yaml:9:5: unknown key "until"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse("p.yaml", []byte(tt.in))
			errs := Errors(err)
			if len(errs) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
				}
			}
		})
	}
}

func TestExamplesLoad(t *testing.T) {
	p := mustLoad(t, "testdata/issue-example.yaml")
	if len(p.Rules) != 3 || *p.Rules[2].Check.(*MinTLS) != (MinTLS{TLS12}) || p.Rules[0].Severity != audit.High {
		t.Errorf("issue example: %+v", p.Rules)
	}
	if issues := Lint(p); len(issues) != 0 {
		t.Errorf("lint: %v", issues)
	}
	if issues := Lint(mustLoad(t, "testdata/all-kinds.yaml")); len(issues) != 0 {
		t.Errorf("lint: %v", issues)
	}
	if _, err := Load("testdata/missing.yaml"); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLint(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`version: 1
rules:
  - id: a
    deny_categories: [advertizing]
  - id: b
    deny_identifiers: [imie, any]
  - id: c
    deny_channels: [HTTPS, cleartext]
  - id: d
    min_tls_version: SSLv2
  - id: e
    max_bytes_per_destination: 0
  - id: f
    deny_countries: [CN, cn]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, is := range Lint(p) {
		got = append(got, is.String())
	}
	want := []string{
		`p.yaml:4:23: warning: rule a: no signature has category "advertizing"`,
		`p.yaml:6:24: warning: rule b: no detector reports identifier "imie"`,
		`p.yaml:8:21: warning: rule c: unknown channel "HTTPS"`,
		`p.yaml:9:5: warning: rule d: min_tls_version SSLv2 allows every TLS version`,
		`p.yaml:11:5: warning: rule e: a budget of 0 bytes fails on every destination`,
		`p.yaml:13:5: warning: rule f: CN listed twice`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d issues: %q", len(got), got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("issue %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
	empty, _ := Parse("e.yaml", []byte("version: 1\nrules: []\n"))
	if is := Lint(empty); len(is) != 1 || !strings.Contains(is[0].Msg, "no rules") {
		t.Errorf("empty policy lint: %v", is)
	}
}

func TestIgnoreExpiry(t *testing.T) {
	ig, err := LoadIgnore("testdata/ignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, "testdata/all-kinds.yaml")
	cases := []struct {
		now        string
		suppressed []string // rules whose violations are suppressed
		warnings   []string // warning codes
	}{
		// Both entries active: no-china on sensorsdata and every imei rule.
		{"2026-01-31T11:59:59Z", []string{"imei-stays-home", "lab-ids-stay-home", "no-china", "no-high", "no-plaintext-ids"}, nil},
		// The imei entry expired at noon: it is reported and stops suppressing.
		{"2026-01-31T12:00:00Z", []string{"no-china"}, []string{"expired-suppression"}},
		// A date-only expiry lasts through that day (UTC).
		{"2026-06-30T23:59:59Z", []string{"no-china"}, []string{"expired-suppression"}},
		{"2026-07-01T00:00:00Z", nil, []string{"expired-suppression", "expired-suppression"}},
	}
	for _, tc := range cases {
		t.Run(tc.now, func(t *testing.T) {
			now, _ := time.Parse(time.RFC3339, tc.now)
			res := Evaluate(firmwareReport(true), p, Options{Ignore: ig, Now: now, Aliases: map[string]string{"cam": "2c:aa:8e:5b:00:17"}})
			var sup []string
			for _, v := range res.Violations {
				if v.Suppressed != nil && !slices.Contains(sup, v.Rule) {
					sup = append(sup, v.Rule)
				}
			}
			sort.Strings(sup)
			if !slices.Equal(sup, tc.suppressed) {
				t.Errorf("suppressed %v, want %v", sup, tc.suppressed)
			}
			var codes []string
			for _, w := range res.Warnings {
				codes = append(codes, w.Code)
				if w.Pos.File != "testdata/ignore.yaml" || w.Pos.Line == 0 {
					t.Errorf("warning without position: %+v", w)
				}
			}
			if !slices.Equal(codes, tc.warnings) {
				t.Errorf("warnings %v, want %v (%+v)", codes, tc.warnings, res.Warnings)
			}
			if !res.Failed() {
				t.Error("other rules still fail")
			}
		})
	}
}

func TestIgnoreMatching(t *testing.T) {
	res := Evaluate(firmwareReport(true), mustLoad(t, "testdata/all-kinds.yaml"), Options{})
	var china Violation
	for _, v := range res.Violations {
		if v.Rule == "no-china" {
			china = v
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		entry string
		match bool
	}{
		{"fingerprint: " + china.Fingerprint[:8], true},
		{"fingerprint: " + china.Fingerprint, true},
		{"fingerprint: 00000000", false},
		{"rule: no-china\n    device: 2c:aa:8e:5b:00:17", true},
		{"rule: no-china\n    device: printer", false},
		{"destination: 106.75.64.0/24", true},
		{"destination: '*.google.com'", false},
		{"identifier: imei", false},
	}
	for _, tc := range cases {
		ig, err := ParseIgnore("i.yaml", []byte("version: 1\nignore:\n  - "+tc.entry+"\n    reason: r\n    expires: 2026-02-01\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		if got := ig.Entries[0].Matches(&china); got != tc.match {
			t.Errorf("%q matches = %v, want %v", tc.entry, got, tc.match)
		}
		if ig.Entries[0].Expired(now) {
			t.Error("expired too early")
		}
	}
}

func TestIgnoreErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"ignore:\n  - rule: a\n    expires: 2026-01-01\n", "i.yaml:2:5: entry without reason"},
		{"ignore:\n  - rule: a\n    reason: r\n", "i.yaml:2:5: entry without expires"},
		{"ignore:\n  - reason: r\n    expires: 2026-01-01\n", "entry matches everything"},
		{"ignore:\n  - rule: a\n    reason: r\n    expires: next week\n", "i.yaml:4:14: expires \"next week\""},
		{"ignore:\n  - fingerprint: xyz\n    reason: r\n    expires: 2026-01-01\n", "fingerprint: want 8 to 64 hex digits"},
		{"ignore:\n  - rule: a\n    reason: r\n    expires: 2026-01-01\n    until: x\n", "i.yaml:5:5: unknown key \"until\""},
		{"version: 3\nignore: []\n", "unsupported version 3"},
		{"suppress: []\n", "unknown key \"suppress\""},
	}
	for _, tc := range cases {
		_, err := ParseIgnore("i.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestBaselineRoundTripAndCompare(t *testing.T) {
	b1 := NewBaseline(firmwareReport(false))
	var buf bytes.Buffer
	if err := b1.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !IsBaseline(buf.Bytes()) || IsBaseline([]byte("\xd4\xc3\xb2\xa1")) || IsBaseline([]byte(`{"schema_version":"1.0"}`)) {
		t.Error("IsBaseline sniffing")
	}
	back, err := ReadBaseline(bytes.NewReader(buf.Bytes()), "b.json")
	if err != nil {
		t.Fatal(err)
	}
	if ch := Compare(b1, back); len(ch) != 0 {
		t.Errorf("round trip changed: %+v", ch)
	}
	var again bytes.Buffer
	back.Write(&again)
	if again.String() != buf.String() {
		t.Error("baseline output is not stable")
	}

	// V2 on another lab MAC still pairs with V1 (the only device each).
	r2 := firmwareReport(true)
	r2.Devices[0].ID, r2.Devices[0].Name = "mac:02:00:00:00:00:01", "other"
	var got []string
	for _, c := range Compare(b1, NewBaseline(r2)) {
		got = append(got, string(c.Op)+" "+c.Kind+" "+c.Subject)
		if c.Device != "mac:02:00:00:00:00:01" {
			t.Errorf("change on device %q", c.Device)
		}
	}
	want := []string{
		"added destination sdk.sensorsdata.cn:80/tcp HTTP",
		"added country CN",
		"added vendor Vendor of sdk.sensorsdata.cn",
		"added leak imei to sdk.sensorsdata.cn over HTTP",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes\n%q\nwant\n%q", got, want)
	}
	// Reversed: everything is removed.
	for _, c := range Compare(NewBaseline(firmwareReport(true)), b1) {
		if c.Op != Removed {
			t.Errorf("reverse diff: %+v", c)
		}
	}
	// Check with the baseline fails on exactly the new items.
	res := Evaluate(firmwareReport(true), nil, Options{Baseline: b1, BaselineFile: "b.json"})
	if got := failedRules(res); !slices.Equal(got, []string{RuleNewCountry, RuleNewDestination, RuleNewLeak, RuleNewVendor}) {
		t.Errorf("baseline rules %v", got)
	}
	if Evaluate(firmwareReport(false), nil, Options{Baseline: NewBaseline(firmwareReport(true))}).Failed() {
		t.Error("removing things must not fail the check")
	}
}

func TestCompareUnpairedDevices(t *testing.T) {
	a := &Baseline{Version: 1, Devices: []BaselineDevice{{ID: "a", Countries: []string{"DE"}}, {ID: "b", Countries: []string{"US"}}}}
	b := &Baseline{Version: 1, Devices: []BaselineDevice{{ID: "c", Countries: []string{"DE"}}, {ID: "b", Countries: []string{"US"}}}}
	var got []string
	for _, c := range Compare(a, b) {
		got = append(got, c.Device+" "+string(c.Op)+" "+c.Subject)
	}
	// a and c are the only unpaired devices: they pair, nothing changed.
	if len(got) != 0 {
		t.Errorf("got %q", got)
	}
	b.Devices = append(b.Devices, BaselineDevice{ID: "d", Countries: []string{"CN"}})
	got = nil
	for _, c := range Compare(a, b) {
		got = append(got, c.Device+" "+string(c.Op)+" "+c.Subject)
	}
	if want := []string{"a removed DE", "c added DE", "d added CN"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadBaselineErrors(t *testing.T) {
	cases := []struct{ data, want string }{
		{`{"schema_version": "1.0"}`, "not a phonehome baseline"},
		{`{"phonehome_baseline": 2, "devices": []}`, "version 2"},
		{`{"phonehome_baseline": 1, "devices": [], "extra": 1}`, "unknown field"},
		{`{"phonehome_baseline": 1, "devices": [`, "unexpected EOF"},
	}
	for _, tc := range cases {
		_, err := ReadBaseline(strings.NewReader(tc.data), "b.json")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.data, err, tc.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "b.json")
	os.WriteFile(path, []byte(`{"phonehome_baseline":1,"tool":{"name":"","version":""},"inputs":[],"devices":[]}`), 0o644)
	if !SniffBaseline(path) || SniffBaseline(dir) || SniffBaseline(filepath.Join(dir, "none")) {
		t.Error("SniffBaseline")
	}
	if _, err := LoadBaseline(path); err != nil {
		t.Error(err)
	}
}

func TestPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		dest    audit.Dest
		want    bool
	}{
		{"*.example.com", audit.Dest{Name: "a.b.example.com"}, true},
		{"*.example.com", audit.Dest{Name: "example.com"}, true},
		{"*.example.com", audit.Dest{Name: "badexample.com"}, false},
		{"*.example.com", audit.Dest{Name: "cdn.net", Domain: "example.com"}, false},
		{"example.com", audit.Dest{Name: "www.example.com", Domain: "example.com"}, false},
		{"Example.COM.", audit.Dest{Name: "example.com"}, true},
		{"10.0.0.0/8", audit.Dest{IP: "10.1.2.3"}, true},
		{"10.0.0.0/8", audit.Dest{IP: "11.1.2.3"}, false},
		{"2001:db8::/32", audit.Dest{IP: "2001:db8::1"}, true},
		{"1.2.3.4", audit.Dest{IP: "::ffff:1.2.3.4"}, true},
		{"1.2.3.4", audit.Dest{Name: "1.2.3.4"}, true},
	}
	for _, tc := range cases {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Match(tc.dest); got != tc.want {
			t.Errorf("%s matches %+v = %v", tc.pattern, tc.dest, got)
		}
	}
	for _, bad := range []string{"", "*", "a..b", "*.*.com", "a b", "1.2.3.4/40", "x/8"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]uint64{"0": 0, "1048576": 1 << 20, "64KiB": 64 << 10, "10MB": 10e6, "1 GiB": 1 << 30, "5B": 5, "1_000": 1000} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "1.5MiB", "99999999999999999999", "9999999999999GiB"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := mustLoad(b, "testdata/all-kinds.yaml")
	r := firmwareReport(true)
	for i := 0; i < 200; i++ {
		r.Devices[0].Destinations = append(r.Devices[0].Destinations, dst("h"+strings.Repeat("x", i%7)+".example.net", "198.51.100.7", uint16(1000+i), "NL", 1136, "cdn", "TLS1.3", 100))
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, p, Options{})
	}
}

func TestPairDevicesSaysWhichPairingsAreGuesses(t *testing.T) {
	dev := func(id, name string) BaselineDevice { return BaselineDevice{ID: id, Name: name} }
	cases := []struct {
		name     string
		old, new []BaselineDevice
		want     []Pairing
	}{
		{"same ids", []BaselineDevice{dev("a", "cam"), dev("b", "plug")}, []BaselineDevice{dev("b", "plug"), dev("a", "cam")},
			[]Pairing{{Old: "b", New: "b", By: "id"}, {Old: "a", New: "a", By: "id"}}},
		{"new MAC, same name", []BaselineDevice{dev("a", "cam"), dev("b", "plug")}, []BaselineDevice{dev("a", "cam"), dev("c", "plug")},
			[]Pairing{{Old: "a", New: "a", By: "id"}, {Old: "b", New: "c", By: "name", Guess: true}}},
		{"one left on each side", []BaselineDevice{dev("a", "")}, []BaselineDevice{dev("z", "")},
			[]Pairing{{Old: "a", New: "z", By: "only-remaining", Guess: true}}},
		{"two left on each side pair with nobody", []BaselineDevice{dev("a", ""), dev("b", "")}, []BaselineDevice{dev("y", ""), dev("z", "")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got := PairDevices(&Baseline{Devices: tc.old}, &Baseline{Devices: tc.new})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pairings %+v, want %+v", got, tc.want)
			}
		})
	}
}
