package http

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestDoH: DNS over HTTPS in HTTP/1.1 (RFC 8484) — GET ?dns=, POST and
// response bodies of type application/dns-message — gives "dns" events
// (variant doh) with the parsed message, scanned question names and one
// finding per Host; other exchanges give none.
func TestDoH(t *testing.T) {
	q := craft.DNSQuery(0, "tracker.example.net", 1)
	a := craft.DNSAnswer(0, "tracker.example.net", []string{"edge.example.com"}, "203.0.113.7")
	get := "GET /dns-query?ct&dns=" + base64.RawURLEncoding.EncodeToString(q) + " HTTP/1.1\r\nHost: doh.example.net\r\nAccept: application/dns-message\r\n\r\n"
	post := fmt.Sprintf("POST /dns-query HTTP/1.1\r\nHost: doh.example.net\r\nContent-Type: application/dns-message\r\nContent-Length: %d\r\n\r\n%s", len(q), q)
	answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: Application/DNS-Message; x=1\r\nContent-Length: %d\r\n\r\n%s", len(a), a)
	tests := []struct {
		name     string
		up, down string
		events   []string // "dns" events: response? first question, answered addresses
		qnames   []string
		findings int
	}{
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s prototest.Sink
			d := NewDecoder(Limits{}, &s)
			d.Data(proto.ToServer, []byte(tt.up), proto.Meta{Frame: 4})
			d.Data(proto.ToClient, []byte(tt.down), proto.Meta{Frame: 6})
			d.End(proto.Meta{Frame: 9})
			var evs []string
			for _, e := range s.Events {
				v, ok := e.Fields.(dns.DoHEvent)
				if e.Type != dns.EventType {
					continue
				}
				if !ok || v.Variant != "doh" || v.Message == nil {
					t.Fatalf("dns event %#v", e.Fields)
				}
				kind := "query"
				if v.Response {
					kind = "response"
				}
				desc := []string{kind, v.Questions[0].Name}
				dns.AddressNames(v.Message, func(addr netip.Addr, name string) { desc = append(desc, addr.String()+"="+name) })
				evs = append(evs, strings.Join(desc, " "))
			}
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
