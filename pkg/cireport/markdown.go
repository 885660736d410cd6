package cireport

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/policy"
)

// Markdown writes a GitHub-flavoured summary for $GITHUB_STEP_SUMMARY (or a
// merge request note): the verdict, a table of violations per device,
// suppressed violations in a collapsed block, and warnings.
func Markdown(w io.Writer, res *policy.Result) error {
	bw := bufio.NewWriter(w)
	verdict := "passed"
	if res.Failed() {
		verdict = "failed"
	}
	fmt.Fprintf(bw, "## phonehome check %s\n\n", verdict)
	fmt.Fprintf(bw, "%s\n", escape.Markdown(summary(res)))
	if len(res.Inputs) > 0 {
		var ins []string
		for _, in := range res.Inputs {
			ins = append(ins, escape.MarkdownCode(in))
		}
		fmt.Fprintf(bw, "\nCaptures: %s", strings.Join(ins, ", "))
		if res.Policy != "" {
			fmt.Fprintf(bw, " · policy: %s", escape.MarkdownCode(res.Policy))
		}
		if res.Baseline != "" {
			fmt.Fprintf(bw, " · baseline: %s", escape.MarkdownCode(res.Baseline))
		}
		bw.WriteString("\n")
	}
	for _, d := range res.Devices {
		var open, sup []policy.Violation
		for _, v := range res.Violations {
			if v.Device != d.ID {
				continue
			}
			if v.Suppressed != nil {
				sup = append(sup, v)
			} else {
				open = append(open, v)
			}
		}
		if len(open)+len(sup) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\n### %s\n\n", escape.Markdown(deviceLabel(d.Name, d.ID)))
		if len(open) > 0 {
			bw.WriteString("| Severity | Rule | Violation | Fingerprint |\n|---|---|---|---|\n")
			for _, v := range open {
				detail := escape.Markdown(v.Detail)
				if v.Count > 1 {
					detail += fmt.Sprintf(" (×%d)", v.Count)
				}
				if r, ok := res.Rule(v.Rule); ok && r.Message != "" {
					detail += "<br>" + escape.Markdown(r.Message)
				}
				fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", v.Severity, escape.MarkdownCode(v.Rule), detail, escape.MarkdownCode(v.Fingerprint[:12]))
			}
		}
		if len(sup) > 0 {
			fmt.Fprintf(bw, "\n<details><summary>%s</summary>\n\n", plural(len(sup), "suppressed violation"))
			bw.WriteString("| Rule | Violation | Reason | Until |\n|---|---|---|---|\n")
			for _, v := range sup {
				fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", escape.MarkdownCode(v.Rule), escape.Markdown(v.Detail), escape.Markdown(v.Suppressed.Reason),
					escape.Markdown(v.Suppressed.Until))
			}
			bw.WriteString("\n</details>\n")
		}
	}
	if len(res.Warnings) > 0 {
		bw.WriteString("\n### Warnings\n\n")
		for _, wn := range res.Warnings {
			where := ""
			if wn.Pos.File != "" {
				where = escape.MarkdownCode(wn.Pos.String()) + ": "
			}
			fmt.Fprintf(bw, "- %s%s\n", where, escape.Markdown(wn.Message))
		}
	}
	return bw.Flush()
}
