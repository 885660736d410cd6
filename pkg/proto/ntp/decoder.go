package ntp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes NTP to the engine: an NTP header to or from port 123.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "ntp", Channel: "NTP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.Port(123) && Detect(in.First()) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return proto.DatagramFunc(func(_ proto.Dir, b []byte, m proto.Meta) {
				var msg Message
				err := Parse(b, &msg)
				s.Emit(EventType, m, NewEvent(&msg, err))
			})
		},
	}
}
