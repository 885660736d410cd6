package report

import (
	"strings"
	"testing"
)

// Markdown shows a captured double quote as it is (it was &quot;: HTML
// escaping, noise when the Markdown is read as text), while < and & stay
// entities and the table's punctuation stays escaped.
func TestMarkdownQuotes(t *testing.T) {
	r := fixture()
	d := &r.Devices[0]
	d.Findings[0].Message = `sent "imei" and "serial" to <the vendor's cloud> & more`
	d.Destinations[0].ASOrg = `JSC "ER-Telecom Holding"`
	out := render(t, r, Options{Format: "markdown", Tables: []string{"destinations", "findings"}})
	checkGolden(t, "markdown-quotes", out)
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{`sent "imei" and "serial" to &lt;the vendor's cloud> &amp; more`, true},
		{`JSC "ER-Telecom Holding"`, true},
		{"&quot;", false},
		{"<the", false},
	} {
		if strings.Contains(string(out), tc.s) != tc.want {
			t.Errorf("markdown contains %q: %v, want %v", tc.s, !tc.want, tc.want)
		}
	}
}
