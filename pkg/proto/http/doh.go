package http

import (
	"bytes"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/severity"
)

// DNS over HTTPS in HTTP/1.1 (RFC 8484): the DNS messages of an exchange —
// a GET's dns query parameter, an application/dns-message request or
// response body — are "dns" events (variant "doh", dns.DoHEvent), the
// questions of queries are scanned as dns.qname, and the first exchange
// with each Host raises the dns-over-https finding, as HTTP/2's do.

// maxDoHHosts caps the Hosts a connection raises the DoH finding for.
const maxDoHHosts = 16

// doh reports the DNS messages of one exchange. Exchanges that carry none
// cost a method compare and two Content-Type checks.
func (d *Decoder) doh(ev *Event) {
	rq, rs := ev.Request, ev.Response
	found := false
	if rq != nil {
		m := proto.Meta{Frame: rq.Frame, Time: rq.Time}
		if rq.Method == "GET" && strings.Contains(rq.RawQuery, "dns=") {
			for p := range strings.SplitSeq(rq.RawQuery, "&") {
				if v, ok := strings.CutPrefix(p, "dns="); ok {
					if b, ok := dns.DoHQuery(v); ok {
						found = d.dohMessage(b, m) || found
					}
					break
				}
			}
		}
		if b := rq.Body; b != nil && len(b.Data) > 0 && b.Encoding == "" && dns.IsDoHMedia(rq.ContentType) {
			found = d.dohMessage(b.Data, m) || found
		}
	}
	if rs != nil && rs.Body != nil && dns.IsDoHMedia(rs.ContentType) {
		rs.Body.decode()
		if len(rs.Body.Data) > 0 {
			found = d.dohMessage(rs.Body.Data, proto.Meta{Frame: rs.Frame, Time: rs.Time}) || found
		}
	}
	if !found || rq == nil || d.dohHosts[rq.Host] || len(d.dohHosts) >= maxDoHHosts {
		return
	}
	if d.dohHosts == nil {
		d.dohHosts = map[string]bool{}
	}
	d.dohHosts[rq.Host] = true
	who := rq.Host
	if who == "" {
		who = "a DNS-over-HTTPS server"
	}
	d.sink.Finding(proto.Finding{Kind: dns.FindingDoH, Severity: severity.Medium, Frame: rq.Frame, Time: rq.Time,
		Message: "DNS over HTTPS to " + who + ": lookups bypass the lab resolver"})
}

// dohMessage parses and reports one DNS message (a copy of b: the body
// buffers are recycled, and the message's slices alias its input); false
// when b is not one.
func (d *Decoder) dohMessage(b []byte, m proto.Meta) bool {
	msg := &dns.Message{}
	err := dns.Parse(bytes.Clone(b), msg)
	if err != nil && len(msg.Questions) == 0 && !msg.Response {
		return false
	}
	if !msg.Response {
		for _, q := range msg.Questions {
			d.sink.Scan(proto.Field{Location: "dns.qname", Data: q.Name}, m)
		}
	}
	d.sink.Emit(dns.EventType, m, dns.DoHEvent{Event: dns.NewEvent(msg, "doh", err), Message: msg})
	return true
}
