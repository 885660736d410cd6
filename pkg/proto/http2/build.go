package http2

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"io"
	"mime"
	"net/url"
	"slices"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// MediaDNS is the DNS-over-HTTPS media type (RFC 8484).
const MediaDNS = "application/dns-message"

const maxDNS = 65535 // largest DNS message

// event turns a finished stream into its Event.
func (p *Parser) event(s *stream) *Event {
	ev := &Event{StreamID: s.id, Flags: s.flags, Reset: s.reset, Interim: s.resp.interim}
	if s.req.fields != nil {
		ev.Request = p.request(&s.req)
		ev.Frame, ev.Time = s.req.meta.Frame, s.req.meta.Time
	}
	if s.resp.fields != nil {
		ev.Response = p.response(&s.resp)
		if ev.Request == nil {
			ev.Frame, ev.Time = s.resp.meta.Frame, s.resp.meta.Time
		}
	} else if ev.Request != nil && !slices.Contains(ev.Flags, "reset") && !slices.Contains(ev.Flags, "push") {
		addFlag(&ev.Flags, "no-response")
	}
	if ev.Request == nil && ev.Response == nil {
		if len(ev.Flags) == 0 {
			return nil
		}
		ev.Frame, ev.Time = max(s.req.meta.Frame, s.resp.meta.Frame), s.req.meta.Time
	}
	p.doh(ev, s)
	return ev
}

func (p *Parser) request(sd *side) *Request { return sd.message().Request(p.lim.MaxBody) }

func (p *Parser) response(sd *side) *Response { return sd.message().Response(p.lim.MaxBody) }

func (sd *side) message() *Message {
	return &Message{Meta: sd.meta, Fields: sd.fields, Trailers: sd.trail, Status: sd.status,
		Limit: sd.limit, Raw: sd.raw, Wire: sd.wire, Flags: sd.flags}
}

// Message is one side of an HTTP/2 or HTTP/3 exchange as its framing
// layer decoded it; Request and Response build the event forms both
// versions share.
type Message struct {
	Meta     proto.Meta
	Fields   []Header // header fields, pseudo-headers included, as sent
	Trailers []Header
	Status   int      // :status of a response
	Limit    bool     // header fields were cut at the decoder's limit
	Raw      []byte   // body as sent (content codings not undone)
	Wire     int64    // body bytes on the wire
	Flags    []string // body flags from the framing layer
}

// Request builds the request form, its body decoded up to maxBody bytes.
func (m *Message) Request(maxBody int) *Request {
	r := &Request{Frame: m.Meta.Frame, Time: m.Meta.Time, Headers: []Header{}, Trailers: m.Trailers}
	paramsCut := false
	for _, f := range m.Fields {
		switch f.Name {
		case ":method":
			r.Method = f.Value
		case ":scheme":
			r.Scheme = f.Value
		case ":authority":
			r.Authority = f.Value
		case ":path":
			r.URI = f.Value
		default:
			if strings.HasPrefix(f.Name, ":") {
				continue
			}
			r.Headers = append(r.Headers, f)
			switch f.Name {
			case "host":
				if r.Authority == "" {
					r.Authority = f.Value
				}
			case "user-agent":
				r.UserAgent = f.Value
			case "content-type":
				r.ContentType = f.Value
			case "cookie":
				var cut bool
				r.Cookies, cut = parseCookies(f.Value, r.Cookies)
				paramsCut = paramsCut || cut
			}
		}
	}
	r.Path, r.RawQuery = splitPath(r.URI)
	var cut bool
	r.Query, cut = parseQuery(r.RawQuery)
	if m.Limit {
		r.Flags = append(r.Flags, "header-limit")
	}
	if paramsCut || cut {
		r.Flags = append(r.Flags, FlagParamLimit)
	}
	r.Body = m.body(r.Headers, r.ContentType, maxBody)
	return r
}

// Response builds the response form, its body decoded up to maxBody bytes.
func (m *Message) Response(maxBody int) *Response {
	r := &Response{Frame: m.Meta.Frame, Time: m.Meta.Time, Status: m.Status, Headers: []Header{}, Trailers: m.Trailers}
	for _, f := range m.Fields {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		r.Headers = append(r.Headers, f)
		switch f.Name {
		case "content-type":
			r.ContentType = f.Value
		case "server":
			r.Server = f.Value
		}
	}
	if m.Limit {
		r.Flags = append(r.Flags, "header-limit")
	}
	r.Body = m.body(r.Headers, r.ContentType, maxBody)
	return r
}

// body decodes the message's DATA; nil when there was none.
func (m *Message) body(headers []Header, contentType string, maxBody int) *Body {
	if m.Wire == 0 && len(m.Flags) == 0 {
		return nil
	}
	b := &Body{WireSize: m.Wire, Flags: m.Flags}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		b.MediaType = mt
	} else if contentType != "" {
		b.MediaType = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	for _, h := range headers {
		if h.Name == "content-encoding" {
			b.Encoding = h.Value
		}
	}
	data, flag := DecodeBody(b.Encoding, m.Raw, maxBody)
	if flag != "" {
		addFlag(&b.Flags, flag)
	}
	b.Data, b.Size = data, len(data)
	return b
}

// DecodeBody removes a Content-Encoding (gzip, deflate, br, zstd; several
// comma-separated codings are undone right to left), keeping at most max
// bytes. On failure it returns the bytes as they are and a flag
// (unknown-encoding, decode-error, truncated). HTTP/3 bodies use it too.
func DecodeBody(enc string, raw []byte, max int) ([]byte, string) {
	codings := strings.Split(strings.ToLower(enc), ",")
	data := raw
	for i := len(codings) - 1; i >= 0; i-- {
		c := strings.TrimSpace(codings[i])
		var r io.Reader
		var err error
		switch c {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(bytes.NewReader(data))
		case "deflate":
			// Servers send zlib-wrapped or raw deflate under this name.
			if len(data) >= 2 && (uint16(data[0])<<8|uint16(data[1]))%31 == 0 && data[0]&0x0f == 8 {
				r, err = zlib.NewReader(bytes.NewReader(data))
			} else {
				r = flate.NewReader(bytes.NewReader(data))
			}
		case "br":
			r = brotli.NewReader(bytes.NewReader(data))
		case "zstd":
			var d *zstd.Decoder
			d, err = zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)*2+1<<20))
			if err == nil {
				defer d.Close()
				r = d
			}
		default:
			return raw, "unknown-encoding"
		}
		if err != nil {
			return raw, "decode-error"
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
		if len(out) > max {
			return out[:max], "truncated"
		}
		if err != nil && len(out) == 0 {
			return raw, "decode-error"
		}
		data = out
		if err != nil {
			return data, "decode-error"
		}
	}
	return data, ""
}

// doh decodes the DNS messages of a DNS-over-HTTPS stream: the dns query
// parameter of a GET, and application/dns-message bodies either way.
func (p *Parser) doh(ev *Event, s *stream) {
	if rq := ev.Request; rq != nil {
		for _, q := range rq.Query {
			if q.Name == "dns" && rq.Method == "GET" {
				v := strings.TrimRight(q.Value, "=")
				if b, err := base64.RawURLEncoding.DecodeString(v); err == nil && len(b) <= maxDNS {
					ev.DNS = append(ev.DNS, parseDNS(proto.ToServer, b, s.req.meta))
				}
				break
			}
		}
		if rq.Body != nil && rq.Body.MediaType == MediaDNS && len(rq.Body.Data) > 0 {
			ev.DNS = append(ev.DNS, parseDNS(proto.ToServer, rq.Body.Data, s.req.bodyMeta()))
		}
	}
	if rs := ev.Response; rs != nil && rs.Body != nil && rs.Body.MediaType == MediaDNS && len(rs.Body.Data) > 0 {
		ev.DNS = append(ev.DNS, parseDNS(proto.ToClient, rs.Body.Data, s.resp.bodyMeta()))
	}
}

// bodyMeta is where a side's body was complete: its latest DATA frame (a
// DNS message in a body is there, where tshark shows it), else its headers.
func (sd *side) bodyMeta() proto.Meta {
	if sd.hasBody {
		return sd.body
	}
	return sd.meta
}

func parseDNS(dir proto.Dir, b []byte, m proto.Meta) DNSMessage {
	msg := &dns.Message{}
	err := dns.Parse(b, msg)
	return DNSMessage{Dir: dir.String(), Frame: m.Frame, Time: m.Time, Message: msg, Err: err}
}

// maxParams caps the query and cookie pairs kept per request, as
// pkg/proto/http does: a request of 64 KiB of "&" would otherwise make one
// Param per byte pair. The rest is dropped and the request flagged
// "param-limit".
const maxParams = 256

// parseQuery splits a raw query into its parameters in order, unescaping
// what unescapes, at most maxParams of them; cut reports a rest dropped.
func parseQuery(q string) (out []Param, cut bool) {
	for q != "" {
		if len(out) >= maxParams {
			return out, true
		}
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, Param{Name: unescape(k), Value: unescape(v)})
	}
	return out, false
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// parseCookies appends the name=value pairs of one cookie header (HTTP/2
// may split cookies over several), up to maxParams in all; cut reports
// pairs dropped.
func parseCookies(v string, out []Param) (_ []Param, cut bool) {
	for v != "" {
		var c string
		c, v, _ = strings.Cut(v, ";")
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if len(out) >= maxParams {
			return out, true
		}
		k, val, _ := strings.Cut(c, "=")
		out = append(out, Param{Name: k, Value: val})
	}
	return out, false
}
