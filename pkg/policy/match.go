package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// Pattern matches a destination: a host name ("api.example.com"), a
// suffix pattern ("*.example.com": example.com and every name below it),
// an IP address or a CIDR prefix.
type Pattern struct {
	Text   string
	host   string // exact name, lower case
	suffix string // "*." pattern without the "*."
	prefix netip.Prefix
}

// ParsePattern checks and compiles a destination pattern.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{Text: s}
	t := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if t == "" {
		return p, fmt.Errorf("empty destination pattern")
	}
	if a, err := netip.ParseAddr(t); err == nil {
		p.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return p, nil
	}
	if strings.Contains(t, "/") {
		pr, err := netip.ParsePrefix(t)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR prefix like 10.0.0.0/8", s)
		}
		p.prefix = pr.Masked()
		return p, nil
	}
	name := t
	if strings.HasPrefix(t, "*.") {
		name = t[2:]
	}
	if !validHost(name) {
		return p, fmt.Errorf("%q is not a host name, *.suffix pattern, IP address or CIDR prefix", s)
	}
	if name != t {
		p.suffix = name
	} else {
		p.host = name
	}
	return p, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Match reports whether the destination's name or IP address matches.
func (p Pattern) Match(d audit.Dest) bool {
	if p.prefix.IsValid() {
		a, err := netip.ParseAddr(d.IP)
		return err == nil && p.prefix.Contains(a.Unmap()) || p.MatchName(d.Name)
	}
	return p.MatchName(d.Name)
}

// MatchName reports whether a host name matches (IP patterns match a name
// that is an address literal).
func (p Pattern) MatchName(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return false
	}
	switch {
	case p.prefix.IsValid():
		a, err := netip.ParseAddr(name)
		return err == nil && p.prefix.Contains(a.Unmap())
	case p.suffix != "":
		return name == p.suffix || strings.HasSuffix(name, "."+p.suffix)
	}
	return name == p.host
}

// matchDevice reports whether a scope entry names the device: its ID,
// name, MAC, one of its IPs or host names (case-insensitive), or an alias
// (a --devices id) whose value is one of those.
func matchDevice(entry string, d *audit.Device, aliases map[string]string) bool {
	if deviceIs(entry, d) {
		return true
	}
	if v, ok := aliases[strings.ToLower(entry)]; ok && deviceIs(v, d) {
		return true
	}
	return false
}

func deviceIs(s string, d *audit.Device) bool {
	eq := func(x string) bool { return x != "" && strings.EqualFold(s, x) }
	if eq(d.ID) || eq(d.Name) || eq(d.MAC) || eq(strings.TrimPrefix(d.ID, "mac:")) || eq(strings.TrimPrefix(d.ID, "ip:")) {
		return true
	}
	for _, ip := range d.IPs {
		if eq(ip) {
			return true
		}
	}
	for _, h := range d.Hostnames {
		if eq(h) {
			return true
		}
	}
	return false
}
