package ssdp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes SSDP to the engine: an SSDP start line to or from port
// 1900. Messages that do not parse are not emitted.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "ssdp", Channel: "SSDP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.Port(1900) && Detect(in.First()) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return proto.DatagramFunc(func(_ proto.Dir, b []byte, m proto.Meta) {
				var msg Message
				if Parse(b, &msg) == nil {
					s.Emit(EventType, m, NewEvent(&msg))
				}
			})
		},
	}
}
