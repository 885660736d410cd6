package ntp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes NTP to the engine: an NTP header to or from port 123.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "ntp", Channel: "NTP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			b := in.Up
			if len(b) == 0 {
				b = in.Down
			}
			if (in.ServerPort == 123 || in.ClientPort == 123) && Detect(b) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder { return decoder{s} },
	}
}

type decoder struct{ sink proto.Sink }

func (d decoder) Datagram(_ proto.Dir, b []byte, m proto.Meta) {
	var msg Message
	err := Parse(b, &msg)
	d.sink.Emit(EventType, m, NewEvent(&msg, err))
}

func (decoder) End(proto.Meta) {}
