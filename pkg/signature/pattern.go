package signature

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"golang.org/x/net/idna"
)

const (
	maxNameLen    = 253
	maxLabelLen   = 63
	maxPatternLen = 1024
)

// DomainKind says how a domain pattern matches.
type DomainKind uint8

const (
	// Exact matches one name: "api.example.com".
	Exact DomainKind = iota + 1
	// Suffix matches a name and every name below it: "*.example.com".
	Suffix
	// Glob has '*' inside labels and matches within one label per '*':
	// "log*.tiktokv.com", "mistat.*.xiaomi.com.edgesuite.net".
	Glob
	// Regex is an RE2 expression over the normalised name: "re:^a\d+\.x\.com$".
	Regex
)

// DomainPattern is one compiled domain matcher.
type DomainPattern struct {
	Raw  string // as written in the file
	Kind DomainKind
	// Name is the normalised literal part: the exact name, the suffix
	// base, or a glob's literal suffix (whole labels, where it is attached).
	Name string
	// Left is a glob's wildcard part left of Name, e.g. "log*" or "mistat.*".
	Left   string
	Labels int // labels in Name
	re     *regexp.Regexp
	Pos    Pos
}

// Key is the normalised text used to find duplicates.
func (d DomainPattern) Key() string {
	switch d.Kind {
	case Suffix:
		return "*." + d.Name
	case Glob:
		return d.Left + "." + d.Name
	case Regex:
		return "re:" + d.re.String()
	}
	return d.Name
}

// literalSuffix returns the whole DNS labels a regex spells out literally
// just before its end anchor ("^[a-z]+\.iot\.[a-z0-9-]+\.amazonaws\.com$"
// gives "amazonaws.com"), or "" when it has none. The regex is then tried
// only for names below that suffix, like a glob.
func literalSuffix(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return ""
	}
	last := re.Sub[len(re.Sub)-1]
	lit := re.Sub[len(re.Sub)-2]
	if last.Op != syntax.OpEndText || lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return ""
	}
	s := string(lit.Rune)
	// Only labels that start after a literal dot are whole.
	i := strings.IndexByte(s, '.')
	if i < 0 || i == len(s)-1 {
		return ""
	}
	return strings.ToLower(s[i+1:])
}

func (d DomainPattern) specificity() int {
	switch d.Kind {
	case Exact:
		return d.Labels*4 + 3
	case Glob:
		return d.Labels*4 + 2
	case Suffix:
		return d.Labels*4 + 1
	case Regex:
		if d.Name != "" {
			return d.Labels*4 + 2
		}
	}
	return 0
}

// ParseDomainPattern parses and normalises one domain pattern.
func ParseDomainPattern(s string) (DomainPattern, error) {
	d := DomainPattern{Raw: s}
	if len(s) > maxPatternLen {
		return d, fmt.Errorf("domain pattern longer than %d bytes", maxPatternLen)
	}
	if rest, ok := strings.CutPrefix(s, "re:"); ok {
		re, err := regexp.Compile(rest)
		if err != nil {
			return d, fmt.Errorf("domain regex %q: %v", rest, err)
		}
		if rest == "" {
			return d, fmt.Errorf("empty domain regex")
		}
		d.Kind, d.re = Regex, re
		if lit := literalSuffix(rest); lit != "" {
			if name, err := normalizePatternName(lit, false); err == nil {
				d.Name, d.Labels = name, strings.Count(name, ".")+1
			}
		}
		return d, nil
	}
	t := strings.TrimSuffix(strings.TrimSpace(s), ".")
	if t != s && t+"." != s {
		return d, fmt.Errorf("domain pattern %q has surrounding spaces", s)
	}
	if rest, ok := strings.CutPrefix(t, "*."); ok {
		name, err := normalizePatternName(rest, false)
		if err != nil {
			return d, fmt.Errorf("domain pattern %q: %v", s, err)
		}
		d.Kind, d.Name, d.Labels = Suffix, name, strings.Count(name, ".")+1
		return d, nil
	}
	if !strings.Contains(t, "*") {
		name, err := normalizePatternName(t, false)
		if err != nil {
			return d, fmt.Errorf("domain pattern %q: %v", s, err)
		}
		d.Kind, d.Name, d.Labels = Exact, name, strings.Count(name, ".")+1
		return d, nil
	}
	name, err := normalizePatternName(t, true)
	if err != nil {
		return d, fmt.Errorf("domain pattern %q: %v", s, err)
	}
	labels := strings.Split(name, ".")
	k := len(labels)
	for k > 0 && !strings.Contains(labels[k-1], "*") {
		k--
	}
	if k == len(labels) {
		return d, fmt.Errorf("domain pattern %q: a wildcard needs a literal suffix (write re:... for anything else)", s)
	}
	d.Kind, d.Left, d.Name, d.Labels = Glob, strings.Join(labels[:k], "."), strings.Join(labels[k:], "."), len(labels)-k
	return d, nil
}

// normalizePatternName lower-cases, converts IDNs to punycode and checks
// label syntax. '*' is allowed inside labels only when wild is set.
func normalizePatternName(s string, wild bool) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty name")
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if l == "" {
			return "", fmt.Errorf("empty label")
		}
		if !isASCII(l) {
			a, err := idna.Lookup.ToASCII(l)
			if err != nil {
				return "", fmt.Errorf("label %q: %v", l, err)
			}
			l = a
		}
		l = strings.ToLower(l)
		if len(l) > maxLabelLen {
			return "", fmt.Errorf("label %q longer than %d bytes", l, maxLabelLen)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c == '*' && wild:
			default:
				return "", fmt.Errorf("label %q: character %q not allowed", l, c)
			}
		}
		labels[i] = l
	}
	out := strings.Join(labels, ".")
	if len(out) > maxNameLen {
		return "", fmt.Errorf("name longer than %d bytes", maxNameLen)
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// NormalizeName returns the lookup form of a host name: lower case, no
// trailing dot, IDNs as punycode. ok is false for names that cannot be a
// DNS name.
func NormalizeName(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 4*maxNameLen {
		return "", false
	}
	if !isASCII(s) {
		a, err := idna.Lookup.ToASCII(s)
		if err != nil {
			a, err = idna.Punycode.ToASCII(strings.ToLower(s))
			if err != nil {
				return "", false
			}
		}
		s = a
	}
	s = strings.ToLower(s)
	if len(s) > maxNameLen {
		return "", false
	}
	return s, true
}

// labelGlob matches text against pattern label by label; '*' matches any
// run of characters within one label. Both are lower-case ASCII.
func labelGlob(pattern string, text []byte) bool {
	for {
		pi := strings.IndexByte(pattern, '.')
		ti := indexByte(text, '.')
		if (pi < 0) != (ti < 0) {
			return false
		}
		if pi < 0 {
			return globBytes(pattern, text, false)
		}
		if !globBytes(pattern[:pi], text[:ti], false) {
			return false
		}
		pattern, text = pattern[pi+1:], text[ti+1:]
	}
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// globBytes is the classic single-backtrack wildcard match: '*' matches
// any run of bytes. fold compares ASCII case-insensitively.
func globBytes[T string | []byte](p string, t T, fold bool) bool {
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		if pi < len(p) && p[pi] == '*' {
			star, mark = pi, ti
			pi++
			continue
		}
		if pi < len(p) && (p[pi] == t[ti] || fold && lower(p[pi]) == lower(t[ti])) {
			pi++
			ti++
			continue
		}
		if star < 0 {
			return false
		}
		mark++
		pi, ti = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// GlobPattern is a wildcard ('*' = anything) or, with the "re:" prefix, an
// RE2 expression; used for HTTP paths, User-Agents and certificate subjects.
type GlobPattern struct {
	Raw  string
	fold bool
	re   *regexp.Regexp
	Pos  Pos
}

// ParseGlob parses a wildcard or "re:" pattern. fold makes the wildcard
// (and the regex, via (?i)) case-insensitive.
func ParseGlob(s string, fold bool) (GlobPattern, error) {
	g := GlobPattern{Raw: s, fold: fold}
	if s == "" {
		return g, fmt.Errorf("empty pattern")
	}
	if len(s) > maxPatternLen {
		return g, fmt.Errorf("pattern longer than %d bytes", maxPatternLen)
	}
	if rest, ok := strings.CutPrefix(s, "re:"); ok {
		if rest == "" {
			return g, fmt.Errorf("empty regex")
		}
		if fold {
			rest = "(?i)" + rest
		}
		re, err := regexp.Compile(rest)
		if err != nil {
			return g, fmt.Errorf("regex %q: %v", strings.TrimPrefix(rest, "(?i)"), err)
		}
		g.re = re
	}
	return g, nil
}

func (g *GlobPattern) match(s string) bool {
	if g.re != nil {
		return g.re.MatchString(s)
	}
	return globBytes(g.Raw, s, g.fold)
}
