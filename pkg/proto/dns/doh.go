package dns

import (
	"encoding/base64"
	"strings"
)

// DNS over HTTPS (RFC 8484), as the HTTP/1 and HTTP/2 decoders report it.

// MediaDoH is the DNS-over-HTTPS media type.
const MediaDoH = "application/dns-message"

// FindingDoH is the kind of the finding raised on a flow that carried DNS
// over HTTPS: its lookups bypass the resolver the lab hands out.
const FindingDoH = "dns-over-https"

// MaxDoHMessage caps the DNS messages taken from a DoH request or body
// (RFC 8484 messages are at most 65,535 bytes).
const MaxDoHMessage = 65535

// DoHEvent is a DNS message carried by DNS over HTTPS, emitted as a "dns"
// event (variant "doh"); Message is the parsed message for the engine
// (its DoH names), not written to JSON.
type DoHEvent struct {
	Event
	Message *Message `json:"-"`
}

// DoHQuery decodes the value of a GET's dns query parameter (base64url,
// padding tolerated).
func DoHQuery(value string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(value, "="))
	if err != nil || len(b) > MaxDoHMessage {
		return nil, false
	}
	return b, true
}

// IsDoHMedia reports whether a Content-Type header names MediaDoH
// (parameters and case ignored).
func IsDoHMedia(contentType string) bool {
	ct := strings.TrimLeft(contentType, " \t")
	if len(ct) < len(MediaDoH) || !strings.EqualFold(ct[:len(MediaDoH)], MediaDoH) {
		return false
	}
	rest := strings.TrimLeft(ct[len(MediaDoH):], " \t")
	return rest == "" || rest[0] == ';'
}
