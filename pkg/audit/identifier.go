package audit

// IdentifierClass groups identifiers for the severity model (pkg/leak
// Severity, docs/leaks.md).
type IdentifierClass int

// The identifier classes.
const (
	// ClassContext: network context and opaque lab values (the default).
	ClassContext IdentifierClass = iota
	// ClassStrong: permanent hardware, subscriber or person identifiers, location.
	ClassStrong
	// ClassResettable: resettable or app-scoped identifiers.
	ClassResettable
	// ClassCredential: secrets.
	ClassCredential
	// ClassBehaviour: what the user did (pages, searches, app use;
	// behaviour.go), not who they are.
	ClassBehaviour
)

// MaskStyle says how a report hides an identifier's value (pkg/leak Mask).
type MaskStyle int

// The mask styles.
const (
	// MaskPartial shows the first and last few letters and digits
	// (coordinates keep one decimal).
	MaskPartial MaskStyle = iota
	// MaskSecret hides the whole value, and every spelling of it.
	MaskSecret
	// MaskUserSecret shows the user part of "user:secret" partly and
	// hides the secret.
	MaskUserSecret
	// MaskEmail keeps the first and last letter of the local part and the
	// domain.
	MaskEmail
	// MaskMAC keeps the vendor prefix.
	MaskMAC
	// MaskCoords keeps one decimal of each coordinate.
	MaskCoords
	// MaskURL keeps a URL's scheme and public suffix.
	MaskURL
	// MaskEvent keeps an "event: target" value's event name and masks
	// the target partly.
	MaskEvent
)

// Identifier describes one identifier name leaks are reported under, or a
// key class that a key-name file can map keys to.
type Identifier struct {
	Name  string
	Class IdentifierClass
	Mask  MaskStyle
	// Key: a key-name file (pkg/leak keys.yaml) may map keys to it; each
	// such class has a validator in pkg/leak.
	Key bool
	// Reported: leaks are reported under this name. The gps_lat and
	// gps_lon key classes are reported together as gps.
	Reported bool
}

// identifiers is the one identifier table, in documentation order. A new
// identifier is one line here plus its detector in pkg/leak.
var identifiers = []Identifier{
	{Name: "imei", Class: ClassStrong, Key: true, Reported: true},
	{Name: "imeisv", Class: ClassStrong, Key: true, Reported: true},
	{Name: "meid", Class: ClassStrong, Key: true, Reported: true},
	{Name: "imsi", Class: ClassStrong, Key: true, Reported: true},
	{Name: "iccid", Class: ClassStrong, Key: true, Reported: true},
	{Name: "phone", Class: ClassStrong, Key: true, Reported: true},
	{Name: "mac", Class: ClassStrong, Mask: MaskMAC, Key: true, Reported: true},
	{Name: "android_id", Class: ClassResettable, Key: true, Reported: true},
	{Name: "advertising_id", Class: ClassResettable, Key: true, Reported: true},
	{Name: "device_id", Class: ClassResettable, Key: true, Reported: true},
	{Name: "email", Class: ClassStrong, Mask: MaskEmail, Key: true, Reported: true},
	{Name: "gps_lat", Class: ClassContext, Mask: MaskPartial, Key: true},
	{Name: "gps_lon", Class: ClassContext, Mask: MaskPartial, Key: true},
	{Name: "gps", Class: ClassStrong, Mask: MaskCoords, Key: true, Reported: true},
	{Name: "ssid", Class: ClassResettable, Key: true, Reported: true},
	{Name: "bssid", Class: ClassStrong, Mask: MaskMAC, Key: true, Reported: true},
	{Name: "serial", Class: ClassStrong, Key: true, Reported: true},
	{Name: "lan_ip", Class: ClassContext, Key: true, Reported: true},
	{Name: "hostname", Class: ClassContext, Key: true, Reported: true},
	{Name: "password", Class: ClassCredential, Mask: MaskSecret, Key: true, Reported: true},
	{Name: "api_key", Class: ClassCredential, Mask: MaskSecret, Key: true, Reported: true},
	{Name: "session_token", Class: ClassCredential, Mask: MaskSecret, Key: true, Reported: true},
	{Name: "jid", Class: ClassStrong, Key: true, Reported: true},
	// Behavioural classes (pkg/leak behaviour.go): what the user did.
	{Name: BrowsingHistory, Class: ClassBehaviour, Mask: MaskURL, Reported: true},
	{Name: SearchQuery, Class: ClassBehaviour, Reported: true},
	{Name: AppUsage, Class: ClassBehaviour, Mask: MaskEvent, Reported: true},
	{Name: "basic_auth", Class: ClassCredential, Mask: MaskUserSecret, Reported: true},
}

var identifierIndex = func() map[string]Identifier {
	m := make(map[string]Identifier, len(identifiers))
	for _, id := range identifiers {
		m[id.Name] = id
	}
	return m
}()

// Identifiers returns the identifier table in documentation order.
func Identifiers() []Identifier { return append([]Identifier(nil), identifiers...) }

// LookupIdentifier finds an identifier by name. An unknown name (a custom
// value from a devices file) is ok false, with the defaults: context
// class, partial mask.
func LookupIdentifier(name string) (Identifier, bool) {
	id, ok := identifierIndex[name]
	if !ok {
		return Identifier{Name: name}, false
	}
	return id, true
}

// ReportedIdentifiers are the names leaks are reported under, in
// documentation order.
func ReportedIdentifiers() []string {
	var out []string
	for _, id := range identifiers {
		if id.Reported {
			out = append(out, id.Name)
		}
	}
	return out
}

// KeyClasses are the identifier classes a key-name file may name, in
// documentation order.
func KeyClasses() []string {
	var out []string
	for _, id := range identifiers {
		if id.Key {
			out = append(out, id.Name)
		}
	}
	return out
}
