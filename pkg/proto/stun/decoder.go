package stun

import (
	"encoding/binary"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Spec describes STUN/TURN over UDP to the engine: each datagram that is
// one STUN message, on any port (the rest of the 5-tuple's datagrams, DTLS
// and RTP in WebRTC, are not STUN's). The USERNAME a client sends goes to
// the leak scan.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "stun", Channel: "STUN", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return proto.DatagramFunc(func(dir proto.Dir, b []byte, m proto.Meta) {
				var msg Message
				err := Parse(b, &msg)
				ev := NewEvent(&msg, err)
				s.Emit(EventType, m, ev)
				if dir == proto.ToServer && ev.Username != "" {
					s.Scan(proto.Field{Location: "stun.username", Data: []byte(ev.Username)}, m)
				}
			})
		},
	}
}

// StreamSpec describes STUN/TURN over TCP (RFC 8489 §6.2.2 framing, TURN
// over TCP of RFC 8656 and RFC 6062) to the engine: a connection whose
// first bytes from either side begin a STUN message with the magic cookie
// (DetectStream). Its protocol and channel are STUN's, as tshark names
// these flows (TURN methods are STUN messages). The USERNAME a client
// sends goes to the leak scan, as over UDP.
func StreamSpec() proto.Spec {
	return proto.Spec{
		Name: "stun", Channel: "STUN",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if DetectStream(in.Up) || DetectStream(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return NewStream(func(dir proto.Dir, msg *Message, m proto.Meta, err error) {
				ev := NewEvent(msg, err)
				s.Emit(EventType, m, ev)
				if dir == proto.ToServer && ev.Username != "" {
					s.Scan(proto.Field{Location: "stun.username", Data: []byte(ev.Username)}, m)
				}
			})
		},
	}
}

// DetectStream reports whether the first bytes of a TCP direction begin a
// STUN message: the two zero bits, a length that is a multiple of 4 and
// the magic cookie (RFC 3489's classic STUN has no TCP framing). Unlike
// Detect, more bytes may follow the message (a second message, or
// ChannelData).
func DetectStream(b []byte) bool {
	return len(b) >= HeaderLen && b[0]&0xC0 == 0 && binary.BigEndian.Uint32(b[4:]) == MagicCookie &&
		binary.BigEndian.Uint16(b[2:])%4 == 0
}
