package signature

import (
	"net/netip"
	"strings"
	"unsafe"
)

// MatchDomain attributes a host name (any case, optional trailing dot, IDN
// or punycode). It is the hot path: ASCII names do not allocate, except
// names below a regex pattern's literal suffix (one copy for the regex).
//
// Precedence: an exact name beats a glob, which beats a suffix, at the same
// depth; a deeper pattern beats a shallower one. A regex ending in literal
// labels ("...\.amazonaws\.com$") ranks like a glob attached there; other
// regexes are consulted only when no other domain pattern matched.
func (s *Set) MatchDomain(name string) (Match, bool) {
	r := s.lookupDomain(name)
	if r < 0 {
		return Match{}, false
	}
	return s.result(r), true
}

func (s *Set) result(r int32) Match {
	ru := &s.rules[r]
	m := s.results[ru.svc]
	m.MatchedBy = ru.matchedBy
	return m
}

func (s *Set) lookupDomain(name string) int32 {
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if name == "" || len(name) > maxNameLen {
		if len(name) > maxNameLen && !isASCII(name) {
			return s.lookupIDN(name)
		}
		return -1
	}
	b := unsafe.Slice(unsafe.StringData(name), len(name)) // read-only view
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x80 {
			return s.lookupIDN(name)
		}
		if c >= 'A' && c <= 'Z' {
			return s.lookupUpper(b, i)
		}
	}
	return s.lookupASCII(b)
}

// lookupUpper lower-cases b (which has an upper-case letter at i) into a
// stack buffer, kept out of lookupDomain so that only this path zeroes it.
func (s *Set) lookupUpper(b []byte, i int) int32 {
	var buf [maxNameLen]byte
	n := copy(buf[:], b)
	for j := i; j < n; j++ {
		buf[j] = lower(buf[j])
		if buf[j] >= 0x80 {
			return s.lookupIDN(string(b))
		}
	}
	return s.lookupASCII(buf[:n])
}

func (s *Set) lookupIDN(name string) int32 {
	n, ok := NormalizeName(name)
	if !ok || !isASCII(n) {
		return -1
	}
	return s.lookupASCII([]byte(n))
}

// lookupASCII walks the labels of a lower-case name from the right. b must
// not be retained.
func (s *Set) lookupASCII(b []byte) int32 {
	best := int32(-1)
	var bestRule *rule
	take := func(r int32) {
		if r >= 0 && s.rules[r].beats(bestRule) {
			best, bestRule = r, &s.rules[r]
		}
	}
	end := len(b)
	for end > 0 {
		j := end - 1
		for j >= 0 && b[j] != '.' {
			j--
		}
		// b[j+1:] is the current suffix; j < 0 means the whole name.
		n, ok := s.dom[string(b[j+1:])]
		if !ok {
			break
		}
		take(n.suffix)
		if len(n.regexes) > 0 {
			name := string(b) // regexp would make b escape; pay only here
			for i := range n.regexes {
				if n.regexes[i].p.re.MatchString(name) {
					take(n.regexes[i].rule)
				}
			}
		}
		if j < 0 {
			take(n.exact)
			break
		}
		for i := range n.globs {
			if labelGlob(n.globs[i].left, b[:j]) {
				take(n.globs[i].rule)
			}
		}
		if !n.children {
			break
		}
		end = j
	}
	if best < 0 && len(s.regexes) > 0 {
		name := string(b)
		for i := range s.regexes {
			if s.regexes[i].p.re.MatchString(name) {
				take(s.regexes[i].rule)
			}
		}
	}
	return best
}

// Match attributes a destination using every field of q that is set and
// returns the most specific match. Matcher kinds rank, from strongest:
// http (host/path/User-Agent rules), domain (Domain, else HTTPHost),
// certificate subject, JA4/JA3, CIDR (longest prefix), ASN, port. Within a
// kind the more specific pattern wins, then a user pack over the embedded
// one.
func (s *Set) Match(q Query) (Match, bool) {
	best := int32(-1)
	var bestRule *rule
	take := func(r int32) {
		if r >= 0 && s.rules[r].beats(bestRule) {
			best, bestRule = r, &s.rules[r]
		}
	}
	host := q.Domain
	if host == "" {
		host = q.HTTPHost
	}
	if host != "" {
		take(s.lookupDomain(host))
	}
	if len(s.http) > 0 && (q.HTTPHost != "" || q.HTTPPath != "" || q.UserAgent != "") {
		h := q.HTTPHost
		if h == "" {
			h = q.Domain
		}
		var hostName string
		path := q.HTTPPath
		pathNoQuery, _, _ := strings.Cut(path, "?")
		for i := range s.http {
			r := s.http[i].r
			if r.Host != nil {
				if hostName == "" {
					hostName, _ = NormalizeName(stripPort(h))
				}
				if hostName == "" || !r.Host.matchName(hostName) {
					continue
				}
			}
			if r.Path != nil {
				p := pathNoQuery
				if strings.Contains(r.Path.Raw, "?") || r.Path.re != nil {
					p = path
				}
				if path == "" || !r.Path.match(p) {
					continue
				}
			}
			if r.UserAgent != nil && (q.UserAgent == "" || !r.UserAgent.match(q.UserAgent)) {
				continue
			}
			take(s.http[i].rule)
		}
	}
	if q.CertSubject != "" {
		for i := range s.certs {
			if s.certs[i].g.match(q.CertSubject) {
				take(s.certs[i].rule)
			}
		}
	}
	if q.JA4 != "" {
		if r, ok := s.ja4[q.JA4]; ok {
			take(r)
		}
	}
	if q.JA3 != "" {
		if r, ok := s.ja3[strings.ToLower(q.JA3)]; ok {
			take(r)
		}
	}
	if q.IP.IsValid() {
		take(s.lookupIP(q.IP))
	}
	if q.ASN != 0 {
		if r, ok := s.asn[q.ASN]; ok {
			take(r)
		}
	}
	if q.Port != 0 {
		t := strings.ToLower(q.Transport)
		for i := range s.ports {
			p := &s.ports[i]
			if q.Port >= p.lo && q.Port <= p.hi && (p.transport == "" || p.transport == t) {
				take(p.rule)
			}
		}
	}
	if best < 0 {
		return Match{}, false
	}
	return s.result(best), true
}

// MatchIP attributes an address by the longest CIDR that contains it.
func (s *Set) MatchIP(a netip.Addr) (Match, bool) {
	r := s.lookupIP(a)
	if r < 0 {
		return Match{}, false
	}
	return s.result(r), true
}

func (s *Set) lookupIP(a netip.Addr) int32 {
	a = a.Unmap()
	n := s.v4
	if a.Is6() {
		n = s.v6
	}
	best := int32(-1)
	b := a.As16()
	off := 0
	if a.Is4() {
		off = 12
	}
	for i := 0; n != nil; i++ {
		if n.rule >= 0 {
			best = n.rule
		}
		if off*8+i >= 128 {
			break
		}
		k := off*8 + i
		n = n.child[b[k/8]>>(7-uint(k%8))&1]
	}
	return best
}

// matchName reports whether a normalised name matches this pattern alone.
func (d *DomainPattern) matchName(name string) bool {
	switch d.Kind {
	case Exact:
		return name == d.Name
	case Suffix:
		return name == d.Name || strings.HasSuffix(name, "."+d.Name)
	case Glob:
		left, ok := strings.CutSuffix(name, "."+d.Name)
		return ok && labelGlob(d.Left, []byte(left))
	case Regex:
		return d.re.MatchString(name)
	}
	return false
}

func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i > 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}
