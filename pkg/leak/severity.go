package leak

import "github.com/phonehome/phonehome/pkg/audit"

// identifier classes for the severity model.
const (
	classStrong     = iota // permanent hardware/subscriber/person identifiers, location
	classResettable        // resettable or app-scoped identifiers
	classContext           // network context and opaque lab values
	classCredential        // secrets
)

func severityClass(identifier string) int {
	switch identifier {
	case "imei", "imeisv", "meid", "imsi", "iccid", "phone", "email", "gps", "mac", "bssid", "serial":
		return classStrong
	case "android_id", "advertising_id", "device_id", "ssid":
		return classResettable
	case "password", "basic_auth", "api_key":
		return classCredential
	}
	return classContext
}

// Severity rates a leak: a base per identifier class, raised for an
// unencrypted channel, a third-party destination and a foreign one, and
// capped per class. See docs/leaks.md for the table.
func Severity(identifier string, plaintext, thirdParty, abroad bool) audit.Severity {
	var base, plain, third, away, ceil int
	switch severityClass(identifier) {
	case classStrong:
		base, plain, third, away, ceil = 2, 2, 1, 1, 5
	case classResettable:
		base, plain, third, away, ceil = 1, 1, 1, 1, 4
	case classCredential:
		base, plain, third, away, ceil = 2, 3, 1, 0, 5
	default:
		base, plain, third, away, ceil = 1, 1, 1, 0, 3
	}
	s := base
	if plaintext {
		s += plain
	}
	if thirdParty {
		s += third
	}
	if abroad {
		s += away
	}
	return audit.Severity(min(s, ceil))
}
