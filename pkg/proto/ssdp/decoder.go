package ssdp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes SSDP to the engine: an SSDP start line to or from port
// 1900. Messages that do not parse are not emitted. The event is a
// proto.Lazy: its strings (Event) are made only when the engine writes
// events, and the decoders of one Spec parse into one Message, whose
// header array is reused (the engine calls a worker's decoders one at a
// time, and Fields during Emit).
func Spec() proto.Spec {
	var msg Message
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
				if Parse(b, &msg) == nil {
					s.Emit(EventType, m, (*lazyEvent)(&msg))
				}
			})
		},
	}
}

// lazyEvent is a parsed Message as an Emit payload: its Fields, the
// Event, is valid only during Emit (the Message aliases the datagram).
type lazyEvent Message

var _ proto.Lazy = (*lazyEvent)(nil)

// Fields implements proto.Lazy.
func (e *lazyEvent) Fields() any { return NewEvent((*Message)(e)) }
