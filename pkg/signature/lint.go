package signature

import (
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Level grades a lint issue.
type Level uint8

const (
	// LevelInfo is not a problem: a user pack overriding the embedded one.
	LevelInfo Level = iota
	// LevelWarning is a likely mistake: a redundant pattern, no examples.
	LevelWarning
	// LevelError fails lint: schema errors, duplicates, ties, failing examples.
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelInfo:
		return "info"
	case LevelWarning:
		return "warning"
	}
	return "error"
}

// Issue is one lint finding.
type Issue struct {
	Pos   Pos
	Level Level
	Msg   string
}

func (i Issue) String() string { return fmt.Sprintf("%s: %s: %s", i.Pos, i.Level, i.Msg) }

// Lint loads packs (like LoadPacks) and checks them: schema errors, then
// duplicate and tied patterns, patterns made redundant by a broader one of
// the same service, services without examples, and every example. It
// returns the compiled set when the packs compile, and the issues sorted
// by position.
func Lint(version string, packs ...Pack) (*Set, []Issue) {
	files, errs := readPacks(packs)
	var issues []Issue
	for _, e := range errs {
		issues = append(issues, errorIssue(e)...)
	}
	s, err := compile(version, files)
	if err != nil {
		issues = append(issues, errorIssue(err)...)
		sortIssues(issues)
		return nil, issues
	}
	issues = append(issues, s.issues...)
	for _, sv := range s.services {
		issues = append(issues, s.redundant(sv)...)
		if len(sv.MustMatch) == 0 || len(sv.MustNotMatch) == 0 {
			issues = append(issues, Issue{Pos: sv.Pos, Level: LevelWarning, Msg: fmt.Sprintf("service %q needs examples.match and examples.no_match", sv.ID)})
		}
	}
	for _, r := range s.TestExamples() {
		if !r.Pass {
			issues = append(issues, Issue{Pos: r.Pos, Level: LevelError, Msg: r.Detail})
		}
	}
	sortIssues(issues)
	return s, issues
}

func errorIssue(err error) []Issue {
	var out []Issue
	for _, e := range unjoin(err) {
		if se := Errors(e); len(se) > 0 {
			for _, x := range se {
				out = append(out, Issue{Pos: x.Pos, Level: LevelError, Msg: x.Msg})
			}
			continue
		}
		out = append(out, Issue{Level: LevelError, Msg: e.Error()})
	}
	return out
}

func sortIssues(is []Issue) {
	sort.SliceStable(is, func(i, j int) bool {
		a, b := is[i].Pos, is[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// redundant reports domain patterns and CIDRs of sv already covered by a
// broader pattern of sv, when no other service's pattern sits in between
// (then removing them changes nothing).
func (s *Set) redundant(sv *Service) []Issue {
	var out []Issue
	svc := s.serviceIndex(sv)
	for i := range sv.Domains {
		p := &sv.Domains[i]
		if p.Kind == Regex {
			if p.Name == "" {
				out = append(out, Issue{Pos: p.Pos, Level: LevelWarning, Msg: fmt.Sprintf("regex %s does not end in literal labels (like \\.example\\.com$): it is tried, after everything else, on every name nothing else matched", p.Raw)})
			}
			continue
		}
		for j := range sv.Domains {
			q := &sv.Domains[j]
			if i == j || q.Kind != Suffix || !coveredBy(p, q) {
				continue
			}
			if !s.otherBetween(svc, p, q.Name) {
				out = append(out, Issue{Pos: p.Pos, Level: LevelWarning, Msg: fmt.Sprintf("redundant pattern %s: %s at %s already covers it", p.Raw, q.Raw, q.Pos)})
				break
			}
		}
	}
	for i, c := range sv.CIDRs {
		for j, d := range sv.CIDRs {
			if i != j && d.Prefix.Bits() < c.Prefix.Bits() && d.Prefix.Contains(c.Prefix.Addr()) {
				out = append(out, Issue{Pos: c.Pos, Level: LevelWarning, Msg: fmt.Sprintf("redundant CIDR %s: %s at %s contains it", c.Prefix, d.Prefix, d.Pos)})
				break
			}
		}
	}
	return out
}

func (s *Set) serviceIndex(sv *Service) int32 {
	for i, x := range s.services {
		if x == sv {
			return int32(i)
		}
	}
	return -1
}

// coveredBy reports whether suffix pattern q matches every name p does.
func coveredBy(p, q *DomainPattern) bool {
	if p.Kind == Suffix && p.Name == q.Name {
		return false // the same pattern: a duplicate, reported elsewhere
	}
	return p.Name == q.Name || strings.HasSuffix(p.Name, "."+q.Name)
}

// otherBetween reports whether another service has a domain pattern at a
// name from p.Name up to (excluding) base, which p would shadow.
func (s *Set) otherBetween(svc int32, p *DomainPattern, base string) bool {
	other := func(r int32) bool { return r >= 0 && s.rules[r].svc != svc }
	for name := p.Name; name != base; {
		if n := s.dom[name]; n != nil {
			if other(n.exact) || other(n.suffix) {
				return true
			}
			for _, g := range n.globs {
				if other(g.rule) {
					return true
				}
			}
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return false
}

// ExampleResult is the outcome of one example of one service.
type ExampleResult struct {
	Service string
	Example string
	Want    bool // true for examples.match
	Got     Match
	Matched bool
	Pass    bool
	Detail  string
	Pos     Pos
}

// TestExamples runs every service's examples against the whole set: a
// match example must be attributed to that service (not shadowed by
// another), a no_match example must not be.
func (s *Set) TestExamples() []ExampleResult {
	var out []ExampleResult
	for _, sv := range s.services {
		run := func(ex StringPattern, want bool) {
			r := ExampleResult{Service: sv.ID, Example: ex.Value, Want: want, Pos: ex.Pos}
			q, err := ParseQuery(ex.Value)
			if err != nil {
				r.Detail = fmt.Sprintf("example %q: %v", ex.Value, err)
				out = append(out, r)
				return
			}
			r.Got, r.Matched = s.Match(q)
			hit := r.Matched && r.Got.SignatureID == sv.ID
			r.Pass = hit == want
			switch {
			case r.Pass:
			case want && !r.Matched:
				r.Detail = fmt.Sprintf("example %q should match %q but matches nothing", ex.Value, sv.ID)
			case want:
				r.Detail = fmt.Sprintf("example %q should match %q but %q wins (%s)", ex.Value, sv.ID, r.Got.SignatureID, r.Got.MatchedBy)
			default:
				r.Detail = fmt.Sprintf("example %q should not match %q but does (%s)", ex.Value, sv.ID, r.Got.MatchedBy)
			}
			out = append(out, r)
		}
		for _, ex := range sv.MustMatch {
			run(ex, true)
		}
		for _, ex := range sv.MustNotMatch {
			run(ex, false)
		}
	}
	return out
}

// ParseQuery turns an example or a command-line argument into a Query:
//
//	api.example.com               a host name
//	192.0.2.1, 2001:db8::1        an IP address
//	AS13335                       an ASN
//	http://host/path?q            HTTP host and path (https:// too)
//	ua:Mozilla/5.0 ...            a User-Agent
//	cert:CN=*.example.com         a certificate subject
//	ja3:<md5>, ja4:<fingerprint>  TLS client fingerprints
//	port:udp/8801                 a port (with optional transport)
//
// Several may be joined with " + ", e.g. "port:udp/8801 + 170.114.1.1".
func ParseQuery(s string) (Query, error) {
	var q Query
	for _, part := range strings.Split(s, " + ") {
		if err := q.add(strings.TrimSpace(part)); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

func (q *Query) add(s string) error {
	k, v, hasPrefix := strings.Cut(s, ":")
	if hasPrefix {
		switch strings.ToLower(k) {
		case "ua":
			q.UserAgent = v
			return nil
		case "cert":
			q.CertSubject = v
			return nil
		case "ja3":
			q.JA3 = v
			return nil
		case "ja4":
			q.JA4 = v
			return nil
		case "port":
			p, err := parsePort(v)
			if err != nil {
				return err
			}
			q.Port, q.Transport = p.Lo, p.Transport
			return nil
		case "http", "https":
			u, err := url.Parse(s)
			if err != nil || u.Host == "" {
				return fmt.Errorf("bad URL %q", s)
			}
			q.HTTPHost = u.Host
			q.HTTPPath = u.EscapedPath()
			if q.HTTPPath == "" {
				q.HTTPPath = "/"
			}
			if u.RawQuery != "" {
				q.HTTPPath += "?" + u.RawQuery
			}
			return nil
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		q.IP = a
		return nil
	}
	if len(s) > 2 && (s[:2] == "AS" || s[:2] == "as") {
		if n, err := strconv.ParseUint(s[2:], 10, 32); err == nil {
			q.ASN = uint32(n)
			return nil
		}
	}
	if s == "" {
		return fmt.Errorf("empty query")
	}
	if _, ok := NormalizeName(s); !ok {
		return fmt.Errorf("%q is not a host name, address, ASN or prefixed query", s)
	}
	q.Domain = s
	return nil
}
