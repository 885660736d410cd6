// Package escape makes strings that came from a capture (host names,
// device names, header values, file names) inert in each medium phonehome
// writes: a terminal (Terminal), Markdown (Markdown, MarkdownCode), CSV
// opened by a spreadsheet or cat (CSV) and GitHub Actions workflow commands
// (GitHubData, GitHubProperty). Every writer — report, cireport, and the
// diff and check output of cmd — calls these and has no escaping of its own.
// HTML is escaped by html/template after Terminal; JSON by encoding/json.
package escape

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Terminal makes a captured string inert on a terminal: C0 and C1
// control characters (ESC, BEL, CR, LF, TAB, DEL, U+0080..U+009F), Unicode
// bidirectional overrides and isolates (the "Trojan Source" characters),
// line/paragraph separators and invalid UTF-8 bytes are replaced by visible
// Go-style escapes such as \x1b, \n or \u202e. Everything else, including
// backslashes, is kept as is.
func Terminal(s string) string {
	if isTerminalSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isTerminalSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			for _, r := range s[i:] {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
					return false
				}
			}
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// unsafeRune reports non-ASCII runes that can reorder or hide text:
// C1 controls, bidi embeddings/overrides/isolates, LRM/RLM/ALM and the
// Unicode line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// CSV neutralises spreadsheet formulas: a cell starting with = + - @,
// TAB or CR gets a leading single quote, so Excel, LibreOffice and Google
// Sheets show it as text. Quoting of commas, quotes and newlines is left to
// encoding/csv. Invalid UTF-8 is replaced so that the file stays valid.
//
// Other control characters (ESC, BEL, NUL, DEL, C1) and bidi overrides
// become visible escapes as in Terminal, because CSV is often read
// with cat or less: a captured ESC sequence would reach the terminal.
func CSV(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s == "" {
		return s
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || unsafeRune(r) {
			s = csvControls(s)
			break
		}
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Markdown makes a captured string inert inside a Markdown pipe-table cell
// or list item: control characters become visible escapes (as Terminal), <
// and & become entities (so no tag, autolink or entity can form), and
// Markdown punctuation that could start emphasis, code or links or end the
// cell is backslash-escaped. A double quote is left as it is: it means
// something only inside a tag or a link title, neither of which can start,
// and as &quot; it was noise wherever the Markdown is read as text (and
// inside code spans even when rendered).
func Markdown(s string) string {
	s = Terminal(s)
	if !strings.ContainsAny(s, markdownSpecial) {
		return s // most captured strings: nothing to escape, nothing to copy
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '|', '`', '*', '[', ']', '\\', '~':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '_':
			// GFM never emphasises intraword underscores: keep
			// identifiers such as android_id readable.
			if i > 0 && i+1 < len(s) && isAlnum(s[i-1]) && isAlnum(s[i+1]) {
				b.WriteByte(c)
			} else {
				b.WriteString(`\_`)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// markdownSpecial are the bytes Markdown escapes.
const markdownSpecial = "|`*[]\\~&<_"

// MarkdownCode writes s as a Markdown code span, backticks included:
// control and bidi characters become visible escapes (as Terminal); a
// backtick or pipe cannot be escaped inside a code span, so they become '
// and ¦, and a line break a space.
func MarkdownCode(s string) string {
	return "`" + codeSpan.Replace(Terminal(s)) + "`"
}

var codeSpan = strings.NewReplacer("`", "'", "|", "¦")

// GitHubData escapes the message of a GitHub Actions workflow command
// (::error ...::MESSAGE) so that it stays one command.
func GitHubData(s string) string { return ghData.Replace(s) }

// GitHubProperty escapes a property value of a workflow command
// (file=..., title=...).
func GitHubProperty(s string) string { return ghProp.Replace(s) }

var (
	ghData = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghProp = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// csvControls escapes the control characters that CSV quoting does not
// make harmless on a terminal; TAB, CR and LF are kept (quoted by
// encoding/csv, and a leading TAB or CR gets the formula quote).
func csvControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r == '\r':
			// A bare CR ends a row for some CSV readers and, with cat,
			// overwrites the line on a terminal.
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
