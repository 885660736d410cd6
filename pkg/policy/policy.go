// Package policy is the CI gate: it loads policy files (YAML rules with
// file:line:col errors), evaluates them over an *audit.Report, applies
// suppressions from an ignore file against an injected clock, and records,
// loads and compares baselines of what an approved firmware does.
//
// It never writes output formats; pkg/cireport renders a Result.
package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// ErrInvalid is wrapped by every error about a policy, ignore or baseline
// file's content.
var ErrInvalid = errors.New("policy: invalid file")

// MaxFileSize caps policy and ignore files.
const MaxFileSize = 4 << 20

// Version is the only policy (and ignore file) schema version.
const Version = 1

// Pos is a position in a file; Line and Col are 1-based (0: unknown).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a file, at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors lists the *Error values inside err (joined or single).
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if pe, ok := e.(*Error); ok {
			out = append(out, pe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// Kind names what a rule checks; it is the rule's YAML key.
type Kind string

// Rule kinds.
const (
	AllowCountries           Kind = "allow_countries"
	DenyCountries            Kind = "deny_countries"
	AllowASNs                Kind = "allow_asns"
	DenyASNs                 Kind = "deny_asns"
	AllowDestinations        Kind = "allow_destinations"
	DenyDestinations         Kind = "deny_destinations"
	DenyCategories           Kind = "deny_categories"
	DenyIdentifiers          Kind = "deny_identifiers"
	DenyPlaintextIdentifiers Kind = "deny_plaintext_identifiers"
	DenyBehaviour            Kind = "deny_behaviour"
	MinTLSVersion            Kind = "min_tls_version"
	DenyChannels             Kind = "deny_channels"
	MaxBytesPerDestination   Kind = "max_bytes_per_destination"
	MaxBytesPerCountry       Kind = "max_bytes_per_country"
	FailOn                   Kind = "fail_on"
)

// Direction selects which bytes a budget counts.
type Direction string

// Budget directions.
const (
	Up   Direction = "up"   // device to server (default)
	Down Direction = "down" // server to device
	Both Direction = "both"
)

// Policy is a loaded policy file.
type Policy struct {
	File    string
	Version int
	Rules   []*Rule
}

// Rule is one check with its scope: Check is the kind-specific part.
type Rule struct {
	ID       string
	Message  string         // optional; shown with every violation
	Severity audit.Severity // default High
	Kind     Kind           // Check.Kind()
	Check    Check
	Pos      Pos      // of the rule's mapping
	Devices  []string // scope: device IDs, names, MACs, IPs or --devices ids; empty = all
}

// CountryField selects which country of a destination a country rule
// means (key "country" of a rule).
type CountryField string

// Country fields.
const (
	// Located is where the server is (geolocation; "anycast" for a
	// well-known anycast network). The default.
	Located CountryField = "located"
	// Registered is the country the address block is registered to.
	Registered CountryField = "registered"
)

// CountryLimit is one entry of max_bytes_per_country; Country "*" is every
// country without its own entry.
type CountryLimit struct {
	Country string
	Bytes   uint64
}

// Describe says in words what the rule checks (used when it has no message).
func (r *Rule) Describe() string { return r.Check.Describe() }

func asnList(a []uint32) string {
	var parts []string
	for _, n := range a {
		parts = append(parts, fmt.Sprintf("AS%d", n))
	}
	return strings.Join(parts, ", ")
}

// formatSize writes bytes with a binary unit when exact.
func formatSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// TLSVersion orders TLS versions: SSLv2 < SSLv3 < TLS 1.0 < ... < TLS 1.3.
type TLSVersion uint8

// TLS versions; QUIC counts as TLS 1.3.
const (
	TLSUnknown TLSVersion = iota
	SSL2
	SSL3
	TLS10
	TLS11
	TLS12
	TLS13
)

func (v TLSVersion) String() string {
	switch v {
	case SSL2:
		return "SSLv2"
	case SSL3:
		return "SSLv3"
	case TLS10:
		return "1.0"
	case TLS11:
		return "1.1"
	case TLS12:
		return "1.2"
	case TLS13:
		return "1.3"
	}
	return "unknown"
}

// ParseTLSVersion accepts "1.2", "TLS1.2", "tlsv1.2", "TLS 1.2", "SSLv3".
func ParseTLSVersion(s string) (TLSVersion, bool) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	t = strings.TrimPrefix(t, "tls")
	t = strings.TrimPrefix(t, "v")
	switch t {
	case "1.0", "1":
		return TLS10, true
	case "1.1":
		return TLS11, true
	case "1.2":
		return TLS12, true
	case "1.3":
		return TLS13, true
	case "sslv3", "ssl3", "ssl3.0":
		return SSL3, true
	case "sslv2", "ssl2", "ssl2.0":
		return SSL2, true
	}
	return TLSUnknown, false
}

// channelTLS maps a report channel to the TLS version protecting it
// (audit.ChannelInfo.TLS: QUIC is TLS 1.3, "STARTTLS TLS1.0" is TLS 1.0);
// ok is false for channels that are not TLS or whose version is unknown
// ("TLS", drafts).
func channelTLS(channel string) (TLSVersion, bool) {
	info, _ := audit.Channel(channel).Info()
	switch info.TLS {
	case audit.ChannelTLS13:
		return TLS13, true
	case audit.ChannelTLS12:
		return TLS12, true
	case audit.ChannelTLS11:
		return TLS11, true
	case audit.ChannelTLS10:
		return TLS10, true
	case audit.ChannelSSL3:
		return SSL3, true
	case audit.ChannelSSL2:
		return SSL2, true
	}
	return TLSUnknown, false
}

// knownChannel reports whether deny_channels can name c: a channel of
// audit's vocabulary or Cleartext.
func knownChannel(c string) bool {
	return strings.EqualFold(c, Cleartext) || audit.Channel(c).Known()
}

// knownChannels lists what deny_channels accepts, for lint messages.
func knownChannels() string {
	names := []string{Cleartext}
	for _, c := range audit.Channels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ") + `, "STARTTLS " + a TLS channel, a TLS channel or QUIC + " (decrypted)"`
}

// Cleartext is the pseudo-channel of deny_channels that stands for every
// channel audit.Channel.Plaintext calls readable (HTTP, MQTT, DNS, ...).
const Cleartext = "cleartext"

// InClear reports whether an identifier found on a channel was readable by
// anyone on the path: every channel that is not encrypted. This is wider
// than audit.Channel.Plaintext: it includes compressed and unrecognised
// binary payloads, because phonehome found the identifier in them, so
// anyone else can too.
func InClear(channel string) bool {
	c := audit.Channel(channel)
	return c != "" && c != audit.ChannelMixed && !c.Encrypted()
}

// leakInClear: a leak is in clear when its channel is, or when it was found
// in a handshake field sent before encryption starts (SNI, DNS).
func leakInClear(l *audit.Leak) bool {
	if InClear(l.Dest.Channel) {
		return true
	}
	loc := strings.ToLower(l.Location)
	return strings.HasPrefix(loc, "dns.") || strings.HasPrefix(loc, "tls.") || strings.HasPrefix(loc, "quic.") ||
		strings.Contains(loc, "sni")
}

// knownIdentifiers are the identifier types the leak detectors report.
var knownIdentifiers = audit.ReportedIdentifiers()
