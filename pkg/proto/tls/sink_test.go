package tls

import (
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// eventSink records what a Stream reports, its events as audit.Events:
// the form the golden files were written in.
type eventSink struct {
	prototest.Sink
	evs []audit.Event
}

func (s *eventSink) Emit(typ string, m proto.Meta, fields any) {
	s.evs = append(s.evs, audit.Event{Type: typ, Frame: m.Frame, Time: m.Time, Fields: fields})
}

// unreadSink is an eventSink that says it never reads event fields (the
// engine when it writes no events).
type unreadSink struct{ eventSink }

func (*unreadSink) EventFieldsUnread() bool { return true }
