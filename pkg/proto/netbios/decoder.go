package netbios

import "github.com/phonehome/phonehome/pkg/proto"

// NameSpec describes the NetBIOS name service (UDP 137) to the engine.
// Its Events carry the names hosts register or announce for themselves,
// which the engine's inventory reads.
func NameSpec() proto.Spec {
	return proto.Spec{
		Name: "netbios", Channel: "NetBIOS", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.Port(137) {
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

// DatagramSpec describes the NetBIOS datagram service (UDP 138 on both
// sides) to the engine.
func DatagramSpec() proto.Spec {
	return proto.Spec{
		Name: "netbios", Channel: "NetBIOS", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.ServerPort == 138 && in.ClientPort == 138 {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return proto.DatagramFunc(func(_ proto.Dir, b []byte, m proto.Meta) {
				var dg Datagram
				err := ParseDatagram(b, &dg)
				s.Emit(EventType, m, NewDatagramEvent(&dg, err))
			})
		},
	}
}
