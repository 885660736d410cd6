package report

import (
	"slices"
	"strings"
	"testing"
)

// truncateRunes is truncate measured rune by rune (its path for text
// other than printable ASCII).
func truncateRunes(s string, width int) string {
	if width <= 0 || textWidth(s) <= width {
		return s
	}
	if width == 1 {
		return "…"
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := textWidth(string(r))
		if used+rw > width-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	b.WriteString("…")
	return b.String()
}

// checkWrapFastPath: wrap and truncate of printable ASCII, cut byte by
// byte, give what the rune-by-rune path gives.
func checkWrapFastPath(t *testing.T, s string, width, maxLines int) {
	t.Helper()
	if !printableASCII(s) {
		return
	}
	want := []string{s}
	if width > 0 && textWidth(s) > width {
		want = wrapRunes(s, width, maxLines)
	}
	if got := wrap(s, width, maxLines); !slices.Equal(got, want) {
		t.Fatalf("wrap(%q, %d, %d) = %q, rune by rune %q", s, width, maxLines, got, want)
	}
	if got, want := truncate(s, width), truncateRunes(s, width); got != want {
		t.Fatalf("truncate(%q, %d) = %q, rune by rune %q", s, width, got, want)
	}
}

var wrapCases = []string{"", " ", "a", "abc", "      leading spaces then a long tail of text", "trailing spaces      ",
	"api.example.com:443/path?a=b&c=d", "one two three four five six seven eight nine ten", strings.Repeat("x", 100),
	"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", "....,,,,====&&&&////>>>>::::", "mac:02:00:00:00:00:01", "~!@#$%^&*()_+{}|\"<>?"}

// TestWrapFastPath: the printable ASCII path of wrap and truncate on
// separators, spaces and widths from 1 up.
func TestWrapFastPath(t *testing.T) {
	for _, s := range wrapCases {
		for width := -1; width <= len(s)+2; width++ {
			for _, maxLines := range []int{1, 2, maxWrapLines, 10} {
				checkWrapFastPath(t, s, width, maxLines)
			}
		}
	}
}

// FuzzWrapFastPath: the same for any printable ASCII text.
func FuzzWrapFastPath(f *testing.F) {
	for _, s := range wrapCases {
		f.Add(s, uint8(7), uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, width, maxLines uint8) {
		// At least one line and at most a few (the writer asks for
		// maxWrapLines), so that the rune-by-rune reference, quadratic in
		// the lines it makes, stays quick on long inputs.
		checkWrapFastPath(t, s, int(width%120), int(maxLines%5)+1)
	})
}
