package signature

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// SchemaVersion is the only value of the top-level `schema:` key accepted.
const SchemaVersion = 1

// ErrInvalid is wrapped by every load error (schema, syntax, bad pattern).
var ErrInvalid = errors.New("signature: invalid pack")

// Categories lists the accepted service categories.
var categories = []string{
	"telemetry", "analytics", "advertising", "crash-reporting", "push", "cloud",
	"update", "account", "social", "cdn", "voip-media", "location", "dns-resolver", "other",
}

// Categories returns the accepted service categories, in documentation order.
func Categories() []string { return append([]string(nil), categories...) }

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Pos is a position in a pack file; Line and Col are 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is one problem found while loading a pack file. Its text reads
// "file:line:col: message" like a compiler diagnostic.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// Vendor is the company behind one or more services.
type Vendor struct {
	ID      string
	Name    string
	Country string // ISO 3166-1 alpha-2 of the headquarters
	Website string
	Pos     Pos
}

// Service is one signature: a vendor's service with its matchers.
type Service struct {
	ID          string
	Name        string
	Category    string
	Description string
	Severity    string // hint: "", info, low, medium, high, critical
	References  []string
	Vendor      *Vendor
	Pos         Pos
	File        string
	Layer       int // 0 = embedded pack; 1.. = user directories in order

	Domains      []DomainPattern
	CIDRs        []CIDRPattern
	ASNs         []ASNPattern
	Ports        []PortPattern
	JA3          []StringPattern
	JA4          []StringPattern
	CertSubjects []GlobPattern
	HTTP         []HTTPRule
	MustMatch    []StringPattern
	MustNotMatch []StringPattern
}

// StringPattern is a literal value with its position.
type StringPattern struct {
	Value string
	Pos   Pos
}

// CIDRPattern is an IP prefix (a bare address is a /32 or /128).
type CIDRPattern struct {
	Prefix netip.Prefix
	Pos    Pos
}

// ASNPattern is an autonomous system number.
type ASNPattern struct {
	ASN uint32
	Pos Pos
}

// PortPattern is a port range on one transport ("" = any).
type PortPattern struct {
	Transport string
	Lo, Hi    uint16
	Pos       Pos
}

func (p PortPattern) String() string {
	s := strconv.Itoa(int(p.Lo))
	if p.Hi != p.Lo {
		s += "-" + strconv.Itoa(int(p.Hi))
	}
	if p.Transport != "" {
		s = p.Transport + "/" + s
	}
	return s
}

// HTTPRule matches an HTTP request; every field given must match.
type HTTPRule struct {
	Host      *DomainPattern
	Path      *GlobPattern // against the path without its query unless the pattern has '?'
	UserAgent *GlobPattern
	Pos       Pos
}

func (r HTTPRule) String() string {
	var parts []string
	if r.Host != nil {
		parts = append(parts, "host="+r.Host.Raw)
	}
	if r.Path != nil {
		parts = append(parts, "path="+r.Path.Raw)
	}
	if r.UserAgent != nil {
		parts = append(parts, "ua="+r.UserAgent.Raw)
	}
	return strings.Join(parts, ",")
}

// specificity of an HTTP rule: more constrained rules win.
func (r HTTPRule) specificity() int {
	n := 0
	if r.Host != nil {
		n += 1 + r.Host.specificity()
	}
	if r.Path != nil {
		n += 2 + len(strings.ReplaceAll(r.Path.Raw, "*", ""))
	}
	if r.UserAgent != nil {
		n += 1 + len(strings.ReplaceAll(r.UserAgent.Raw, "*", ""))
	}
	return n
}

func validSeverity(s string) bool {
	sev, err := audit.ParseSeverity(s)
	return err == nil && sev != audit.None
}

func validCategory(s string) bool {
	for _, c := range categories {
		if c == s {
			return true
		}
	}
	return false
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// parsePort reads "443", "tcp/443", "udp/8801-8810".
func parsePort(s string) (PortPattern, error) {
	var p PortPattern
	if i := strings.IndexByte(s, '/'); i >= 0 {
		p.Transport = strings.ToLower(s[:i])
		if p.Transport != "tcp" && p.Transport != "udp" {
			return p, fmt.Errorf("transport %q: want tcp or udp", s[:i])
		}
		s = s[i+1:]
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || a == 0 {
		return p, fmt.Errorf("port %q: want 1-65535", lo)
	}
	b := a
	if isRange {
		b, err = strconv.ParseUint(hi, 10, 16)
		if err != nil || b < a {
			return p, fmt.Errorf("port range %q: want LOW-HIGH within 1-65535", s)
		}
	}
	p.Lo, p.Hi = uint16(a), uint16(b)
	return p, nil
}

// parseASN reads 13335, "13335" or "AS13335".
func parseASN(s string) (uint32, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "AS"), "as")
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("ASN %q: want a number like AS13335", s)
	}
	return uint32(n), nil
}

// parseCIDR reads "10.0.0.0/8", "2001:db8::/32" or a bare address. Host
// bits must be zero so that a typo does not silently widen a range.
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("CIDR %q: %v", s, err)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("CIDR %q: zones are not allowed", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("CIDR %q: %v", s, err)
	}
	if p.Addr().Is4In6() {
		return p, fmt.Errorf("CIDR %q: write IPv4-mapped ranges as IPv4", s)
	}
	if p.Masked() != p {
		return p, fmt.Errorf("CIDR %q: host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}
