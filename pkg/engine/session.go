package engine

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// session is the engine's state for one flow (flow.Flow.User).
type session struct {
	f        *flow.Flow
	proto    string // dns, http, tls, quic, mqtt, dhcp, ssh, ... or "" while unknown
	parser   proto.StreamParser
	tls      *ptls.Stream
	quic     *quic.Parser
	http     *phttp.Parser
	sniff    [2][]byte // first bytes of each direction while the protocol is unknown
	decided  bool
	sample   []byte // first bytes sent by the client of an unrecognised flow
	down     []byte // first bytes sent by the server of an unrecognised flow
	scanned  [2]int // plaintext bytes of an unrecognised flow already leak-scanned
	names    names
	leaks    []audit.Leak
	findings []audit.Finding
	channel  string
	uas      []string
	udpProto string
	opaque   bool   // unknown payload that looks encrypted: not leak-scanned
	held     int    // bytes of sniff held back while the protocol was undecided
	recKey   []byte // sort key of the flow's spooled records (records.go)
}

// names holds the candidate names of a flow's server by source.
type names struct {
	sni, host, quicSNI string
	dns, ptr           string // from answers seen before the flow began
}

const (
	sniffBytes   = 16
	sampleBytes  = 4096
	scanUnknown  = 64 << 10 // plaintext bytes of an unknown stream scanned for leaks, per direction
	maxFlowLeaks = 64
)

func (e *engine) sess(f *flow.Flow) *session {
	if s, ok := f.User.(*session); ok {
		return s
	}
	s := &session{f: f}
	f.User = s
	return s
}

// Start, Datagram, Stream, Gap and End make the engine a flow.Handler.

// Start allocates nothing: a session is made on the first payload (sess),
// so a flood of half-open connections costs only the flow table's entries.
// Start names the flow's server from the DNS answers its client received
// before the flow began: at this moment, and only now, the cache holds
// exactly those answers, whatever the worker count or when the flow ends.
func (e *engine) Start(f *flow.Flow, p *flow.Packet) {
	if n, _, _, ok := e.dnsCache.Name(f.Client.Addr(), f.Server.Addr(), f.First); ok {
		e.sess(f).names.dns = n
	} else if n, _, ok := e.dnsCache.PTR(f.Client.Addr(), f.Server.Addr(), f.First); ok {
		e.sess(f).names.ptr = n
	}
}

func (e *engine) Datagram(f *flow.Flow, dir proto.Dir, p *flow.Packet) {
	if f.Key.Proto != flow.ProtoUDP || len(p.Payload) == 0 {
		return
	}
	s := e.sess(f)
	m := proto.Meta{Frame: p.Frame, Time: p.Time}
	sp, dp := p.SrcPort, p.DstPort
	payload := p.Payload
	switch {
	case isDNSPort(sp) || isDNSPort(dp):
		e.dnsMessage(s, dir, payload, dns.Variant(sp, dp), m, p.Src)
	case (sp == 67 || sp == 68) && (dp == 67 || dp == 68) || dhcp.Detect(payload) && (sp == 67 || dp == 67):
		e.dhcpMessage(s, payload, m, p)
	case sp == 546 || sp == 547 || dp == 546 || dp == 547:
		e.dhcp6Message(s, payload, m)
	default:
		if e.udpExtra(s, dir, payload, m, p) {
			return
		}
		s.unknownBytes(e, dir, payload, m, true)
	}
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

func (e *engine) Stream(f *flow.Flow, dir proto.Dir, data []byte, m proto.Meta) {
	s := e.sess(f)
	if !s.decided {
		s.sniff[dir] = append(s.sniff[dir], data[:min(len(data), sniffBytes-len(s.sniff[dir]))]...)
		if !e.decide(s, dir) {
			s.held = len(s.sniff[dir]) // too few bytes to tell: hold them
			return
		}
		if s.held > 0 {
			// Bytes held from earlier calls come first. Only this
			// direction can hold any: decide waits only while the other
			// direction has sent nothing.
			data = slices.Concat(s.sniff[dir][:s.held], data)
		}
	}
	if s.parser != nil {
		s.parser.Data(dir, data, m)
		if s.http != nil && s.parser == proto.StreamParser(s.http) {
			e.checkTunnel(s, m)
		}
		return
	}
	if s.proto == "" && s.channel == "" {
		// No decoder: sample and scan it. Recognised protocols without a
		// decoder (SSH: algorithm names, then ciphertext) are not scanned.
		s.unknownBytes(e, dir, data, m, false)
	}
}

// checkTunnel switches an HTTP flow to what runs inside it after a CONNECT
// (usually TLS) or an Upgrade (WebSocket: opaque).
func (e *engine) checkTunnel(s *session, m proto.Meta) {
	kind, up, down := s.http.Tunnel()
	if kind == "" {
		return
	}
	e.counter["http_tunnels"]++
	s.parser = nil
	if kind != "connect" || !ptls.Detect(up) {
		s.channel = "HTTP"
		if kind != "connect" {
			s.channel = "WebSocket"
		}
		return
	}
	s.proto = "tls"
	s.tls = ptls.NewStream(e.emitter(s, "tls"))
	s.parser = s.tls
	s.tls.Data(proto.ToServer, up, m)
	if len(down) > 0 {
		s.tls.Data(proto.ToClient, down, m)
	}
}

func (e *engine) Gap(f *flow.Flow, dir proto.Dir, n int, m proto.Meta) {
	s := e.sess(f)
	if s.parser != nil {
		s.parser.Gap(dir, n, m)
	}
}

// decide picks the stream protocol from the first bytes. It returns true
// once decided (the caller then feeds data to the parser or the unknown
// path).
func (e *engine) decide(s *session, dir proto.Dir) bool {
	b := s.sniff[dir]
	f := s.f
	sp, cp := f.Server.Port(), f.Client.Port()
	switch {
	case ptls.Detect(b):
		s.proto = "tls"
		s.tls = ptls.NewStream(e.emitter(s, "tls"))
		s.parser = s.tls
	case phttp.Detect(b):
		s.proto = "http"
		s.http = phttp.New(e.httpLimits, func(ev *phttp.Event) { e.httpEvent(s, ev) })
		s.parser = s.http
	case e.detectStream(s, b):
		// another decoder claimed it (mqtt...)
	case bytes.HasPrefix(b, []byte("SSH-")):
		s.proto, s.channel = "ssh", "SSH"
	case sp == 53 || cp == 53:
		s.proto = "dns"
		st := dns.NewStream(func(d proto.Dir, msg *dns.Message, meta proto.Meta, err error) {
			// Answers over TCP reach the name cache through the reader
			// (pool.tcpDNS), the same for every worker; not from here.
			e.dnsParsed(s, d, msg, "dns", meta, err, netip.Addr{})
		})
		s.parser = st
	default:
		if len(b) < sniffBytes && len(s.sniff[1-dir]) == 0 {
			// Too little to tell; wait for more (bounded by sniffBytes).
			if len(b) < 4 {
				return false
			}
		}
		s.proto = ""
	}
	s.decided = true
	return true
}

// emitter returns the callback given to decoders that emit audit.Events.
func (e *engine) emitter(s *session, typ string) func(audit.Event) {
	return func(ev audit.Event) {
		ev.FlowID = s.f.ID
		if ev.Type == "" {
			ev.Type = typ
		}
		e.event(s, ev)
	}
}

// eventsWanted says whether protocol events are written (spooled) or kept.
func (e *engine) eventsWanted() bool {
	return e.spools != nil && e.spools.events != nil || e.cfg.KeepEvents
}

func (e *engine) event(s *session, ev audit.Event) {
	ev = e.maskSecrets(ev)
	e.counter["events_"+ev.Type]++
	if e.spools != nil && e.spools.events != nil {
		g := ev.Frame
		restore := e.frames.localEvent(&ev)
		if err := e.spools.spoolEvent(s, ev, g); err != nil {
			e.counter["events_unencodable"]++
		}
		if restore != nil {
			restore()
		}
		return
	}
	if e.cfg.KeepEvents {
		if len(e.events) >= e.maxRecords {
			e.counter["events_dropped"]++
			return
		}
		e.events = append(e.events, ev)
	}
}

// unknownBytes handles payload of a flow no decoder claimed: a byte sample
// for the channel verdict and a bounded plaintext leak scan.
func (s *session) unknownBytes(e *engine, dir proto.Dir, data []byte, m proto.Meta, datagram bool) {
	if dir == proto.ToServer {
		if len(s.sample) < sampleBytes {
			s.sample = append(s.sample, data[:min(len(data), sampleBytes-len(s.sample))]...)
		}
	} else if len(s.down) < sampleBytes {
		s.down = append(s.down, data[:min(len(data), sampleBytes-len(s.down))]...)
	}
	if dir != proto.ToServer || s.scanned[dir] >= scanUnknown || e.scanner == nil || s.opaque {
		return
	}
	n := min(len(data), scanUnknown-s.scanned[dir])
	if n >= 128 && leak.ClassifyPayload(data[:n]).Class == leak.Encrypted {
		// Ciphertext-like bytes hold no readable identifier, and an XOR
		// of text with a short key is never this uniform: stop scanning.
		s.opaque = true
		e.counter["leak_scan_skipped_opaque_flows"]++
		return
	}
	s.scanned[dir] += n
	loc := "tcp.payload"
	if datagram {
		loc = "udp.payload"
	}
	e.scan(s, leak.Input{Location: loc, Data: data[:n]}, m)
}

// addFinding notes a finding of the flow; repeats of a kind and message
// add to its count, and a flow keeps at most maxFlowLeaks rows.
func (s *session) addFinding(e *engine, fi audit.Finding) {
	fi.Count = max(fi.Count, 1)
	for i := range s.findings {
		o := &s.findings[i]
		if o.Kind == fi.Kind && o.Message == fi.Message && o.Severity == fi.Severity {
			o.Count += fi.Count
			return
		}
	}
	if len(s.findings) >= maxFlowLeaks {
		e.counter["findings_dropped_flow_cap"]++
		return
	}
	s.findings = append(s.findings, fi)
}

// scan runs the leak scanner on one input of a flow.
func (e *engine) scan(s *session, in leak.Input, m proto.Meta) { e.scanCoded(s, in, m, nil) }

// scanCoded is scan for decoded content: coding lists the content codings
// undone before the scanner saw it (HTTP Content-Encoding), which lead
// each hit's encoding chain.
func (e *engine) scanCoded(s *session, in leak.Input, m proto.Meta, coding []string) {
	if e.scanner == nil || len(in.Data) == 0 {
		return
	}
	e.counter["leak_scanned_bytes"] += uint64(len(in.Data))
	e.scanner.Scan(in, func(h leak.Hit) {
		if len(s.leaks) >= maxFlowLeaks {
			e.counter["leaks_dropped_flow_cap"]++
			return
		}
		enc := strings.Join(append(coding[:len(coding):len(coding)], h.Encoding...), " > ")
		for i := range s.leaks {
			l := &s.leaks[i]
			if l.Identifier == h.Identifier && l.Location == h.Location && l.Encoding == enc && l.Value == h.Value {
				l.Count++
				l.Spellings = addSpellings(l.Spellings, h.Spellings)
				return
			}
		}
		s.leaks = append(s.leaks, audit.Leak{
			Identifier: h.Identifier, Known: h.Known, Value: h.Value,
			Encoding: enc, Location: h.Location,
			Frame: m.Frame, Time: m.Time.UTC(), Count: 1, Spellings: h.Spellings,
		})
	})
}

func (e *engine) httpEvent(s *session, ev *phttp.Event) {
	e.event(s, audit.Event{Type: "http", Frame: ev.Frame, Time: ev.Time.UTC(), FlowID: s.f.ID, Fields: ev})
	// Bodies are not written to events; once scanned their buffers go back
	// to the parser for later messages, and do not stay with a kept event.
	defer ev.Release()
	if ev.Request != nil {
		e.countBody(ev.Request.Body)
	}
	if ev.Response != nil {
		e.countBody(ev.Response.Body)
	}
	rq := ev.Request
	if rq == nil {
		return
	}
	if rq.Host != "" && s.names.host == "" {
		s.names.host = rq.Host
	}
	if rq.UserAgent != "" && len(s.uas) < 8 && !contains(s.uas, rq.UserAgent) {
		s.uas = append(s.uas, rq.UserAgent)
	}
	m := proto.Meta{Frame: rq.Frame, Time: rq.Time}
	e.scan(s, leak.Input{Location: "url.path", Data: []byte(rq.Path)}, m)
	if rq.RawQuery != "" {
		e.scan(s, leak.Input{Location: "url.query", Data: []byte(rq.RawQuery)}, m)
	}
	for _, h := range rq.Headers {
		switch strings.ToLower(h.Name) {
		case "host", "content-length", "content-type", "accept", "accept-encoding", "connection", "accept-language":
			continue
		case "authorization":
			if strings.HasPrefix(strings.ToLower(h.Value), "basic ") {
				s.addFinding(e, audit.Finding{Severity: audit.High, Kind: "http-basic-auth-cleartext",
					Message: "HTTP Basic credentials sent without TLS", Frame: rq.Frame, Time: rq.Time.UTC()})
			}
		}
		e.scan(s, leak.Input{Location: "header:" + h.Name, Data: []byte(h.Value)}, m)
	}
	if b := rq.Body; b != nil && len(b.Data) > 0 {
		e.scanCoded(s, leak.Input{Location: "body", Data: b.Data, ContentType: rq.ContentType}, m, contentCodings(b))
	}
}

// countBody counts the HTTP body flags that say a limit cut something
// (truncated, decoded-limit, bomb) or the body was damaged.
func (e *engine) countBody(b *phttp.Body) {
	if b == nil {
		return
	}
	for _, f := range b.Flags {
		e.counter["http_body_"+strings.ReplaceAll(f, "-", "_")]++
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// dnsMessage parses one DNS/mDNS/LLMNR datagram.
func (e *engine) dnsMessage(s *session, dir proto.Dir, b []byte, variant string, m proto.Meta, src netip.Addr) {
	s.udpProto = "dns"
	msg := &e.dnsMsg
	err := dns.Parse(b, msg)
	e.dnsParsed(s, dir, msg, variant, m, err, s.f.Client.Addr())
}

func (e *engine) dnsParsed(s *session, dir proto.Dir, msg *dns.Message, variant string, m proto.Meta, err error, client netip.Addr) {
	if s.proto == "" {
		s.proto = "dns"
	}
	if err != nil {
		e.counter["dns_malformed"]++
	}
	// The event form (strings for every record) is built only when events
	// are written or mDNS names are read from it: most DNS messages of a
	// capture need only the parsed message.
	mdns := msg.Response && variant == "mdns"
	var ev dns.Event
	if e.eventsWanted() || mdns {
		ev = dns.NewEvent(msg, variant, err)
		e.event(s, audit.Event{Type: dns.EventType, Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ev})
	} else {
		e.counter["events_"+dns.EventType]++
	}
	if msg.Response {
		if client.IsValid() {
			e.dnsCache.Add(client, msg, m)
		}
		if mdns {
			e.inv.mdnsNames(s.f, ev)
		}
		return
	}
	if dir == proto.ToServer && e.scanner != nil {
		for _, q := range msg.Questions {
			e.scan(s, leak.Input{Location: "dns.qname", Data: q.Name}, m)
		}
	}
}

func (e *engine) dhcpMessage(s *session, b []byte, m proto.Meta, p *flow.Packet) {
	s.udpProto = "dhcp"
	var msg dhcp.Message
	err := dhcp.Parse(b, &msg)
	ev := dhcp.NewEvent(&msg, err)
	e.event(s, audit.Event{Type: dhcp.EventType, Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ev})
	if err == nil {
		e.inv.dhcp(ev, m.Frame)
	}
}

func (e *engine) dhcp6Message(s *session, b []byte, m proto.Meta) {
	s.udpProto = "dhcpv6"
	var msg dhcp.Message6
	err := dhcp.Parse6(b, &msg)
	ev := dhcp.NewEvent6(&msg, err)
	e.event(s, audit.Event{Type: dhcp.EventType, Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ev})
}
