package stun

import "github.com/phonehome/phonehome/pkg/proto"

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

// StreamSpec describes STUN/TURN over TCP (RFC 5389 framing) to the
// engine: a connection whose first segment is one STUN message.
func StreamSpec() proto.Spec {
	return proto.Spec{
		Name: "stun", Channel: "STUN",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return NewStream(func(_ proto.Dir, msg *Message, m proto.Meta, err error) {
				s.Emit(EventType, m, NewEvent(msg, err))
			})
		},
	}
}
