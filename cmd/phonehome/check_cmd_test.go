package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/pkg/policy"
)

const (
	fwV1 = "fixtures/captures/firmware-v1.pcap"
	fwV2 = "fixtures/captures/firmware-v2.pcap"
)

// The example policy of issue 8 and docs/ci.md, verbatim.
const issuePolicy = `version: 1
rules:
  - id: no-china
    deny_countries: [CN]
  - id: no-plaintext-ids
    deny_plaintext_identifiers: [imei, imsi, phone, email]
  - id: modern-tls
    min_tls_version: "1.2"
`

// fwDevices names the firmware camera and its true IMEI (for known: true).
const fwDevices = `devices:
  - id: cam
    name: Firmware cam
    mac: "2c:aa:8e:5b:00:17"
    identifiers:
      imei: "356938035643809"
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type checkJSON struct {
	Failed     bool `json:"failed"`
	Violations []struct {
		Rule       string          `json:"rule"`
		Suppressed json.RawMessage `json:"suppressed"`
	} `json:"violations"`
	Warnings []struct{ Code string } `json:"warnings"`
}

func parseCheck(t *testing.T, out string) (checkJSON, []string) {
	t.Helper()
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check output is not JSON: %v\n%s", err, out)
	}
	var rules []string
	for _, v := range r.Violations {
		if v.Suppressed == nil && !slices.Contains(rules, v.Rule) {
			rules = append(rules, v.Rule)
		}
	}
	sort.Strings(rules)
	return r, rules
}

// TestCheckRuleKinds runs one rule of every kind over the generated
// firmware captures: build 1 passes them all, build 2 (new analytics host
// in CN, plaintext IMEI) fails the ones it should, and the demo capture
// fails the TLS and byte-budget rules.
func TestCheckRuleKinds(t *testing.T) {
	devices := writeTemp(t, "devices.yaml", fwDevices)
	pol := "pkg/policy/testdata/all-kinds.yaml"
	cases := []struct {
		capture string
		code    int
		want    []string // failed rules (all of them), or nil
		some    []string // failed rules (at least these)
	}{
		{fwV1, exitOK, nil, nil},
		{fwV2, exitViolation, []string{"cam-only", "country-budget", "eu-us-only", "expected-hosts", "imei-stays-home",
			"known-networks", "lab-ids-stay-home", "no-china", "no-high", "no-http-mqtt", "no-plaintext-ids", "no-sensorsdata",
			"no-trackers", "no-unicom"}, nil},
		{"fixtures/demo.pcap", exitViolation, nil, []string{"modern-tls", "small-uploads"}},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.capture), func(t *testing.T) {
			out, errs, code := runCLI(t, "check", "--policy", pol, "--devices", devices, "-f", "json", tc.capture)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errs)
			}
			r, failed := parseCheck(t, out)
			if r.Failed != (tc.code == exitViolation) {
				t.Errorf("failed = %v", r.Failed)
			}
			if tc.some == nil && !slices.Equal(failed, tc.want) {
				t.Errorf("failed rules %v\nwant %v", failed, tc.want)
			}
			for _, s := range tc.some {
				if !slices.Contains(failed, s) {
					t.Errorf("rule %s did not fail (failed: %v)", s, failed)
				}
			}
		})
	}
}

func TestCheckIssueExample(t *testing.T) {
	pol := writeTemp(t, "policy.yaml", issuePolicy)
	out, _, code := runCLI(t, "check", "--policy", pol, fwV1)
	if code != exitOK || !strings.HasPrefix(out, "PASS: no violations; checked 3 rules on 1 device") {
		t.Errorf("v1: exit %d\n%s", code, out)
	}
	out, errs, code := runCLI(t, "check", "--policy", pol, fwV2)
	if code != exitViolation || !strings.Contains(errs, "check failed: 2 violation(s)") {
		t.Fatalf("v2: exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 ||
		!strings.HasPrefix(lines[0], pol+":3:5: high: no-china: cam-5b0017 (mac:2c:aa:8e:5b:00:17): sdk.sensorsdata.cn (106.75.64.39:80/tcp) is in CN (China)") ||
		!strings.HasPrefix(lines[1], pol+":5:5: high: no-plaintext-ids: cam-5b0017 (mac:2c:aa:8e:5b:00:17): imei sent to sdk.sensorsdata.cn") ||
		!strings.HasPrefix(lines[2], "FAIL: 2 violations of 2 rules by 1 device") {
		t.Errorf("v2 output:\n%s", out)
	}
}

func TestCheckExitCodes(t *testing.T) {
	good := writeTemp(t, "policy.yaml", issuePolicy)
	bad := writeTemp(t, "bad.yaml", "version: 1\nrules:\n  - id: no-china\n    deny_countries: [China]\n")
	lint := writeTemp(t, "lint.yaml", "version: 1\nrules:\n  - id: a\n    deny_channels: [HTTPS]\n")
	// A valid pcap without a single frame.
	empty := writeTemp(t, "empty.pcap", "\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"nothing to check", []string{"check", fwV1}, exitUsage, "nothing to check"},
		{"invalid policy", []string{"check", "--policy", bad, fwV1}, exitUsage, bad + ":4:22: country \"China\""},
		{"missing policy", []string{"check", "--policy", "nope.yaml", fwV1}, exitUsage, "nope.yaml"},
		{"missing capture", []string{"check", "--policy", good, "nope.pcap"}, exitUsage, "nope.pcap"},
		{"no capture", []string{"check", "--policy", good}, exitUsage, "no capture given"},
		{"bad format", []string{"check", "--policy", good, "-f", "xml", fwV1}, exitUsage, "unknown format \"xml\""},
		{"bad also", []string{"check", "--policy", good, "--also", "junit", fwV1}, exitUsage, "want FORMAT=FILE"},
		{"bad fail-on", []string{"check", "--fail-on", "urgent", fwV1}, exitUsage, "--fail-on"},
		{"bad date", []string{"check", "--policy", good, "--date", "tomorrow", fwV1}, exitUsage, "--date"},
		{"bad baseline", []string{"check", "--baseline", "go.mod", fwV1}, exitUsage, "not a phonehome baseline"},
		{"lint only", []string{"check", "--lint", "--policy", good}, exitOK, ""},
		{"lint warning", []string{"check", "--lint", "--policy", lint}, exitOK, lint + ":4:21: warning: rule a: unknown channel \"HTTPS\""},
		{"lint invalid", []string{"check", "--lint", "--policy", bad}, exitUsage, "country \"China\""},
		{"damaged input, clean", []string{"check", "--policy", good, "fixtures/captures/truncated.pcap"}, exitPartial, "damaged"},
		{"fail-on clean", []string{"check", "--fail-on", "high", fwV1}, exitOK, ""},
		{"fail-on violated", []string{"check", "--fail-on", "high", fwV2}, exitViolation, "check failed: 1 violation(s)"},
		{"device typo", []string{"check", "--policy", good, "--device", "camm", fwV1}, exitNothing, "nothing analysed: no device matches --device camm"},
		{"empty capture", []string{"check", "--policy", good, empty}, exitNothing, "nothing analysed: the capture holds no devices"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q does not mention %q", errs, tc.stderr)
			}
		})
	}
}

func TestCheckSuppressionExpiry(t *testing.T) {
	pol := writeTemp(t, "policy.yaml", issuePolicy)
	ign := writeTemp(t, "ignore.yaml", `version: 1
ignore:
  - rule: no-china
    destination: "*.sensorsdata.cn"
    reason: vendor contract under review (FW-123)
    expires: 2026-06-30
  - identifier: imei
    reason: debug builds only
    expires: 2026-06-30
`)
	out, errs, code := runCLI(t, "check", "--policy", pol, "--ignore", ign, "--date", "2026-06-30", fwV2)
	if code != exitOK || strings.Count(out, "suppressed by "+ign) != 2 || !strings.Contains(out, "PASS: no violations, 2 suppressed") {
		t.Errorf("before expiry: exit %d (%s)\n%s", code, errs, out)
	}
	out, _, code = runCLI(t, "check", "--policy", pol, "--ignore", ign, "--date", "2026-07-01", fwV2)
	if code != exitViolation || strings.Count(out, "warning: "+ign) != 2 || !strings.Contains(out, "expired on 2026-06-30") ||
		strings.Contains(out, "suppressed by") {
		t.Errorf("after expiry: exit %d\n%s", code, out)
	}
	bad := writeTemp(t, "bad-ignore.yaml", "version: 1\nignore:\n  - rule: no-china\n    expires: 2026-06-30\n")
	if _, errs, code := runCLI(t, "check", "--policy", pol, "--ignore", bad, fwV2); code != exitUsage || !strings.Contains(errs, bad+":3:5: entry without reason") {
		t.Errorf("ignore without reason: exit %d, %s", code, errs)
	}
}

func TestCheckOutputs(t *testing.T) {
	pol := writeTemp(t, "policy.yaml", issuePolicy)
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	out, errs, code := runCLI(t, "check", "--policy", pol, "--fail-on", "high", "-f", "sarif", "-o", p("out.sarif"),
		"--also", "junit="+p("out.xml"), "--also", "markdown="+p("summary.md"), "--also", "github="+p("gh.txt"), fwV2)
	if code != exitViolation || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	read := func(n string) []byte {
		b, err := os.ReadFile(p(n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var sarif struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	if err := json.Unmarshal(read("out.sarif"), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs[0].Results) != 3 {
		t.Errorf("sarif: %v %+v", err, sarif)
	}
	var junit struct {
		Failures int `xml:"failures,attr"`
		Tests    int `xml:"tests,attr"`
	}
	if err := xml.Unmarshal(read("out.xml"), &junit); err != nil || junit.Failures != 3 || junit.Tests != 4 {
		t.Errorf("junit: %v %+v", err, junit)
	}
	if md := string(read("summary.md")); !strings.HasPrefix(md, "## phonehome check failed") {
		t.Errorf("markdown:\n%s", md)
	}
	gh := string(read("gh.txt"))
	if !strings.Contains(gh, "::error file="+pol+",line=3,col=5,title=no-china (high)::") {
		t.Errorf("github:\n%s", gh)
	}
}

// TestDocsCI keeps docs/ci.md working: it holds the issue's policy
// verbatim, its YAML examples load, and its transcripts match real output.
func TestDocsCI(t *testing.T) {
	raw, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if !strings.Contains(doc, "```yaml\n"+issuePolicy+"```") {
		t.Error("docs/ci.md does not hold the issue's example policy verbatim")
	}
	blocks := 0
	for _, part := range strings.Split(doc, "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks++
		switch {
		case strings.HasPrefix(block, "version: 1\nrules:"):
			p, err := policy.Parse("docs/ci.md", []byte(block))
			if err != nil {
				t.Errorf("policy example: %v\n%s", err, block)
			} else if is := policy.Lint(p); len(is) > 0 {
				t.Errorf("policy example lint: %v", is)
			}
		case strings.HasPrefix(block, "version: 1\nignore:"):
			if _, err := policy.ParseIgnore("docs/ci.md", []byte(block)); err != nil {
				t.Errorf("ignore example: %v", err)
			}
		default:
			var v any
			if err := yaml.Unmarshal([]byte(block), &v); err != nil {
				t.Errorf("YAML example does not parse: %v\n%s", err, block)
			}
		}
	}
	if blocks < 5 {
		t.Errorf("only %d YAML blocks", blocks)
	}
	pol := writeTemp(t, "policy.yaml", issuePolicy)
	out, _, _ := runCLI(t, "check", "--policy", pol, fwV2)
	diff, _, _ := runCLI(t, "diff", fwV1, fwV2)
	for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(out, pol, "policy.yaml")+"\n"+diff), "\n") {
		if !strings.Contains(doc, "\n"+line+"\n") {
			t.Errorf("docs/ci.md transcript lacks the line\n%s", line)
		}
	}
}
