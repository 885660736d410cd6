package cireport

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/policy"
)

// GitHub writes GitHub Actions workflow commands: one ::error, ::warning
// or ::notice annotation per unsuppressed violation, placed on the policy
// rule's line (or the baseline file), one ::warning per warning, then the
// summary line.
func GitHub(w io.Writer, res *policy.Result) error {
	bw := bufio.NewWriter(w)
	for _, v := range res.Violations {
		if v.Suppressed != nil {
			continue
		}
		cmd := "error"
		switch {
		case v.Severity < audit.Low:
			cmd = "notice"
		case v.Severity < audit.High:
			cmd = "warning"
		}
		msg := escape.Terminal(deviceLabel(v.DeviceName, v.Device) + ": " + v.Detail)
		if r, ok := res.Rule(v.Rule); ok && r.Message != "" {
			msg += "\n" + escape.Terminal(r.Message)
		}
		title := fmt.Sprintf("%s (%s)", v.Rule, v.Severity)
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, ghProps(rulePos(res, v.Rule), title), escape.GitHubData(msg))
	}
	for _, wn := range res.Warnings {
		fmt.Fprintf(bw, "::warning %s::%s\n", ghProps(wn.Pos, "phonehome "+wn.Code), escape.GitHubData(escape.Terminal(wn.Message)))
	}
	fmt.Fprintln(bw, summary(res))
	return bw.Flush()
}

// ghProps writes "file=...,line=...,col=...,title=..." for the position.
func ghProps(p policy.Pos, title string) string {
	var parts []string
	if p.File != "" && !strings.HasPrefix(p.File, "-") {
		parts = append(parts, "file="+escape.GitHubProperty(p.File))
		if p.Line > 0 {
			parts = append(parts, fmt.Sprintf("line=%d", p.Line))
			if p.Col > 0 {
				parts = append(parts, fmt.Sprintf("col=%d", p.Col))
			}
		}
	}
	parts = append(parts, "title="+escape.GitHubProperty(title))
	return strings.Join(parts, ",")
}
