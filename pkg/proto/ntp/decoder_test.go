package ntp

import (
	"reflect"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestSpecEvents: the decoders of one Spec (which share the message they
// parse into) emit, for every datagram, a Lazy whose Fields is NewEvent
// of the datagram's message and Parse's error, whatever a decoder of the
// same Spec parsed before.
func TestSpecEvents(t *testing.T) {
	sp := Spec()
	sinks := [2]*prototest.FieldsSink[Event]{{}, {}}
	decs := [2]proto.DatagramDecoder{sp.New(sinks[0]).(proto.DatagramDecoder), sp.New(sinks[1]).(proto.DatagramDecoder)}
	var want [2][]Event
	errs := 0
	for i, c := range cases() {
		k := i % 2
		decs[k].Datagram(proto.ToServer, c.msg, proto.Meta{Frame: uint64(i + 1)})
		var m Message
		err := Parse(c.msg, &m)
		if err != nil {
			errs++
		}
		want[k] = append(want[k], NewEvent(&m, err))
	}
	for k, s := range sinks {
		if len(s.Events) != len(want[k]) || !reflect.DeepEqual(s.Built, want[k]) {
			t.Errorf("decoder %d: events %+v, want %+v", k, s.Built, want[k])
		}
	}
	if errs == 0 || errs == len(cases()) {
		t.Fatalf("%d of %d cases fail to parse: want some of each", errs, len(cases()))
	}
}
