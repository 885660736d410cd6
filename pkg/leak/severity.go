package leak

import "github.com/phonehome/phonehome/pkg/audit"

// Exposure says where a leaked value went and how.
type Exposure struct {
	Plaintext  bool // readable on the wire (HTTP, MQTT, DNS, home-made encryption...)
	Local      bool // stayed on the lab network: LAN, multicast, broadcast
	ThirdParty bool // a tracker or other party that is not the device's maker
	Abroad     bool // a server outside --home-country
	// Private: behavioural data sent with a private-browsing flag
	// (incognito=true); it raises behavioural classes by one, and only
	// then can they reach critical.
	Private bool
}

// Severity rates a leak by what was sent and where it went: a base per
// identifier class, raised for an unencrypted channel, a third-party
// destination and a foreign one, capped per class. A value that never left
// the lab network (mDNS announcing a MAC, an e-mail to a hub on the LAN) is
// rated below anything sent to the Internet: only a readable channel raises
// it, and never above low (medium for credentials). See docs/leaks.md.
func Severity(identifier string, e Exposure) audit.Severity {
	id, _ := audit.LookupIdentifier(identifier)
	class := id.Class
	if e.Local {
		var base, plain, ceil int
		switch class {
		case audit.ClassStrong, audit.ClassBehaviour:
			base, plain, ceil = 1, 1, 2
		case audit.ClassCredential:
			base, plain, ceil = 2, 1, 3
		default:
			base, plain, ceil = 1, 0, 1
		}
		s := base
		if e.Plaintext {
			s += plain
		}
		return audit.Severity(min(s, ceil))
	}
	var base, plain, third, away, ceil int
	switch class {
	case audit.ClassStrong:
		base, plain, third, away, ceil = 2, 2, 1, 1, 5
	case audit.ClassResettable:
		base, plain, third, away, ceil = 1, 1, 1, 1, 4
	case audit.ClassCredential:
		base, plain, third, away, ceil = 2, 3, 1, 0, 5
	case audit.ClassBehaviour:
		base, plain, third, away, ceil = 2, 1, 1, 1, 4
		if e.Private {
			base, ceil = 3, 5
		}
	default:
		base, plain, third, away, ceil = 1, 1, 1, 0, 3
	}
	s := base
	if e.Plaintext {
		s += plain
	}
	if e.ThirdParty {
		s += third
	}
	if e.Abroad {
		s += away
	}
	return audit.Severity(min(s, ceil))
}
