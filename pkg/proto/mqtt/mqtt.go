// Package mqtt decodes MQTT 3.1, 3.1.1 and 5.0 control packets from the
// reassembled bytes of one TCP connection. Parser is a proto.StreamParser:
// incremental, bounded by Limits, resynchronising after gaps or a
// mid-stream start, and never panicking. It reports CONNECT (client id,
// username, password in clear, will), CONNACK, PUBLISH (topic and payload),
// SUBSCRIBE and UNSUBSCRIBE as events and counts every packet type.
package mqtt

import (
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Packet types (MQTT 5.0 section 2.1.2).
const (
	typeConnect     = 1
	typeConnack     = 2
	typePublish     = 3
	typePuback      = 4
	typePubrec      = 5
	typePubrel      = 6
	typePubcomp     = 7
	typeSubscribe   = 8
	typeSuback      = 9
	typeUnsubscribe = 10
	typeUnsuback    = 11
	typePingreq     = 12
	typePingresp    = 13
	typeDisconnect  = 14
	typeAuth        = 15
)

// typeName returns the lower-case name of packet type t.
func typeName(t byte) string {
	switch t {
	case typeConnect:
		return "connect"
	case typeConnack:
		return "connack"
	case typePublish:
		return "publish"
	case typePuback:
		return "puback"
	case typePubrec:
		return "pubrec"
	case typePubrel:
		return "pubrel"
	case typePubcomp:
		return "pubcomp"
	case typeSubscribe:
		return "subscribe"
	case typeSuback:
		return "suback"
	case typeUnsubscribe:
		return "unsubscribe"
	case typeUnsuback:
		return "unsuback"
	case typePingreq:
		return "pingreq"
	case typePingresp:
		return "pingresp"
	case typeDisconnect:
		return "disconnect"
	case typeAuth:
		return "auth"
	}
	return "reserved"
}

// Limits bound the memory of one Parser. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// MaxPacket bounds the bytes of one packet buffered for decoding; a
	// longer packet is decoded from its first MaxPacket bytes and the rest
	// skipped.
	MaxPacket int
	// MaxPayload bounds the PUBLISH (and will) payload bytes kept per event.
	MaxPayload int
}

// DefaultLimits returns 256 KiB per packet and 64 KiB of payload.
func DefaultLimits() Limits { return Limits{MaxPacket: 256 << 10, MaxPayload: 64 << 10} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPacket <= 0 {
		l.MaxPacket = d.MaxPacket
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = d.MaxPayload
	}
	l.MaxPayload = min(l.MaxPayload, l.MaxPacket)
	return l
}

const (
	maxRemaining = 268435455 // largest Remaining Length (4-byte varint)
	maxTopics    = 256       // topic filters kept per SUBSCRIBE/UNSUBSCRIBE
	maxString    = 4 << 10   // client id, username, topic bytes kept
)

// Event is one decoded control packet, or (Packet "summary", at End) the
// packet counts of the connection.
type Event struct {
	Frame uint64    `json:"-"`
	Time  time.Time `json:"-"`
	// Dir is "up" (client to broker) or "down".
	Dir    string `json:"dir"`
	Packet string `json:"packet"`
	// Version is the protocol level: 3 (3.1), 4 (3.1.1) or 5; 0 if unknown.
	Version int `json:"version,omitempty"`

	// CONNECT
	ProtocolName    string `json:"protocol_name,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
	Username        string `json:"username,omitempty"`
	HasUsername     bool   `json:"has_username,omitempty"`
	PasswordPresent bool   `json:"password_present,omitempty"`
	// Password is kept for the leak scanner, never written to JSON.
	Password     []byte `json:"-"`
	CleanSession bool   `json:"clean_session,omitempty"`
	KeepAlive    uint16 `json:"keep_alive,omitempty"`
	WillTopic    string `json:"will_topic,omitempty"`
	WillQoS      uint8  `json:"will_qos,omitempty"`
	WillRetain   bool   `json:"will_retain,omitempty"`
	WillPayload  []byte `json:"-"`

	// CONNACK: return code (3.1.1) or reason code (5).
	ReturnCode     *int `json:"return_code,omitempty"`
	SessionPresent bool `json:"session_present,omitempty"`

	// PUBLISH
	Topic    string `json:"topic,omitempty"`
	QoS      uint8  `json:"qos,omitempty"`
	Retain   bool   `json:"retain,omitempty"`
	Dup      bool   `json:"dup,omitempty"`
	PacketID uint16 `json:"packet_id,omitempty"`
	// PayloadSize is the payload length on the wire; Payload holds at most
	// Limits.MaxPayload bytes of it and is not written to JSON.
	PayloadSize int    `json:"payload_size,omitempty"`
	Payload     []byte `json:"-"`

	// SUBSCRIBE, UNSUBSCRIBE
	Topics []Topic `json:"topics,omitempty"`

	// summary
	Counts []Count `json:"counts,omitempty"`

	// Flags: "password-in-clear", "payload-truncated", "malformed",
	// "resync" (first packet after lost bytes or a mid-stream start),
	// "version-unknown" (no CONNECT seen; 3.1.1 assumed).
	Flags []string `json:"flags,omitempty"`
}

// Topic is one topic filter of a SUBSCRIBE (with its requested QoS) or
// UNSUBSCRIBE.
type Topic struct {
	Filter string `json:"filter"`
	QoS    uint8  `json:"qos,omitempty"`
}

// Count is the number of packets of one type seen in one direction.
type Count struct {
	Dir    string `json:"dir"`
	Packet string `json:"packet"`
	N      uint64 `json:"n"`
}

// Detect reports whether b begins with an MQTT CONNECT packet: type 1 with
// zero flags, a valid remaining length, and protocol name "MQTT" or
// "MQIsdp".
func Detect(b []byte) bool {
	if len(b) < 2 || b[0] != typeConnect<<4 {
		return false
	}
	_, n, ok := remLen(b[1:])
	if !ok || n == 0 {
		return false
	}
	s := cryptobyte.String(b[1+n:])
	var name cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&name) {
		return false
	}
	return string(name) == "MQTT" || string(name) == "MQIsdp"
}

// remLen decodes a Remaining Length varint from b: value, bytes used, and
// ok; n == 0 with !ok means b ended inside it.
func remLen(b []byte) (v, n int, ok bool) {
	mult := 1
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, false
		}
		v += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return v, i + 1, true
		}
		mult *= 128
	}
	return 0, 4, false
}

// validHeader reports whether first byte c has a known type and the flags
// that type requires.
func validHeader(c byte) bool {
	t, f := c>>4, c&0x0f
	switch t {
	case 0:
		return false
	case typePublish:
		return f&0x06 != 0x06 // QoS 3 is invalid
	case typePubrel, typeSubscribe, typeUnsubscribe:
		return f == 0x02
	}
	return f == 0
}

func validString(s []byte) bool {
	if !utf8.Valid(s) {
		return false
	}
	for _, c := range s {
		if c == 0 {
			return false
		}
	}
	return true
}

func clipString(b []byte) string {
	if len(b) > maxString {
		b = b[:maxString]
	}
	return string(b)
}

var _ proto.StreamParser = (*Parser)(nil)
