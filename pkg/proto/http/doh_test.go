package http

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestDoH: DNS over HTTPS in HTTP/1.1 (RFC 8484) — GET ?dns=, POST and
// response bodies of type application/dns-message — gives "dns" events
// (variant doh) with the parsed message, scanned question names and one
// finding per Host; other exchanges give none.
// dohCase is one HTTP/1.1 connection and what its DoH part reports.
type dohCase struct {
	name     string
	up, down string
	events   []string // "dns" events: kind, first question, answered addresses
	qnames   []string
	findings int
}

func dohCases() []dohCase {
	q := craft.DNSQuery(0, "tracker.example.net", 1)
	a := craft.DNSAnswer(0, "tracker.example.net", []string{"edge.example.com"}, "203.0.113.7")
	get := "GET /dns-query?ct&dns=" + base64.RawURLEncoding.EncodeToString(q) + " HTTP/1.1\r\nHost: doh.example.net\r\nAccept: application/dns-message\r\n\r\n"
	post := fmt.Sprintf("POST /dns-query HTTP/1.1\r\nHost: doh.example.net\r\nContent-Type: application/dns-message\r\nContent-Length: %d\r\n\r\n%s", len(q), q)
	answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: Application/DNS-Message; x=1\r\nContent-Length: %d\r\n\r\n%s", len(a), a)
	return []dohCase{
		{name: "GET and answer", up: get, down: answer, findings: 1,
			events: []string{"query tracker.example.net", "response tracker.example.net 203.0.113.7=tracker.example.net"},
			qnames: []string{"tracker.example.net"}},
		{name: "POST and answer, two exchanges, one finding", up: post + post, down: answer + answer, findings: 1,
			events: []string{"query tracker.example.net", "response tracker.example.net 203.0.113.7=tracker.example.net",
				"query tracker.example.net", "response tracker.example.net 203.0.113.7=tracker.example.net"},
			qnames: []string{"tracker.example.net", "tracker.example.net"}},
		{name: "not base64", up: "GET /dns-query?dns=%%% HTTP/1.1\r\nHost: h\r\n\r\n", down: "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n"},
		{name: "another media type", up: "GET /q?dns=x HTTP/1.1\r\nHost: h\r\n\r\n",
			down: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s", len(a), a)},
		{name: "a body that is not DNS", up: "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
			down: "HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nContent-Length: 3\r\n\r\nabc"},
	}
}

// runDoH feeds the ops to a Decoder and returns its sink and the dns
// events described as dohCase.events.
func runDoH(t *testing.T, ops []op) (*prototest.Sink, []string) { return runDoHSink(t, ops, false) }

// unreadProtoSink is a prototest.Sink that says it never asks for event
// forms, as the engine writing no events.
type unreadProtoSink struct{ *prototest.Sink }

func (unreadProtoSink) EventFieldsUnread() bool { return true }

// runDoHSink is runDoH, with a sink that never asks for event forms when
// unread is set (response bodies other than DoH answers are then not kept).
func runDoHSink(t *testing.T, ops []op, unread bool) (*prototest.Sink, []string) {
	var s prototest.Sink
	var sink proto.Sink = &s
	if unread {
		sink = unreadProtoSink{&s}
	}
	d := NewDecoder(Limits{MaxHeaderBytes: 2048, MaxHeaders: 16, MaxBody: 8 << 10, MaxDecoded: 64 << 10}, sink)
	for i, o := range ops {
		m := proto.Meta{Frame: uint64(i + 1)}
		if o.Gap > 0 {
			d.Gap(o.Dir, o.Gap, m)
		} else {
			d.Data(o.Dir, o.Data, m)
		}
	}
	d.End(proto.Meta{Frame: uint64(len(ops) + 1)})
	var evs []string
	for _, e := range s.Events {
		if e.Type != dns.EventType {
			continue
		}
		v, ok := e.Fields.(dns.DoHEvent)
		if !ok || v.Variant != "doh" || v.Message == nil {
			t.Fatalf("dns event %#v", e.Fields)
		}
		kind := "query"
		if v.Response {
			kind = "response"
		}
		desc := []string{kind}
		if len(v.Questions) > 0 {
			desc = append(desc, v.Questions[0].Name)
		}
		dns.AddressNames(v.Message, func(addr netip.Addr, name string) { desc = append(desc, addr.String()+"="+name) })
		evs = append(evs, strings.Join(desc, " "))
	}
	return &s, evs
}

// TestDoH: DNS over HTTPS in HTTP/1.1 (RFC 8484) — GET ?dns=, POST and
// response bodies of type application/dns-message — gives "dns" events
// (variant doh) with the parsed message, scanned question names and one
// finding per Host; other exchanges give none.
func TestDoH(t *testing.T) {
	for _, tt := range dohCases() {
		for _, unread := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s unread=%v", tt.name, unread), func(t *testing.T) {
				s, evs := runDoHSink(t, []op{up(tt.up), down(tt.down)}, unread)
				if !slices.Equal(evs, tt.events) {
					t.Errorf("events %q, want %q", evs, tt.events)
				}
				if g := s.Scanned("dns.qname"); !slices.Equal(g, tt.qnames) {
					t.Errorf("scanned qnames %q, want %q", g, tt.qnames)
				}
				n := 0
				for _, f := range s.Findings {
					if f.Kind == dns.FindingDoH {
						n++
						if !strings.Contains(f.Message, "doh.example.net") || f.Severity.String() != "medium" {
							t.Errorf("finding %+v", f)
						}
					}
				}
				if n != tt.findings {
					t.Errorf("%d %s findings, want %d", n, dns.FindingDoH, tt.findings)
				}
			})
		}
	}
}

// FuzzDoH runs the Decoder, DoH part included, on connections made of
// fuzzed bytes (fuzzseed ops; seeds: dohCases): no panic, every dns event
// a DoH message, at most one finding per Host and 16 Hosts.
func FuzzDoH(f *testing.F) {
	for _, tc := range dohCases() {
		f.Add(fuzzseed.Encode([]op{up(tc.up), down(tc.down)}))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Odd lengths: a sink that never asks for event forms.
		s, _ := runDoHSink(t, fuzzseed.Decode(in), len(in)%2 == 1)
		n := 0
		for _, fi := range s.Findings {
			if fi.Kind == dns.FindingDoH {
				n++
			}
		}
		if n > 16 {
			t.Fatalf("%d DoH findings", n)
		}
	})
}
