package http2

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/internal/coding"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes cleartext HTTP/2 to the engine: detection by the client
// preface (prior knowledge), and a decoder that reports through a
// proto.Sink with limits lim (zero fields: DefaultLimits). The same
// decoder takes over a connection that switched with Upgrade: h2c (the
// HTTP/1 decoder's Switch to "http2"): stream 1 then answers the HTTP/1.1
// request and is flagged "upgrade".
func Spec(lim Limits) proto.Spec {
	return proto.Spec{
		Name:    "http2",
		Channel: "HTTP/2",
		Detect:  detect,
		New:     func(s proto.Sink) proto.Decoder { return NewDecoder(lim, s) },
	}
}

func detect(in proto.DetectInput) proto.Verdict {
	b := in.Up
	if len(b) == 0 {
		if len(in.Down) == 0 {
			return proto.NeedMore
		}
		return proto.No
	}
	if Detect(b) {
		return proto.Yes
	}
	if len(b) < 4 && string(b) == Preface[:len(b)] {
		return proto.NeedMore
	}
	return proto.No
}

// DoHEvent is a DNS message carried by DNS over HTTPS, emitted as a "dns"
// event (variant "doh"): the type HTTP/1's DoH messages have too.
type DoHEvent = dns.DoHEvent

// FindingDoH is the kind of the finding raised on a flow that carried DNS
// over HTTPS: its lookups bypass the resolver the lab hands out.
const FindingDoH = dns.FindingDoH

// Decoder is a Parser that reports through a proto.Sink: each stream is
// an "http" event with its request fields scanned as HTTP/1's are, the
// :authority names the server, and each DNS-over-HTTPS message is a "dns"
// event (variant "doh") whose question names are scanned, with one
// finding per resolver that the device bypasses the lab's.
type Decoder struct {
	p     *Parser
	s     proto.Sink
	doh   map[string]bool // authorities already reported as DoH resolvers
	named bool            // the first authority was offered as a name
}

// NewDecoder returns the Decoder of one connection.
func NewDecoder(lim Limits, s proto.Sink) *Decoder {
	d := &Decoder{s: s}
	d.p = New(lim, d.event)
	return d
}

func (d *Decoder) event(ev *Event) {
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	var codings []string
	if rq := ev.Request; rq != nil {
		if rq.Authority != "" && !d.named {
			// The first authority names the server, as HTTP/1's first
			// Host does: without its port, and not when it is an address.
			d.named = true
			if h := AuthorityHost(rq.Authority); h != "" {
				d.s.Name(proto.Name{Name: h, Source: proto.FromHTTPHost, Frame: rq.Frame})
			}
		}
		codings = BodyCodings(rq.Body)
		if slices.Contains(rq.Flags, FlagParamLimit) {
			proto.Count(d.s, "http2_param_limit", 1)
		}
	}
	ev.ScanFields(func(f Field) {
		pf := proto.Field{Location: f.Location, Data: f.Data, ContentType: f.ContentType, Page: f.Page}
		if f.Location == "body" {
			pf.Codings = codings
		}
		d.s.Scan(pf, m)
	})
	for _, q := range ev.DNS {
		if q.Message == nil {
			continue
		}
		dm := proto.Meta{Frame: q.Frame, Time: q.Time}
		if !q.Message.Response {
			for _, qq := range q.Message.Questions {
				d.s.Scan(proto.Field{Location: "dns.qname", Data: qq.Name}, dm)
			}
		}
		d.s.Emit(dns.EventType, dm, DoHEvent{Event: dns.NewEvent(q.Message, "doh", q.Err), Message: q.Message})
	}
	if len(ev.DNS) > 0 && ev.Request != nil && !d.doh[ev.Request.Authority] {
		if d.doh == nil {
			d.doh = map[string]bool{}
		}
		d.doh[ev.Request.Authority] = true
		who := ev.Request.Authority
		if who == "" {
			who = "a DNS-over-HTTPS server"
		}
		d.s.Finding(proto.Finding{Kind: FindingDoH, Severity: severity.Medium, Frame: ev.Frame, Time: ev.Time,
			Message: "DNS over HTTPS to " + who + ": lookups bypass the lab resolver"})
	}
	// Bodies are scanned, not kept.
	for _, b := range []*Body{bodyOf(ev.Request), responseBody(ev.Response)} {
		if b != nil {
			b.Data = nil
		}
	}
	ev.DNS = nil
	d.s.Emit(EventType, m, ev)
}

// AuthorityHost returns the host of an :authority ("api.example.com:8080"
// -> "api.example.com"), or "" when it is an address literal.
func AuthorityHost(a string) string {
	h := a
	if host, _, err := net.SplitHostPort(a); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	return h
}

// BodyCodings returns the content codings undone on b, outermost first,
// as proto.Field wants them; none when the body was kept encoded.
func BodyCodings(b *Body) []string {
	if b == nil {
		return nil
	}
	return coding.Undone(b.Encoding, b.Flags)
}

func bodyOf(r *Request) *Body {
	if r == nil {
		return nil
	}
	return r.Body
}

func responseBody(r *Response) *Body {
	if r == nil {
		return nil
	}
	return r.Body
}

// Data implements proto.StreamDecoder.
func (d *Decoder) Data(dir proto.Dir, data []byte, m proto.Meta) { d.p.Data(dir, data, m) }

// Gap implements proto.StreamDecoder.
func (d *Decoder) Gap(dir proto.Dir, n int, m proto.Meta) { d.p.Gap(dir, n, m) }

// End implements proto.StreamDecoder.
func (d *Decoder) End(m proto.Meta) { d.p.End(m) }
