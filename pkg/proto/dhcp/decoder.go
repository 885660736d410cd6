package dhcp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes DHCP (v4) to the engine: datagrams between ports 67 and
// 68, or a BOOTP message with the DHCP magic cookie to or from port 67.
// Each is emitted as an Event (the engine's inventory reads the client's
// host name, vendor class and parameter list from it).
func Spec() proto.Spec {
	return proto.Spec{
		Name: "dhcp", Channel: "DHCP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			sp, cp := in.ServerPort, in.ClientPort
			if (sp == 67 || sp == 68) && (cp == 67 || cp == 68) || (sp == 67 || cp == 67) && Detect(in.First()) {
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

// Spec6 describes DHCPv6 to the engine: datagrams to or from ports 546
// and 547, emitted as Events of version 6.
func Spec6() proto.Spec {
	return proto.Spec{
		Name: "dhcpv6", Channel: "DHCP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.Port(546) || in.Port(547) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return proto.DatagramFunc(func(_ proto.Dir, b []byte, m proto.Meta) {
				var msg Message6
				err := Parse6(b, &msg)
				s.Emit(EventType, m, NewEvent6(&msg, err))
			})
		},
	}
}
