package http3

import (
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http2"
)

// NewSink returns a Conn that reports to s as every HTTP decoder does: the
// http event, the request's :authority (without port; not an address) as
// the server's name, and the
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
	if h := http2.AuthorityHost(rq.Authority); h != "" {
		s.Name(proto.Name{Name: h, Source: proto.FromHTTPHost, Frame: rq.Frame})
	}
	rm := proto.Meta{Frame: rq.Frame, Time: rq.Time}
	ev.ScanFields(func(f http2.Field) {
		pf := proto.Field{Location: f.Location, Data: f.Data, ContentType: f.ContentType, Page: f.Page}
		if f.Location == "body" {
			pf.Codings = http2.BodyCodings(rq.Body)
		}
		s.Scan(pf, rm)
	})
}
