package signature

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Query is everything known about one destination. Empty fields are
// ignored; Match tries every matcher the query has input for.
type Query struct {
	Domain      string
	IP          netip.Addr
	ASN         uint32
	Port        uint16
	Transport   string // "tcp" or "udp"
	JA3         string
	JA4         string
	CertSubject string
	HTTPHost    string
	HTTPPath    string
	UserAgent   string
}

// Match is the attribution of a destination to one signature.
type Match struct {
	SignatureID   string
	Vendor        string
	VendorCountry string
	Service       string
	Category      string
	Description   string
	Severity      string // hint, may be empty
	MatchedBy     string // "domain:*.example.com", "cidr:...", "asn:...", "http:...", ...
}

// Ranks of matcher kinds: a higher rank wins over any specificity of a
// lower one. Within a rank, higher specificity wins, then the later layer
// (user packs over the embedded pack).
const (
	rankPort = iota + 1
	rankASN
	rankCIDR
	rankJA
	rankCert
	rankDomain
	rankHTTP
)

// rule is one compiled pattern pointing at its service.
type rule struct {
	svc       int32
	layer     int32
	rank      int32
	spec      int32
	matchedBy string
	pos       Pos
}

func (r *rule) beats(o *rule) bool {
	if o == nil {
		return true
	}
	if r.rank != o.rank {
		return r.rank > o.rank
	}
	if r.spec != o.spec {
		return r.spec > o.spec
	}
	return r.layer > o.layer
}

type domNode struct {
	exact, suffix int32 // rule index or -1
	globs         []domGlob
	regexes       []domRegex // regexes whose literal suffix ends here
	children      bool       // some pattern is deeper than this node
}

type domGlob struct {
	left string
	rule int32
}

type ipNode struct {
	child [2]*ipNode
	rule  int32
}

type portRule struct {
	transport string
	lo, hi    uint16
	rule      int32
}

type globRule struct {
	g    *GlobPattern
	rule int32
}

type domRegex struct {
	p    *DomainPattern
	rule int32
}

type httpRule struct {
	r    *HTTPRule
	rule int32
}

// Set is a compiled, immutable signature set, safe for concurrent use.
type Set struct {
	version  string
	services []*Service
	results  []Match // per service, MatchedBy empty
	rules    []rule
	vendors  int
	nDomains int

	dom     map[string]*domNode
	regexes []domRegex
	v4, v6  *ipNode
	asn     map[uint32]int32
	ja3     map[string]int32
	ja4     map[string]int32
	certs   []globRule
	http    []httpRule
	ports   []portRule

	issues []Issue // found while compiling: duplicates, ties, overrides
}

// Version is the pack version, with the user directories that were added.
func (s *Set) Version() string { return s.version }

// Stats counts distinct vendors, services and domain patterns.
func (s *Set) Stats() (vendors, services, domainPatterns int) {
	return s.vendors, len(s.services), s.nDomains
}

// Services returns the compiled services sorted by ID; callers must not
// modify them.
func (s *Set) Services() []*Service {
	out := append([]*Service(nil), s.services...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Service returns the service with the given signature ID.
func (s *Set) Service(id string) (*Service, bool) {
	for _, sv := range s.services {
		if sv.ID == id {
			return sv, true
		}
	}
	return nil, false
}

// compile builds a Set from decoded files, given in layer order. A service
// whose ID is defined again in a later layer is replaced by it.
func compile(version string, files []*File) (*Set, error) {
	s := &Set{
		version: version,
		dom:     map[string]*domNode{},
		asn:     map[uint32]int32{},
		ja3:     map[string]int32{},
		ja4:     map[string]int32{},
	}
	var errs []error
	byID := map[string]*Service{}
	type layeredVendor struct {
		v     *Vendor
		layer int
	}
	vendors := map[string]layeredVendor{}
	var order []*Service
	for _, f := range files {
		if f.Vendor != nil {
			if prev, ok := vendors[f.Vendor.ID]; ok && prev.layer == f.Layer && (prev.v.Name != f.Vendor.Name || prev.v.Country != f.Vendor.Country) {
				errs = append(errs, &Error{Pos: f.Vendor.Pos, Msg: fmt.Sprintf("vendor %q already defined at %s with a different name or country", f.Vendor.ID, prev.v.Pos)})
			}
			vendors[f.Vendor.ID] = layeredVendor{f.Vendor, f.Layer}
		}
		for _, sv := range f.Services {
			if prev, ok := byID[sv.ID]; ok {
				if prev.Layer == sv.Layer {
					errs = append(errs, &Error{Pos: sv.Pos, Msg: fmt.Sprintf("service id %q already defined at %s", sv.ID, prev.Pos)})
					continue
				}
				s.issues = append(s.issues, Issue{Pos: sv.Pos, Level: LevelInfo, Msg: fmt.Sprintf("service %q overrides %s", sv.ID, prev.Pos)})
				for i := range order {
					if order[i] == prev {
						order[i] = sv
					}
				}
				byID[sv.ID] = sv
				continue
			}
			byID[sv.ID] = sv
			order = append(order, sv)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	s.services = order
	vset := map[string]bool{}
	for i, sv := range order {
		v := sv.Vendor
		if v == nil {
			v = &Vendor{}
		}
		vset[v.ID] = true
		s.results = append(s.results, Match{
			SignatureID: sv.ID, Vendor: v.Name, VendorCountry: v.Country, Service: sv.Name,
			Category: sv.Category, Description: sv.Description, Severity: sv.Severity,
		})
		s.add(int32(i), sv)
	}
	s.vendors = len(vset)
	return s, nil
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joined(errs)
}

type joined []error

func (j joined) Error() string {
	var b strings.Builder
	for i, e := range j {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (j joined) Unwrap() []error { return j }

func (s *Set) newRule(svc int32, sv *Service, rank, spec int, by string, pos Pos) int32 {
	s.rules = append(s.rules, rule{svc: svc, layer: int32(sv.Layer), rank: int32(rank), spec: int32(spec), matchedBy: by, pos: pos})
	return int32(len(s.rules) - 1)
}

// place stores rule r in *slot, resolving a collision with the rule
// already there: the same service twice is a duplicate, two services in
// one layer are a tie (first file wins), a later layer overrides.
func (s *Set) place(slot *int32, r int32, what string) {
	old := *slot
	if old < 0 {
		*slot = r
		return
	}
	nr, or := &s.rules[r], &s.rules[old]
	switch {
	case nr.svc == or.svc:
		s.issues = append(s.issues, Issue{Pos: nr.pos, Level: LevelError, Msg: fmt.Sprintf("duplicate pattern %s (first at %s)", what, or.pos)})
	case nr.layer > or.layer:
		s.issues = append(s.issues, Issue{Pos: nr.pos, Level: LevelInfo, Msg: fmt.Sprintf("%s overrides %q from %s", what, s.services[or.svc].ID, or.pos)})
		*slot = r
	default:
		s.issues = append(s.issues, Issue{Pos: nr.pos, Level: LevelError, Msg: fmt.Sprintf("tie: %s is also in %q at %s (that one wins)", what, s.services[or.svc].ID, or.pos)})
	}
}

func (s *Set) node(name string) *domNode {
	n := s.dom[name]
	if n == nil {
		n = &domNode{exact: -1, suffix: -1}
		s.dom[name] = n
		// Mark every ancestor so that lookups know to go deeper.
		for p := name; ; {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[i+1:]
			a := s.dom[p]
			if a == nil {
				a = &domNode{exact: -1, suffix: -1}
				s.dom[p] = a
			}
			if a.children {
				break
			}
			a.children = true
		}
	}
	return n
}

func (s *Set) add(svc int32, sv *Service) {
	for i := range sv.Domains {
		p := &sv.Domains[i]
		s.nDomains++
		by := "domain:" + p.Key()
		r := s.newRule(svc, sv, rankDomain, p.specificity(), by, p.Pos)
		switch p.Kind {
		case Exact:
			s.place(&s.node(p.Name).exact, r, by)
		case Suffix:
			s.place(&s.node(p.Name).suffix, r, by)
		case Glob:
			n := s.node(p.Name)
			n.children = true
			dup := false
			for j := range n.globs {
				if n.globs[j].left == p.Left {
					s.place(&n.globs[j].rule, r, by)
					dup = true
				}
			}
			if !dup {
				n.globs = append(n.globs, domGlob{left: p.Left, rule: r})
			}
		case Regex:
			if p.Name != "" {
				n := s.node(p.Name)
				n.children = true
				n.regexes = append(n.regexes, domRegex{p: p, rule: r})
			} else {
				s.regexes = append(s.regexes, domRegex{p: p, rule: r})
			}
		}
	}
	for i := range sv.CIDRs {
		c := &sv.CIDRs[i]
		by := "cidr:" + c.Prefix.String()
		r := s.newRule(svc, sv, rankCIDR, c.Prefix.Bits(), by, c.Pos)
		root := &s.v4
		if c.Prefix.Addr().Is6() {
			root = &s.v6
		}
		s.place(ipInsert(root, c.Prefix), r, by)
	}
	for _, a := range sv.ASNs {
		by := "asn:AS" + strconv.FormatUint(uint64(a.ASN), 10)
		r := s.newRule(svc, sv, rankASN, 0, by, a.Pos)
		slot, ok := s.asn[a.ASN]
		if !ok {
			slot = -1
		}
		s.place(&slot, r, by)
		s.asn[a.ASN] = slot
	}
	for _, p := range sv.JA3 {
		by := "ja3:" + p.Value
		r := s.newRule(svc, sv, rankJA, 0, by, p.Pos)
		slot, ok := s.ja3[p.Value]
		if !ok {
			slot = -1
		}
		s.place(&slot, r, by)
		s.ja3[p.Value] = slot
	}
	for _, p := range sv.JA4 {
		by := "ja4:" + p.Value
		r := s.newRule(svc, sv, rankJA, 1, by, p.Pos)
		slot, ok := s.ja4[p.Value]
		if !ok {
			slot = -1
		}
		s.place(&slot, r, by)
		s.ja4[p.Value] = slot
	}
	for i := range sv.CertSubjects {
		g := &sv.CertSubjects[i]
		by := "cert:" + g.Raw
		s.certs = append(s.certs, globRule{g: g, rule: s.newRule(svc, sv, rankCert, len(strings.ReplaceAll(g.Raw, "*", "")), by, g.Pos)})
	}
	for i := range sv.HTTP {
		h := &sv.HTTP[i]
		by := "http:" + h.String()
		s.http = append(s.http, httpRule{r: h, rule: s.newRule(svc, sv, rankHTTP, h.specificity(), by, h.Pos)})
	}
	for _, p := range sv.Ports {
		by := "port:" + p.String()
		spec := 65536 - int(p.Hi-p.Lo)
		if p.Transport != "" {
			spec += 65536
		}
		s.ports = append(s.ports, portRule{transport: p.Transport, lo: p.Lo, hi: p.Hi, rule: s.newRule(svc, sv, rankPort, spec, by, p.Pos)})
	}
}

// ipInsert returns the rule slot of prefix p, creating trie nodes.
func ipInsert(root **ipNode, p netip.Prefix) *int32 {
	if *root == nil {
		*root = &ipNode{rule: -1}
	}
	n := *root
	b := p.Addr().AsSlice()
	for i := 0; i < p.Bits(); i++ {
		bit := b[i/8] >> (7 - uint(i%8)) & 1
		if n.child[bit] == nil {
			n.child[bit] = &ipNode{rule: -1}
		}
		n = n.child[bit]
	}
	return &n.rule
}
