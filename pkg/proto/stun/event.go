package stun

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// EventType is the "type" of STUN/TURN events.
const EventType = "stun"

// Event is the JSON form of one STUN or TURN message (event type "stun");
// see docs/events.md.
type Event struct {
	Method            string   `json:"method"`
	Class             string   `json:"class"`
	Classic           bool     `json:"classic,omitempty"`
	TransactionID     string   `json:"transaction_id"` // hex; 16 bytes for classic messages
	MappedAddress     string   `json:"mapped_address,omitempty"`
	XORMappedAddress  string   `json:"xor_mapped_address,omitempty"`
	XORRelayedAddress string   `json:"xor_relayed_address,omitempty"`
	XORPeerAddresses  []string `json:"xor_peer_addresses,omitempty"`
	OtherAddresses    []string `json:"other_addresses,omitempty"` // response-origin, other-, source-, changed-address
	Software          string   `json:"software,omitempty"`
	Username          string   `json:"username,omitempty"`
	Realm             string   `json:"realm,omitempty"`
	ErrorCode         int      `json:"error_code,omitempty"`
	Lifetime          uint32   `json:"lifetime,omitempty"`
	Integrity         bool     `json:"integrity,omitempty"`
	Attributes        string   `json:"attributes"` // attribute types in wire order, hex
	Error             string   `json:"error,omitempty"`
}

func text(b []byte) string {
	if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return string(b)
	}
	var s strings.Builder
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&s, `\x%02x`, c)
		} else {
			s.WriteByte(c)
		}
	}
	return s.String()
}

// NewEvent converts m. err is Parse's error, if any.
func NewEvent(m *Message, err error) Event {
	e := Event{
		Method: m.MethodString(), Class: m.ClassString(), Classic: m.Classic,
		TransactionID: hex.EncodeToString(m.TransactionID[:]), Software: text(m.Software),
		Username: text(m.Username), Realm: text(m.Realm), ErrorCode: m.ErrorCode, Lifetime: m.Lifetime,
		Integrity: m.Integrity,
	}
	if m.Classic {
		e.TransactionID = fmt.Sprintf("%08x", m.Cookie) + e.TransactionID
	}
	for _, a := range m.Addrs {
		s := a.Addr.String()
		switch a.Attr {
		case AttrMappedAddress:
			e.MappedAddress = s
		case AttrXORMappedAddress, attrXORMappedOld:
			e.XORMappedAddress = s
		case AttrXORRelayedAddress:
			e.XORRelayedAddress = s
		case AttrXORPeerAddress:
			e.XORPeerAddresses = append(e.XORPeerAddresses, s)
		default:
			e.OtherAddresses = append(e.OtherAddresses, a.Kind()+" "+s)
		}
	}
	var attrs []string
	for _, t := range m.Attrs {
		attrs = append(attrs, fmt.Sprintf("%04x", t))
	}
	e.Attributes = strings.Join(attrs, ",")
	if err != nil {
		e.Error = err.Error()
	}
	return e
}
