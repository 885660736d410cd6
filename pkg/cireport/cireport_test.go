package cireport

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/policy"
)

const testPolicy = `version: 1
rules:
  - id: no-china
    message: Firmware must not talk to servers in China.
    deny_countries: [CN]
  - id: no-plaintext-ids
    deny_plaintext_identifiers: [imei, imsi, phone, email]
  - id: modern-tls
    severity: medium
    min_tls_version: "1.2"
  - id: plug-only
    devices: [plug]
    deny_channels: [MQTT]
`

const testIgnore = `version: 1
ignore:
  - rule: modern-tls
    reason: legacy camera, replaced in Q3
    expires: 2026-09-30
  - rule: no-china
    device: Phone
    reason: expired waiver
    expires: 2026-01-01
`

func dest(name, ip string, port uint16, country, channel string) audit.Dest {
	return audit.Dest{Name: name, IP: ip, Port: port, Transport: "tcp", Country: country, Channel: channel}
}

// testResult is a check with violations on two devices, a suppressed one,
// an expired suppression, baseline and --fail-on rules, and a device name
// full of characters that each format must escape.
func testResult(t testing.TB, hostile bool) *policy.Result {
	t.Helper()
	cn := dest("api.example.cn", "203.0.113.7", 80, "CN", "HTTP")
	phoneName := "Phone"
	if hostile {
		phoneName = "Phone\n::error::<b>|pwn|</b> & `x` %0A\x1b[31m"
		cn.Name = "evil|host<script>.example.cn"
	}
	rep := &audit.Report{Tool: audit.Tool{Name: "phonehome", Version: "1.2.3"}, Inputs: []audit.Input{{Path: "captures/fw 2.pcap"}},
		Devices: []audit.Device{
			{ID: "mac:02:00:00:00:00:01", Name: phoneName, MAC: "02:00:00:00:00:01",
				Destinations: []audit.Destination{{Dest: cn, FirstFrame: 12}},
				Leaks: []audit.Leak{{Severity: audit.Critical, Identifier: "imei", Value: "3569*******3809", Encoding: "plain",
					Location: "url.query:imei", Dest: cn, Frame: 14, Count: 2}}},
			{ID: "mac:02:00:00:00:00:02", Name: "Camera", MAC: "02:00:00:00:00:02",
				Destinations: []audit.Destination{{Dest: dest("", "198.51.100.9", 443, "US", "TLS1.0"), FirstFrame: 30}},
				Findings: []audit.Finding{{Severity: audit.Medium, Kind: "tls-deprecated-version", Message: "server negotiated TLS1.0",
					Dest: dest("", "198.51.100.9", 443, "US", "TLS1.0"), Frame: 31}}},
		}}
	p, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	ig, err := policy.ParseIgnore("ignore.yaml", []byte(testIgnore))
	if err != nil {
		t.Fatal(err)
	}
	base := policy.NewBaseline(&audit.Report{Devices: []audit.Device{{ID: "mac:02:00:00:00:00:02", Name: "Camera"}}})
	res := policy.Evaluate(rep, p, policy.Options{FailOn: audit.High, Baseline: base, BaselineFile: "approved.json",
		Ignore: ig, Now: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)})
	return res
}

func render(t *testing.T, res *policy.Result, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res, format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	ext := map[string]string{"text": "txt", "json": "json", "junit": "xml", "sarif": "sarif", "github": "txt", "markdown": "md"}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			got := render(t, testResult(t, false), format)
			if again := render(t, testResult(t, false), format); !bytes.Equal(got, again) {
				t.Error("output differs between two runs")
			}
			path := filepath.Join("testdata", "check."+format+"."+ext[format]+".golden")
			golden.Check(t, path, got)
		})
	}
	if err := Write(&bytes.Buffer{}, testResult(t, false), "xml"); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown format: %v", err)
	}
}

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("sarif-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSARIFValidates(t *testing.T) {
	s := sarifSchema(t)
	empty := policy.Evaluate(&audit.Report{}, nil, policy.Options{FailOn: audit.High})
	for name, res := range map[string]*policy.Result{"normal": testResult(t, false), "hostile": testResult(t, true), "empty": empty} {
		out := render(t, res, "sarif")
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s: SARIF does not validate: %v", name, err)
		}
	}
	// The schema must reject what SARIF forbids, or the test proves nothing.
	bad := bytes.Replace(render(t, testResult(t, false), "sarif"), []byte(`"level": "error"`), []byte(`"level": "fatal"`), 1)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if s.Validate(inst) == nil {
		t.Error("schema accepted level \"fatal\"")
	}

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID              string
				RuleIndex           int
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Justification string }
			}
		}
	}
	res := testResult(t, false)
	if err := json.Unmarshal(render(t, res, "sarif"), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != len(res.Violations) {
		t.Fatalf("%d results for %d violations", len(run.Results), len(res.Violations))
	}
	suppressed := 0
	for i, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %d: ruleIndex %d is not %s", i, r.RuleIndex, r.RuleID)
		}
		if r.PartialFingerprints[FingerprintKey] != res.Violations[i].Fingerprint {
			t.Errorf("result %d: fingerprint", i)
		}
		if len(r.Suppressions) > 0 {
			suppressed++
		}
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed results, want 1", suppressed)
	}
}

func TestJUnitParsesBack(t *testing.T) {
	res := testResult(t, true)
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				SystemOut string `xml:"system-out"`
			} `xml:"testcase"`
			SystemErr string `xml:"system-err"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(render(t, res, "junit"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 3 { // two devices and the warnings suite
		t.Fatalf("%d suites", len(doc.Suites))
	}
	// Rules: 4 from the policy (plug-only applies to no device), cli-fail-on, 4 baseline rules.
	type tc struct {
		fail bool
		sup  bool
	}
	want := map[string]map[string]tc{
		"mac:02:00:00:00:00:01": {"no-china": {fail: true}, "no-plaintext-ids": {fail: true}, "modern-tls": {}, "cli-fail-on": {fail: true},
			"baseline-new-destination": {fail: true}, "baseline-new-country": {fail: true}, "baseline-new-vendor": {}, "baseline-new-leak": {fail: true}},
		"mac:02:00:00:00:00:02": {"no-china": {}, "no-plaintext-ids": {}, "modern-tls": {sup: true}, "cli-fail-on": {},
			"baseline-new-destination": {fail: true}, "baseline-new-country": {fail: true}, "baseline-new-vendor": {}, "baseline-new-leak": {}},
	}
	total, failures := 0, 0
	for _, s := range doc.Suites[:2] {
		dev := ""
		for id := range want {
			if strings.Contains(s.Name, id) {
				dev = id
			}
		}
		if dev == "" {
			t.Fatalf("suite %q names no device", s.Name)
		}
		if len(s.Cases) != len(want[dev]) || s.Tests != len(s.Cases) {
			t.Errorf("%s: %d cases (tests=%d), want %d", dev, len(s.Cases), s.Tests, len(want[dev]))
		}
		nf := 0
		for _, c := range s.Cases {
			w, ok := want[dev][c.Name]
			if !ok {
				t.Errorf("%s: unexpected case %s", dev, c.Name)
				continue
			}
			if (c.Failure != nil) != w.fail {
				t.Errorf("%s/%s: failure %v, want %v", dev, c.Name, c.Failure != nil, w.fail)
			}
			if (c.SystemOut != "") != w.sup {
				t.Errorf("%s/%s: system-out %q", dev, c.Name, c.SystemOut)
			}
			if c.Failure != nil {
				nf++
			}
			if c.Classname != "phonehome."+dev {
				t.Errorf("classname %q", c.Classname)
			}
		}
		if s.Failures != nf {
			t.Errorf("%s: failures=%d, counted %d", dev, s.Failures, nf)
		}
		total += s.Tests
		failures += s.Failures
	}
	if doc.Tests != total || doc.Failures != failures {
		t.Errorf("testsuites totals %d/%d, want %d/%d", doc.Tests, doc.Failures, total, failures)
	}
	if !strings.Contains(doc.Suites[2].SystemErr, "expired") {
		t.Errorf("warnings suite: %q", doc.Suites[2].SystemErr)
	}
	// The hostile device name survives the round trip as text.
	if !strings.Contains(doc.Suites[0].Name+doc.Suites[1].Name, "<b>|pwn|</b>") {
		t.Errorf("suite names %q, %q", doc.Suites[0].Name, doc.Suites[1].Name)
	}
}

func TestHostileStringsStayInert(t *testing.T) {
	res := testResult(t, true)
	gh := string(render(t, res, "github"))
	for _, line := range strings.Split(strings.TrimSuffix(gh, "\n"), "\n") {
		if !strings.HasPrefix(line, "::") && !strings.HasPrefix(line, "PASS") && !strings.HasPrefix(line, "FAIL") {
			t.Errorf("github: line %q is not a workflow command (a newline escaped its message)", line)
		}
		if strings.Contains(line, "\x1b") {
			t.Errorf("github: escape character in %q", line)
		}
	}
	md := string(render(t, res, "markdown"))
	for _, bad := range []string{"<b>", "<script>", "|pwn|", "\x1b"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains %q", bad)
		}
	}
	txt := string(render(t, res, "text"))
	if strings.Contains(txt, "\x1b") || strings.Contains(txt, "Phone\n") {
		t.Errorf("text output carries control characters:\n%s", txt)
	}
}

func TestSummary(t *testing.T) {
	pass := policy.Evaluate(&audit.Report{Devices: []audit.Device{{ID: "a"}}}, nil, policy.Options{FailOn: audit.High})
	if got := summary(pass); got != "PASS: no violations; checked 1 rule on 1 device" {
		t.Errorf("pass summary %q", got)
	}
	if got := summary(testResult(t, false)); !strings.HasPrefix(got, "FAIL: 8 violations of 6 rules by 2 devices, 1 suppressed; checked 9 rules on 2 devices") {
		t.Errorf("fail summary %q", got)
	}
}

func BenchmarkSARIF(b *testing.B) {
	res := testResult(b, false)
	for i := 0; i < 9; i++ {
		res.Violations = append(res.Violations, res.Violations...)
	}
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		SARIF(&buf, res)
	}
	b.SetBytes(int64(buf.Len()))
}

func TestFileURIIsRelativeToTheWorkingDirectory(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"fw.pcap", "fw.pcap"},
		{"./captures/fw 1.pcap", "captures/fw%201.pcap"},
		{filepath.Join(wd, "captures", "fw.pcap"), "captures/fw.pcap"},
		{"/elsewhere/fw.pcap", "file:///elsewhere/fw.pcap"},
		{"../up/fw.pcap", "../up/fw.pcap"},
		{"-", "stdin"},
	}
	for _, tc := range cases {
		if got := fileURI(tc.in); got != tc.want {
			t.Errorf("fileURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
