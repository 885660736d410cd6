package ssdp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes SSDP to the engine: an SSDP start line to or from port
// 1900. Messages that do not parse are not emitted.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "ssdp", Channel: "SSDP", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			b := in.Up
			if len(b) == 0 {
				b = in.Down
			}
			if (in.ServerPort == 1900 || in.ClientPort == 1900) && Detect(b) {
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
	if Parse(b, &msg) == nil {
		d.sink.Emit(EventType, m, NewEvent(&msg))
	}
}

func (decoder) End(proto.Meta) {}
