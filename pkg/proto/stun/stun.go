// Package stun decodes STUN (RFC 5389/8489) and TURN (RFC 8656) messages.
// Their address attributes matter for privacy: XOR-MAPPED-ADDRESS tells a
// device its public IP (and anyone watching sees it), XOR-RELAYED-ADDRESS
// and XOR-PEER-ADDRESS name media relays and call peers.
package stun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Errors returned (wrapped) by Parse.
var (
	ErrShort     = errors.New("stun: message truncated")
	ErrNotSTUN   = errors.New("stun: not a STUN message")
	ErrAttribute = errors.New("stun: malformed attribute")
)

// MagicCookie is the fixed value at bytes 4..8 of RFC 5389 messages.
const MagicCookie = 0x2112A442

// HeaderLen is the size of the STUN header.
const HeaderLen = 20

// maxAddrs bounds the decoded address attributes kept per message.
const maxAddrs = 32

// Attribute types decoded by this package.
const (
	AttrMappedAddress     = 0x0001
	AttrSourceAddress     = 0x0004 // RFC 3489
	AttrChangedAddress    = 0x0005 // RFC 3489
	AttrUsername          = 0x0006
	AttrMessageIntegrity  = 0x0008
	AttrErrorCode         = 0x0009
	AttrLifetime          = 0x000D
	AttrXORPeerAddress    = 0x0012
	AttrRealm             = 0x0014
	AttrNonce             = 0x0015
	AttrXORRelayedAddress = 0x0016
	AttrXORMappedAddress  = 0x0020
	AttrSoftware          = 0x8022
	AttrFingerprint       = 0x8028
	AttrResponseOrigin    = 0x802B
	AttrOtherAddress      = 0x802C
	attrXORMappedOld      = 0x8020 // pre-RFC 5389 drafts, still sent by some stacks
)

var attrNames = map[uint16]string{
	AttrMappedAddress: "mapped-address", AttrSourceAddress: "source-address",
	AttrChangedAddress: "changed-address", AttrXORPeerAddress: "xor-peer-address",
	AttrXORRelayedAddress: "xor-relayed-address", AttrXORMappedAddress: "xor-mapped-address",
	attrXORMappedOld: "xor-mapped-address", AttrResponseOrigin: "response-origin",
	AttrOtherAddress: "other-address",
}

// Addr is one decoded address attribute.
type Addr struct {
	Attr uint16
	Addr netip.AddrPort
}

// Kind names the attribute ("xor-mapped-address").
func (a Addr) Kind() string { return attrNames[a.Attr] }

// Message is a decoded STUN message.
type Message struct {
	Type   uint16 // method and class bits
	Method uint16
	Class  uint8 // 0 request, 1 indication, 2 success response, 3 error response
	Length uint16
	// Classic is true for RFC 3489 messages (no magic cookie).
	Classic bool
	// Cookie is bytes 4..8: MagicCookie, or in classic messages the first
	// 4 bytes of their 16-byte transaction id.
	Cookie        uint32
	TransactionID [12]byte
	Addrs         []Addr
	Software      []byte
	Username      []byte
	Realm         []byte
	ErrorCode     int
	ErrorReason   []byte
	Lifetime      uint32
	Integrity     bool // MESSAGE-INTEGRITY present
	Fingerprint   bool // FINGERPRINT present
	Attrs         []uint16
	Partial       bool
}

// Detect reports whether b is an RFC 5389 STUN message: top two bits zero,
// the magic cookie, and a length that is a multiple of 4 matching the
// datagram.
func Detect(b []byte) bool {
	return len(b) >= HeaderLen && b[0]&0xC0 == 0 && binary.BigEndian.Uint32(b[4:]) == MagicCookie &&
		int(binary.BigEndian.Uint16(b[2:]))+HeaderLen == len(b) && len(b)%4 == 0
}

// Parse decodes b into m. Messages without the magic cookie are accepted as
// RFC 3489 (Classic) when their length matches the datagram exactly.
func Parse(b []byte, m *Message) error {
	*m = Message{Addrs: m.Addrs[:0], Attrs: m.Attrs[:0]}
	if len(b) < HeaderLen {
		m.Partial = true
		return fmt.Errorf("stun: header: %w", ErrShort)
	}
	if b[0]&0xC0 != 0 {
		m.Partial = true
		return ErrNotSTUN
	}
	m.Type = binary.BigEndian.Uint16(b)
	m.Method = m.Type&0xF | (m.Type>>1)&0x70 | (m.Type>>2)&0xF80
	m.Class = uint8((m.Type>>4)&1 | (m.Type>>7)&2)
	m.Length = binary.BigEndian.Uint16(b[2:])
	m.Cookie = binary.BigEndian.Uint32(b[4:])
	m.Classic = m.Cookie != MagicCookie
	m.TransactionID = [12]byte(b[8:20])
	if m.Classic && int(m.Length)+HeaderLen != len(b) {
		m.Partial = true
		return ErrNotSTUN
	}
	body := b[HeaderLen:]
	if int(m.Length) < len(body) {
		body = body[:m.Length]
	}
	for len(body) > 0 {
		if len(body) < 4 {
			m.Partial = true
			return fmt.Errorf("%w: attribute header", ErrShort)
		}
		t := binary.BigEndian.Uint16(body)
		n := int(binary.BigEndian.Uint16(body[2:]))
		if 4+n > len(body) {
			m.Partial = true
			return fmt.Errorf("%w: attribute 0x%04x overruns the message", ErrShort, t)
		}
		v := body[4 : 4+n : 4+n]
		body = body[min(len(body), 4+(n+3)&^3):]
		m.Attrs = append(m.Attrs, t)
		if err := m.attr(b, t, v); err != nil {
			m.Partial = true
			return fmt.Errorf("%w 0x%04x: %w", ErrAttribute, t, err)
		}
	}
	if int(m.Length)+HeaderLen > len(b) {
		m.Partial = true
		return fmt.Errorf("stun: body: %w", ErrShort)
	}
	return nil
}

var errLen = errors.New("bad length")

func (m *Message) attr(b []byte, t uint16, v []byte) error {
	switch t {
	case AttrMappedAddress, AttrSourceAddress, AttrChangedAddress, AttrResponseOrigin, AttrOtherAddress,
		AttrXORMappedAddress, attrXORMappedOld, AttrXORPeerAddress, AttrXORRelayedAddress:
		xor := t == AttrXORMappedAddress || t == attrXORMappedOld || t == AttrXORPeerAddress || t == AttrXORRelayedAddress
		a, err := address(v, xor, b[4:20])
		if err != nil {
			return err
		}
		if len(m.Addrs) < maxAddrs {
			m.Addrs = append(m.Addrs, Addr{Attr: t, Addr: a})
		}
	case AttrSoftware:
		m.Software = v
	case AttrUsername:
		m.Username = v
	case AttrRealm:
		m.Realm = v
	case AttrErrorCode:
		if len(v) < 4 {
			return errLen
		}
		m.ErrorCode = int(v[2]&7)*100 + int(v[3])
		m.ErrorReason = v[4:]
	case AttrLifetime:
		if len(v) != 4 {
			return errLen
		}
		m.Lifetime = binary.BigEndian.Uint32(v)
	case AttrMessageIntegrity:
		m.Integrity = true
	case AttrFingerprint:
		m.Fingerprint = true
	}
	return nil
}

// address decodes a (XOR-)MAPPED-ADDRESS value; key is the cookie and
// transaction id (header bytes 4..20) used to un-XOR.
func address(v []byte, xor bool, key []byte) (netip.AddrPort, error) {
	if len(v) < 4 {
		return netip.AddrPort{}, errLen
	}
	port := binary.BigEndian.Uint16(v[2:])
	if xor {
		port ^= binary.BigEndian.Uint16(key)
	}
	var ip netip.Addr
	switch v[1] {
	case 1:
		if len(v) != 8 {
			return netip.AddrPort{}, errLen
		}
		a := [4]byte(v[4:8])
		if xor {
			for i := range a {
				a[i] ^= key[i]
			}
		}
		ip = netip.AddrFrom4(a)
	case 2:
		if len(v) != 20 {
			return netip.AddrPort{}, errLen
		}
		a := [16]byte(v[4:20])
		if xor {
			for i := range a {
				a[i] ^= key[i]
			}
		}
		ip = netip.AddrFrom16(a)
	default:
		return netip.AddrPort{}, fmt.Errorf("address family %d", v[1])
	}
	return netip.AddrPortFrom(ip, port), nil
}

var methods = map[uint16]string{1: "binding", 2: "shared-secret", 3: "allocate", 4: "refresh", 6: "send",
	7: "data", 8: "create-permission", 9: "channel-bind", 10: "connect", 11: "connection-bind",
	12: "connection-attempt", 0x80: "goog-ping"}

// MethodString names the method ("binding") or returns it in hex.
func (m *Message) MethodString() string {
	if s, ok := methods[m.Method]; ok {
		return s
	}
	return fmt.Sprintf("0x%03x", m.Method)
}

var classes = [...]string{"request", "indication", "success", "error"}

// ClassString names the class.
func (m *Message) ClassString() string { return classes[m.Class&3] }
