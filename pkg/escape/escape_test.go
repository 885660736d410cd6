package escape

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// Hostile strings as captured traffic may carry them.
const (
	hostileScript = "<script>document.title='pwned'</script>"
	hostileESC    = "cam\x1b[2J\x1b]0;owned\x07era"
	hostileCSV    = "=cmd|' /C calc'!A0"
	hostilePipe   = "a|b`c`*d*[x](javascript:alert(1))"
	hostileBidi   = "evil\u202egnp.exe"
)

func TestTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"ünïcødé ✓ 日本", "ünïcødé ✓ 日本"},
		{"\x1b[2J\x1b]0;owned\x07", `\x1b[2J\x1b]0;owned\x07`},
		{"a\r\nb\tc", `a\r\nb\tc`},
		{"del\x7f nul\x00", `del\x7f nul\x00`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"back\\slash", `back\slash`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSV(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"+SUM(A1)", "'+SUM(A1)"}, {"-2+3", "'-2+3"}, {"@SUM(1)", "'@SUM(1)"},
		{"\tx", "'\tx"}, {"\rx", `\rx`}, {"a=b", "a=b"}, {"", ""}, {"bad\xff", "bad\uFFFD"},
	}
	for _, tc := range tests {
		if got := CSV(tc.in); got != tc.want {
			t.Errorf("CSV(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a|b", `a\|b`},
		{"`code`", "\\`code\\`"},
		{"<script>x</script>", "&lt;script>x&lt;/script>"},
		{`AS41682 JSC "ER-Telecom Holding"`, `AS41682 JSC "ER-Telecom Holding"`},
		{`sent "imei" in the <b>query</b>`, `sent "imei" in the &lt;b>query&lt;/b>`},
		{"AT&T &amp; &#60; &quot;", "AT&amp;T &amp;amp; &amp;#60; &amp;quot;"},
		{`a\"b`, `a\\"b`},
		{"plain.example.com", "plain.example.com"},
		{"[x](javascript:y)", `\[x\](javascript:y)`},
		{"*em* _u_ android_id", `\*em\* \_u\_ android_id`},
		{"line\nbreak", `line\\nbreak`},
		{"\x1b[31m", `\\x1b\[31m`},
	}
	for _, tc := range tests {
		if got := Markdown(tc.in); got != tc.want {
			t.Errorf("Markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCSVControls is the regression test for captured ESC sequences that
// reached the terminal through CSV cells (the CSV escaping only quoted formulas).
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
		if got := CSV(tc.in); got != tc.want {
			t.Errorf("CSV(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMarkdownCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"fw-1.1.pcap", "`fw-1.1.pcap`"},
		{"a`b|c", "`a'b¦c`"},
		{"fw\u202eevil\x1b[31m.json", "`fw\\u202eevil\\x1b[31m.json`"},
		{"two\nlines", "`two\\nlines`"},
	}
	for _, tc := range tests {
		if got := MarkdownCode(tc.in); got != tc.want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGitHub(t *testing.T) {
	if got := GitHubData("50% done\r\n::error::x"); got != "50%25 done%0D%0A::error::x" {
		t.Errorf("GitHubData = %q", got)
	}
	if got := GitHubProperty("a:b,c\n"); got != "a%3Ab%2Cc%0A" {
		t.Errorf("GitHubProperty = %q", got)
	}
}

// hasControl reports bytes a terminal would interpret.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// markdownInert reports whether md has no < and no & but its own
// entities' (&amp; &lt;) and every | [ ] * ` ~ is backslash-escaped
// (after a backslash not itself escaped): no tag, entity, cell end, link,
// emphasis or code span can start.
func markdownInert(md string) bool {
	for i := 0; i < len(md); i++ {
		switch md[i] {
		case '\\':
			i++ // the next byte is escaped
		case '&':
			if !strings.HasPrefix(md[i:], "&amp;") && !strings.HasPrefix(md[i:], "&lt;") {
				return false
			}
		case '<', '|', '[', ']', '*', '`', '~':
			return false
		}
	}
	return true
}

// FuzzEscape checks the escaping helpers on arbitrary strings: Terminal
// output is valid UTF-8 without control or bidi characters and is a fixed
// point; Markdown output cannot end a cell, open a tag, form an entity of its
// own or break a line;
// CSV output never starts a formula.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{hostileScript, hostileESC, hostileCSV, hostilePipe, hostileBidi, "\xff", "日本語テキスト", "a_b_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := Terminal(s)
		if !utf8.ValidString(st) || hasControl(st) || strings.ContainsFunc(st, unsafeRune) {
			t.Fatalf("Terminal(%q) = %q is not inert", s, st)
		}
		if again := Terminal(st); again != st {
			t.Fatalf("Terminal not idempotent: %q -> %q", st, again)
		}
		md := Markdown(s)
		if strings.ContainsAny(md, "\n\r") || !markdownInert(md) {
			t.Fatalf("Markdown(%q) = %q", s, md)
		}
		cs := CSV(s)
		if cs != "" && strings.ContainsRune("=+-@\t\r", rune(cs[0])) || !utf8.ValidString(cs) {
			t.Fatalf("CSV(%q) = %q", s, cs)
		}
	})
}

func BenchmarkTerminal(b *testing.B) {
	for _, s := range []string{"firebaselogging-pa.googleapis.com", hostileESC + hostileBidi} {
		b.Run(fmt.Sprintf("len%d", len(s)), func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Terminal(s)
			}
		})
	}
}
