package report

import "testing"

// TestCSVControls is the regression test for captured ESC sequences that
// reached the terminal through CSV cells (csvSafe only quoted formulas).
func TestCSVControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{"host\x1b[2J\x1b]0;pwned\x07", `host\x1b[2J\x1b]0;pwned\x07`},
		{"\x1b[31m=cmd", `\x1b[31m=cmd`},
		{"=cmd\x00", `'=cmd\x00`},
		{"del\x7f c1\u009b bidi\u202e", `del\x7f c1\u009b bidi\u202e`},
		{"keeps\ttab\nlf, not\rcr", "keeps\ttab\nlf, not\\rcr"},
		{"\r=cmd|' /C calc'!A0", `\r=cmd|' /C calc'!A0`},
		{"x\r\n=1+1", "x\\r\n=1+1"},
		{"\tx\x1b", "'\tx\\x1b"},
	}
	for _, tc := range tests {
		if got := csvSafe(tc.in); got != tc.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
