package leak

import (
	"strings"
	"unicode"

	"github.com/phonehome/phonehome/pkg/audit"
	"golang.org/x/net/publicsuffix"
)

// Mask hides most of a value so that a shared report still lets a reader
// recognise which identifier leaked without repeating it: the first and
// last four letters/digits of long values (8678*******2412), two of
// medium ones, the first of short ones; e-mail keeps the first and last
// letter of the local part and the domain; a MAC keeps its vendor prefix;
// coordinates keep one decimal; secrets are fully hidden.
func Mask(identifier, value string) string {
	id, _ := audit.LookupIdentifier(identifier)
	switch id.Mask {
	case audit.MaskSecret:
		return "********"
	case audit.MaskUserSecret:
		u, _, _ := strings.Cut(value, ":")
		return maskRunes(u) + ":********"
	case audit.MaskEmail:
		at := strings.LastIndexByte(value, '@')
		if at > 0 {
			l := []rune(value[:at])
			switch len(l) {
			case 1:
				return "*" + value[at:]
			case 2:
				return string(l[0]) + "*" + value[at:]
			}
			return string(l[0]) + strings.Repeat("*", len(l)-2) + string(l[len(l)-1]) + value[at:]
		}
	case audit.MaskMAC:
		if m := parseMAC(value, true); m != "" {
			return m[:8] + ":**:**:**"
		}
	case audit.MaskCoords:
		if a, b, ok := strings.Cut(value, ","); ok {
			return maskCoord(strings.TrimSpace(a)) + "," + maskCoord(strings.TrimSpace(b))
		}
	case audit.MaskURL:
		return maskURL(value)
	case audit.MaskEvent:
		if what, target, ok := strings.Cut(value, ": "); ok {
			return what + ": " + maskRunes(target)
		}
	}
	if _, _, ok := strings.Cut(value, ","); ok && parseMaybeCoords(value) {
		a, b, _ := strings.Cut(value, ",")
		return maskCoord(strings.TrimSpace(a)) + "," + maskCoord(strings.TrimSpace(b))
	}
	return maskRunes(value)
}

func parseMaybeCoords(v string) bool {
	a, b, _ := strings.Cut(v, ",")
	_, ok1 := parseCoord(strings.TrimSpace(a), 1)
	_, ok2 := parseCoord(strings.TrimSpace(b), 1)
	return ok1 && ok2
}

// maskCoord keeps the integer part and one decimal: 52.512544 → 52.5*****.
func maskCoord(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 || dot+2 > len(s) {
		return s
	}
	return s[:dot+2] + strings.Repeat("*", len(s)-dot-2)
}

// maskRunes keeps separators and shows the first/last k letters or digits.
func maskRunes(v string) string {
	r := []rune(v)
	n := 0
	for _, c := range r {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			n++
		}
	}
	keep := 0
	switch {
	case n >= 12:
		keep = 4
	case n >= 8:
		keep = 2
	case n >= 4:
		keep = 1
	}
	i := 0
	for j, c := range r {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c)) {
			if n < 4 {
				r[j] = '*'
			}
			continue
		}
		show := i < keep || keep > 1 && i >= n-keep
		if !show {
			r[j] = '*'
		}
		i++
	}
	return string(r)
}

// secret reports whether an identifier is a credential, never shown in
// part: every spelling is hidden whole.
func secret(identifier string) bool {
	id, _ := audit.LookupIdentifier(identifier)
	return id.Mask == audit.MaskSecret || id.Mask == audit.MaskUserSecret
}

// MaskSpelling masks one text that carried a leaked value (a Hit's
// Spellings): the value itself as Mask does, any other spelling (an
// encoded blob, a variant form) with its letters and digits hidden but the
// first and last few; credentials entirely.
func MaskSpelling(identifier, value, spelling string) string {
	switch {
	case spelling == value:
		return Mask(identifier, value)
	case secret(identifier):
		return "********"
	case identifier == "email" && strings.IndexByte(spelling, '@') > 0:
		return Mask(identifier, spelling)
	}
	return maskRunes(spelling)
}

// maskURL keeps a URL's scheme and public suffix and hides the rest like
// maskRunes: "https://www.example-clinic.com/a?b=c" →
// "https://***.*******-******.com/*?*=*". The site a user visited is
// itself what must not travel further in a shared report.
func maskURL(v string) string {
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return maskRunes(v)
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	suffix := ""
	if ps, icann := publicsuffix.PublicSuffix(strings.ToLower(host)); icann && len(host) > len(ps)+1 {
		host, suffix = host[:len(host)-len(ps)], host[len(host)-len(ps):]
	}
	return scheme + "://" + hideAll(host) + suffix + hideAll(tail)
}

// hideAll replaces every letter and digit by '*'.
func hideAll(s string) string {
	r := []rune(s)
	for i, c := range r {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			r[i] = '*'
		}
	}
	return string(r)
}
