// Package cireport writes the outcome of a policy check (policy.Result) in
// the formats CI systems read: plain text, JSON, JUnit XML, SARIF 2.1.0,
// GitHub Actions workflow commands and a Markdown summary for
// $GITHUB_STEP_SUMMARY. Every string that came from a capture is escaped
// for its format.
package cireport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/policy"
)

// ErrFormat is returned for an unknown format name.
var ErrFormat = errors.New("cireport: unknown format")

// Formats lists the format names Write accepts.
func Formats() []string { return []string{"text", "json", "junit", "sarif", "github", "markdown"} }

// Write renders res in the named format.
func Write(w io.Writer, res *policy.Result, format string) error {
	switch format {
	case "text", "":
		return Text(w, res)
	case "json":
		return JSON(w, res)
	case "junit":
		return JUnit(w, res)
	case "sarif":
		return SARIF(w, res)
	case "github":
		return GitHub(w, res)
	case "markdown", "md":
		return Markdown(w, res)
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrFormat, format, strings.Join(Formats(), ", "))
}

// JSON writes the result with a "failed" verdict and counts.
func JSON(w io.Writer, res *policy.Result) error {
	out := struct {
		Failed     bool `json:"failed"`
		Open       int  `json:"violations_open"`
		Suppressed int  `json:"violations_suppressed"`
		*policy.Result
	}{res.Failed(), res.Open(), len(res.Violations) - res.Open(), res}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// deviceLabel is "name (id)" or the id.
func deviceLabel(name, id string) string {
	if name != "" && name != id {
		return name + " (" + id + ")"
	}
	return id
}

// summary is the one-line verdict shared by the text formats.
func summary(res *policy.Result) string {
	open := res.Open()
	sup := len(res.Violations) - open
	rules := map[string]bool{}
	devs := map[string]bool{}
	for _, v := range res.Violations {
		if v.Suppressed == nil {
			rules[v.Rule] = true
			devs[v.Device] = true
		}
	}
	checked := fmt.Sprintf("checked %s on %s", plural(len(res.Rules), "rule"), plural(len(res.Devices), "device"))
	supText := ""
	if sup > 0 {
		supText = fmt.Sprintf(", %d suppressed", sup)
	}
	if open == 0 && len(res.Devices) == 0 {
		// A pass on nothing is not a pass (phonehome check exits 6).
		return fmt.Sprintf("NOTHING ANALYSED: no device to check%s; %s", supText, checked)
	}
	if open == 0 {
		return fmt.Sprintf("PASS: no violations%s; %s", supText, checked)
	}
	return fmt.Sprintf("FAIL: %s of %s by %s%s; %s", plural(open, "violation"), plural(len(rules), "rule"),
		plural(len(devs), "device"), supText, checked)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// level maps a severity to the SARIF/GitHub level.
func level(s audit.Severity) string {
	switch {
	case s >= audit.High:
		return "error"
	case s >= audit.Low:
		return "warning"
	}
	return "note"
}

// rulePos is where a violation's rule is written (policy line, baseline
// file), or "" for rules from flags.
func rulePos(res *policy.Result, id string) policy.Pos {
	if r, ok := res.Rule(id); ok && r.Pos.File != "" && !strings.HasPrefix(r.Pos.File, "-") {
		return r.Pos
	}
	return policy.Pos{}
}
