package quic

import (
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// eventSink records what a Parser reports, its events as audit.Events:
// the form the golden files were written in.
type eventSink struct {
	prototest.Sink
	evs *[]audit.Event
}

func (s *eventSink) Emit(typ string, m proto.Meta, fields any) {
	*s.evs = append(*s.evs, audit.Event{Type: typ, Frame: m.Frame, Time: m.Time, Fields: fields})
}

// collect returns a sink that appends the events it is given to evs.
func collect(evs *[]audit.Event) *eventSink { return &eventSink{evs: evs} }
