package cireport

import (
	"bufio"
	"fmt"
	"io"

	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/policy"
)

// Text writes one line per violation, like a compiler:
//
//	policy.yaml:3:5: high: no-china: Cam (mac:..): host (1.2.3.4:443/tcp) is in CN (China) [fp 0123456789ab]
//
// then warnings and a PASS/FAIL summary line.
func Text(w io.Writer, res *policy.Result) error {
	bw := bufio.NewWriter(w)
	for _, v := range res.Violations {
		where := rulePos(res, v.Rule).String()
		if where == "0:0" {
			where = "phonehome"
		}
		fmt.Fprintf(bw, "%s: %s: %s: %s: %s [fp %s]", where, v.Severity, v.Rule,
			escape.Terminal(deviceLabel(v.DeviceName, v.Device)), escape.Terminal(v.Detail), v.Fingerprint[:12])
		if v.Count > 1 {
			fmt.Fprintf(bw, " (x%d)", v.Count)
		}
		if v.Suppressed != nil {
			fmt.Fprintf(bw, " suppressed by %s until %s: %s", v.Suppressed.Pos, v.Suppressed.Until,
				escape.Terminal(v.Suppressed.Reason))
		}
		bw.WriteByte('\n')
		if r, ok := res.Rule(v.Rule); ok && r.Message != "" && v.Suppressed == nil {
			fmt.Fprintf(bw, "    %s\n", escape.Terminal(r.Message))
		}
	}
	for _, wn := range res.Warnings {
		if wn.Pos.File != "" {
			fmt.Fprintf(bw, "warning: %s: %s\n", wn.Pos, escape.Terminal(wn.Message))
		} else {
			fmt.Fprintf(bw, "warning: %s\n", escape.Terminal(wn.Message))
		}
	}
	fmt.Fprintln(bw, summary(res))
	return bw.Flush()
}
