package cireport

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/phonehome/phonehome/pkg/policy"
)

// JUnit XML types (the common Jenkins/GitLab/Surefire dialect).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string      `xml:"name,attr"`
		Tests      int         `xml:"tests,attr"`
		Failures   int         `xml:"failures,attr"`
		Errors     int         `xml:"errors,attr"`
		Skipped    int         `xml:"skipped,attr"`
		Properties *junitProps `xml:"properties,omitempty"`
		Cases      []junitCase `xml:"testcase"`
		SystemErr  string      `xml:"system-err,omitempty"`
	}
	junitProps struct {
		Items []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// JUnit writes a test suite per device and a test case per rule and
// device: a case fails when the rule has unsuppressed violations on that
// device. Suppressed violations are listed in the case's system-out;
// warnings go to the system-err of a last suite named "phonehome".
func JUnit(w io.Writer, res *policy.Result) error {
	doc := junitSuites{Name: "phonehome check"}
	devices := res.Devices
	if len(devices) == 0 {
		devices = []policy.DeviceInfo{{ID: "(no devices)", Name: "(no devices)"}}
	}
	for _, d := range devices {
		s := junitSuite{Name: deviceLabel(d.Name, d.ID), Properties: &junitProps{[]junitProperty{{"device.id", d.ID}}}}
		if d.MAC != "" {
			s.Properties.Items = append(s.Properties.Items, junitProperty{"device.mac", d.MAC})
		}
		for _, r := range res.Rules {
			if !r.AppliesTo(d) {
				continue
			}
			c := junitCase{Name: r.ID, Classname: "phonehome." + d.ID}
			var fail, sup []string
			worst := r.Severity
			for _, v := range res.Violations {
				if v.Rule != r.ID || v.Device != d.ID {
					continue
				}
				line := fmt.Sprintf("%s: %s [fp %s]", v.Severity, v.Detail, v.Fingerprint[:12])
				if v.Suppressed != nil {
					sup = append(sup, fmt.Sprintf("suppressed until %s (%s): %s", v.Suppressed.Until, v.Suppressed.Reason, line))
					continue
				}
				if len(fail) == 0 || v.Severity > worst {
					worst = v.Severity
				}
				fail = append(fail, line)
			}
			if len(fail) > 0 {
				c.Failure = &junitFailure{Type: worst.String(), Message: fmt.Sprintf("%s: %s", plural(len(fail), "violation"), r.Text()),
					Text: strings.Join(fail, "\n")}
				s.Failures++
			}
			c.SystemOut = strings.Join(sup, "\n")
			s.Cases = append(s.Cases, c)
			s.Tests++
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	if len(res.Warnings) > 0 {
		var lines []string
		for _, wn := range res.Warnings {
			lines = append(lines, strings.TrimPrefix(wn.Pos.String()+": ", "0:0: ")+wn.Message)
		}
		doc.Suites = append(doc.Suites, junitSuite{Name: "phonehome", SystemErr: strings.Join(lines, "\n")})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
