package cireport

import (
	"bufio"
	"fmt"
	"io"
	"strings"

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
	fmt.Fprintf(bw, "%s\n", mdEscape(summary(res)))
	if len(res.Inputs) > 0 {
		var ins []string
		for _, in := range res.Inputs {
			ins = append(ins, mdCode(in))
		}
		fmt.Fprintf(bw, "\nCaptures: %s", strings.Join(ins, ", "))
		if res.Policy != "" {
			fmt.Fprintf(bw, " · policy: %s", mdCode(res.Policy))
		}
		if res.Baseline != "" {
			fmt.Fprintf(bw, " · baseline: %s", mdCode(res.Baseline))
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
		fmt.Fprintf(bw, "\n### %s\n\n", mdEscape(deviceLabel(d.Name, d.ID)))
		if len(open) > 0 {
			bw.WriteString("| Severity | Rule | Violation | Fingerprint |\n|---|---|---|---|\n")
			for _, v := range open {
				detail := mdEscape(v.Detail)
				if v.Count > 1 {
					detail += fmt.Sprintf(" (×%d)", v.Count)
				}
				if r, ok := res.Rule(v.Rule); ok && r.Message != "" {
					detail += "<br>" + mdEscape(r.Message)
				}
				fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", v.Severity, mdCode(v.Rule), detail, mdCode(v.Fingerprint[:12]))
			}
		}
		if len(sup) > 0 {
			fmt.Fprintf(bw, "\n<details><summary>%s</summary>\n\n", plural(len(sup), "suppressed violation"))
			bw.WriteString("| Rule | Violation | Reason | Until |\n|---|---|---|---|\n")
			for _, v := range sup {
				fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", mdCode(v.Rule), mdEscape(v.Detail), mdEscape(v.Suppressed.Reason),
					mdEscape(v.Suppressed.Until))
			}
			bw.WriteString("\n</details>\n")
		}
	}
	if len(res.Warnings) > 0 {
		bw.WriteString("\n### Warnings\n\n")
		for _, wn := range res.Warnings {
			where := ""
			if wn.Pos.File != "" {
				where = mdCode(wn.Pos.String()) + ": "
			}
			fmt.Fprintf(bw, "- %s%s\n", where, mdEscape(wn.Message))
		}
	}
	return bw.Flush()
}

// mdEscape makes text inert inside a Markdown table cell: no HTML, no
// emphasis, links or pipes, one line.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, "\\u%04x", r)
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`*_{}[]|~", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as inline code; backticks and pipes cannot be escaped
// inside code spans, so they are replaced.
func mdCode(s string) string {
	s = strings.NewReplacer("`", "'", "|", "¦", "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}
