package http

import (
	"net"
	"net/netip"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/coding"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes HTTP/1 to the engine: detected by a request or status
// line on any port, decoded with the limits lim (zero fields: defaults).
// The decoder reports each exchange as an "http" event (fields: *Event, a
// proto.Lazy: what only the event shows, the decoded response body among
// it, is made by Event.Fields when the sink writes the event),
// offers the first request's Host as the server's name, hands the request
// target, query, headers and body to the leak scan, raises a finding for
// Basic credentials, and hands the connection over after a CONNECT (to
// whatever the tunnel carries) or an Upgrade.
func Spec(lim Limits) proto.Spec {
	sh := &shared{}
	return proto.Spec{
		Name: "http", Channel: "HTTP",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder { return newDecoder(lim, s, sh) },
	}
}

// shared is the scratch state of the decoders one Spec makes: the engine
// builds its Spec list per goroutine and calls a flow's decoder from that
// goroutine, one call at a time.
type shared struct {
	names   map[string]string // interned header names
	locs    map[string]string // header name -> scan location
	scratch []byte            // a field's bytes for the sink (bytes)
	free    free              // recycled exchanges (recycle.go)
}

// maxInterned bounds each map of shared.
const maxInterned = 1024

// intern returns name as a string, made once per spelling (up to
// maxInterned spellings).
func (sh *shared) intern(name []byte) string {
	if s, ok := commonHeaderName(name); ok {
		return s // no map lookup for the usual names
	}
	if sh == nil {
		return string(name)
	}
	if s, ok := sh.names[string(name)]; ok {
		return s
	}
	s := string(name)
	if len(sh.names) < maxInterned {
		if sh.names == nil {
			sh.names = make(map[string]string)
		}
		sh.names[s] = s
	}
	return s
}

// location returns "header:" + name, made once per spelling.
func (sh *shared) location(name string) string {
	if loc, ok := sh.locs[name]; ok {
		return loc
	}
	loc := "header:" + name
	if len(sh.locs) < maxInterned {
		if sh.locs == nil {
			sh.locs = make(map[string]string)
		}
		sh.locs[name] = loc
	}
	return loc
}

// bytes returns s in the scratch buffer, valid until the next call: a
// field handed to the sink is only valid during the call.
func (sh *shared) bytes(s string) []byte {
	sh.scratch = append(sh.scratch[:0], s...)
	return sh.scratch
}

// Decoder is the proto.StreamDecoder of one HTTP connection: a Parser
// whose events are reported to a proto.Sink.
type Decoder struct {
	p        Parser
	sink     proto.Sink
	sh       *shared
	hostSeen bool
	switched bool
	dohHosts map[string]bool // Hosts already reported as DoH resolvers (doh.go)
}

var (
	_ proto.StreamDecoder = (*Decoder)(nil)
	_ proto.Channeler     = (*Decoder)(nil)
)

// NewDecoder returns the decoder of one connection reporting to sink.
func NewDecoder(lim Limits, sink proto.Sink) *Decoder {
	return newDecoder(lim, sink, &shared{})
}

func newDecoder(lim Limits, sink proto.Sink, sh *shared) *Decoder {
	var d *Decoder
	if n := len(sh.free.decoders); n > 0 {
		d, sh.free.decoders[n-1] = sh.free.decoders[n-1], nil
		sh.free.decoders = sh.free.decoders[:n-1]
		d.sink, d.sh = sink, sh // zeroed by Recycle but for its line and value buffers
	} else {
		d = &Decoder{sink: sink, sh: sh}
	}
	d.p.init(lim, nil)
	d.p.dec = d
	d.p.lazy = true // the sink calls Event.Fields when it writes the event
	// Only Event.Fields reads response bodies (but DoH answers'): for a
	// sink that never asks for it they are counted, not kept.
	d.p.countBodies = proto.FieldsUnread(sink)
	d.p.sh = sh
	return d
}

// maxRecycledLine bounds the line buffer and the header values buffer a
// recycled decoder keeps, maxRecycledPend its pending values.
const (
	maxRecycledLine = 1 << 10
	maxRecycledPend = 32
)

// Recycle gives an ended decoder back to the Spec that made it, for a later
// connection; the caller must not use it, nor anything it returned,
// again. The engine calls it once the flow is filed.
func (d *Decoder) Recycle() {
	sh := d.sh
	if sh == nil || len(sh.free.decoders) >= maxFree {
		return
	}
	var lines, vals [2][]byte
	var pend [2][]pendingValue
	for i := range lines {
		h := &d.p.h[i]
		if cap(h.line) <= maxRecycledLine {
			lines[i] = h.line[:0]
		}
		if cap(h.vals) <= maxRecycledLine {
			vals[i] = h.vals[:0]
		}
		if cap(h.pend) <= maxRecycledPend {
			pend[i] = h.pend[:0]
		}
	}
	*d = Decoder{}
	for i := range lines {
		h := &d.p.h[i]
		h.line, h.vals, h.pend = lines[i], vals[i], pend[i]
	}
	sh.free.decoders = append(sh.free.decoders, d)
}

// Data implements proto.StreamParser. Once the connection leaves HTTP
// (CONNECT, Upgrade) it asks the sink to switch: a CONNECT tunnel to
// whatever its bytes look like (proto.Redetect), an "Upgrade: h2c" to
// "http2", any other upgrade to the protocol it names (an unknown name
// leaves the rest opaque; WebSocket today).
func (d *Decoder) Data(dir proto.Dir, data []byte, m proto.Meta) {
	d.p.Data(dir, data, m)
	if d.switched {
		return
	}
	if kind, up, down := d.p.Tunnel(); kind != "" {
		d.switched = true
		proto.Count(d.sink, "http_tunnels", 1)
		to := proto.Redetect
		switch kind {
		case "connect":
		case "h2c":
			to = "http2"
		default:
			to = kind
		}
		d.sink.Switch(to, up, down, m)
	}
}

// Gap implements proto.StreamParser.
func (d *Decoder) Gap(dir proto.Dir, n int, m proto.Meta) { d.p.Gap(dir, n, m) }

// End implements proto.StreamParser.
func (d *Decoder) End(m proto.Meta) { d.p.End(m) }

// Channel is "WebSocket" after an Upgrade (the rest of the connection is
// not HTTP), else "" (the Spec's "HTTP").
func (d *Decoder) Channel() string {
	if k := d.p.tunnel; k != "" && k != "connect" {
		return "WebSocket"
	}
	return ""
}

// event reports one exchange. Bodies are not written to events; once
// scanned their buffers go back to the parser for later messages.
func (d *Decoder) event(ev *Event) {
	s := d.sink
	s.Emit("http", proto.Meta{Frame: ev.Frame, Time: ev.Time}, ev)
	defer ev.Release()
	d.doh(ev)
	if ev.Request != nil {
		countBody(s, ev.Request.Body)
	}
	if ev.Response != nil {
		countBody(s, ev.Response.Body)
	}
	rq := ev.Request
	if rq == nil {
		return
	}
	if rq.Host != "" && !d.hostSeen {
		// The first Host names the server, unless it is an address
		// (HTTPDNS clients and many IoT devices send "Host: 203.0.113.7").
		d.hostSeen = true
		if h := stripPort(rq.Host); !ipLiteral(h) {
			s.Name(proto.Name{Name: h, Source: proto.FromHTTPHost, Frame: rq.Frame})
		}
	}
	m := proto.Meta{Frame: rq.Frame, Time: rq.Time}
	page := referer(rq.Headers)
	s.Scan(proto.Field{Location: "url.path", Data: d.sh.bytes(rq.Path), Page: page}, m)
	if rq.RawQuery != "" {
		s.Scan(proto.Field{Location: "url.query", Data: d.sh.bytes(rq.RawQuery), Page: page}, m)
	}
	for _, h := range rq.Headers {
		if notScanned(h.Name) {
			continue
		}
		if foldEqual(h.Name, "authorization") && len(h.Value) >= 6 && foldEqual(h.Value[:6], "basic ") {
			s.Finding(proto.Finding{Severity: severity.High, Kind: "http-basic-auth-cleartext",
				Message: "HTTP Basic credentials sent without TLS", Frame: rq.Frame, Time: rq.Time})
		}
		s.Scan(proto.Field{Location: d.sh.location(h.Name), Data: d.sh.bytes(h.Value), Page: page}, m)
	}
	if b := rq.Body; b != nil && len(b.Data) > 0 {
		s.Scan(proto.Field{Location: "body", Data: b.Data, ContentType: rq.ContentType, Codings: coding.Undone(b.Encoding, b.Flags), Page: page}, m)
	}
}

// notScanned reports the request headers the leak scan skips: framing and
// content negotiation, and Host (the server's own name).
func notScanned(name string) bool {
	for _, n := range [...]string{"host", "content-length", "content-type", "accept", "accept-encoding", "connection", "accept-language"} {
		if foldEqual(name, n) {
			return true
		}
	}
	return false
}

// foldEqual reports whether s equals lower, a lower-case ASCII string,
// ignoring ASCII case (strings.ToLower would allocate).
func foldEqual(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// referer returns a request's Referer header: the page it was sent from.
func referer(hs []Header) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, "referer") {
			return h.Value
		}
	}
	return ""
}

// countBody counts the body flags that say a limit cut something
// (truncated, decoded-limit, bomb) or the body was damaged.
func countBody(s proto.Sink, b *Body) {
	if b == nil {
		return
	}
	for _, f := range b.Flags {
		proto.Count(s, "http_body_"+strings.ReplaceAll(f, "-", "_"), 1)
	}
}

// ipLiteral reports whether a Host is an address, not a name.
func ipLiteral(h string) bool {
	if strings.IndexByte(h, ':') < 0 && strings.Trim(h, "0123456789.") != "" {
		return false // not IPv6, and not only digits and dots: ParseAddr would fail (and allocate its error)
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// stripPort removes a port from a Host value ("h:8080", "[::1]:80").
func stripPort(h string) string {
	if strings.IndexByte(h, ':') < 0 {
		return strings.Trim(h, "[]") // no port: SplitHostPort would fail (and allocate its error)
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.Trim(h, "[]")
}
