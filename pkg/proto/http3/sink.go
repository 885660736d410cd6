package http3

import (
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http2"
)

// NewSink returns a Conn that reports to s as every HTTP decoder does: the
// http event, the request's :authority as the server's name, and the
// request's path, query, headers and body to the leak scanner.
func NewSink(lim Limits, s proto.Sink) *Conn {
	return New(lim, func(ev *Event) { Report(s, ev) })
}

// Report hands one Event to s.
func Report(s proto.Sink, ev *Event) {
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	s.Emit(EventType, m, ev)
	rq := ev.Request
	if rq == nil {
		return
	}
	if rq.Authority != "" {
		s.Name(proto.Name{Name: rq.Authority, Source: proto.FromHTTPHost, Frame: rq.Frame})
	}
	rm := proto.Meta{Frame: rq.Frame, Time: rq.Time}
	ev.ScanFields(func(f http2.Field) {
		pf := proto.Field{Location: f.Location, Data: f.Data, ContentType: f.ContentType}
		if f.Location == "body" {
			pf.Codings = ev.Codings()
		}
		s.Scan(pf, rm)
	})
}
