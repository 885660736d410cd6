package ssdp

import (
	"reflect"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestSpecEvents: the decoders of one Spec (which share the Message they
// parse into) emit, for every message that parses, a Lazy whose Fields is
// NewEvent of the message, whatever message a decoder of the same Spec
// parsed before, and nothing for a message that does not parse.
func TestSpecEvents(t *testing.T) {
	sp := Spec()
	sinks := [2]*prototest.FieldsSink[Event]{{}, {}}
	decs := [2]proto.DatagramDecoder{sp.New(sinks[0]).(proto.DatagramDecoder), sp.New(sinks[1]).(proto.DatagramDecoder)}
	var want [2][]Event
	for i, c := range cases() {
		k := i % 2
		decs[k].Datagram(proto.ToServer, c.msg, proto.Meta{Frame: uint64(i + 1)})
		var m Message
		if Parse(c.msg, &m) == nil {
			want[k] = append(want[k], NewEvent(&m))
		}
	}
	for k, s := range sinks {
		if len(s.Events) != len(want[k]) || !reflect.DeepEqual(s.Built, want[k]) {
			t.Errorf("decoder %d: events %+v, want %+v", k, s.Built, want[k])
		}
		for _, e := range s.Events {
			if e.Type != EventType {
				t.Errorf("decoder %d: event type %q", k, e.Type)
			}
		}
	}
	if len(want[0])+len(want[1]) < 4 {
		t.Fatalf("only %d messages parse", len(want[0])+len(want[1]))
	}
}
