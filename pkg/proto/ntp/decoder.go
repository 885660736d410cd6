package ntp

import "github.com/phonehome/phonehome/pkg/proto"

// Spec describes NTP to the engine: an NTP header to or from port 123.
// The event is a proto.Lazy: its strings (Event: four formatted times)
// are made only when the engine writes events. The decoders of one Spec
// parse into one scratch message (the engine calls a worker's decoders
// one at a time, and Fields during Emit).
func Spec() proto.Spec {
	var ev lazyEvent
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
				ev.err = Parse(b, &ev.msg)
				s.Emit(EventType, m, &ev)
			})
		},
	}
}

// lazyEvent is a parsed message and Parse's error as an Emit payload: its
// Fields, the Event, is valid only during Emit (the message aliases the
// datagram).
type lazyEvent struct {
	msg Message
	err error
}

var _ proto.Lazy = (*lazyEvent)(nil)

// Fields implements proto.Lazy.
func (e *lazyEvent) Fields() any { return NewEvent(&e.msg, e.err) }
