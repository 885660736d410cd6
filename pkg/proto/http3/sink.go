package http3

import (
	"net"
	"net/netip"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http2"
)

// serverName is an :authority without its port, "" for an address.
func serverName(a string) string {
	if h, _, err := net.SplitHostPort(a); err == nil {
		a = h
	}
	a = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
	if _, err := netip.ParseAddr(a); err == nil {
		return ""
	}
	return a
}

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
	if h := serverName(rq.Authority); h != "" {
		s.Name(proto.Name{Name: h, Source: proto.FromHTTPHost, Frame: rq.Frame})
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
