package tls

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// record wraps body in TLS records of at most 16 KiB each.
func records(typ byte, body []byte) []byte {
	var out []byte
	for len(body) > 0 {
		n := min(len(body), 1<<14)
		out = append(out, typ, 3, 3, byte(n>>8), byte(n))
		out = append(out, body[:n]...)
		body = body[n:]
	}
	return out
}

func TestStreamEdges(t *testing.T) {
	hello := buildClientHello(foxioExample)
	huge := append([]byte{TypeCertificate, 0x01, 0x00, 0x00}, make([]byte, 1<<16)...) // 64 KiB + 4
	tests := []struct {
		name    string
		feed    func(s *Stream)
		events  int
		sni     string
		skipped int
		gap     uint64
	}{
		{"not tls", func(s *Stream) { s.Data(proto.ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), proto.Meta{}) }, 0, "", 0, 0},
		{"hello over two records", func(s *Stream) {
			s.Data(proto.ToServer, records(recHandshake, hello[:50]), proto.Meta{Frame: 1})
			s.Data(proto.ToServer, records(recHandshake, hello[50:]), proto.Meta{Frame: 2})
		}, 1, "www.example.com", 0, 0},
		{"oversized handshake skipped", func(s *Stream) {
			s.Data(proto.ToServer, records(recHandshake, hello), proto.Meta{Frame: 1})
			s.Data(proto.ToClient, records(recHandshake, huge), proto.Meta{Frame: 2})
		}, 1, "www.example.com", 1, 0},
		{"gap stops decoding", func(s *Stream) {
			s.Data(proto.ToServer, records(recHandshake, hello)[:30], proto.Meta{Frame: 1})
			s.Gap(proto.ToServer, 100, proto.Meta{Frame: 2})
			s.Data(proto.ToServer, records(recHandshake, hello), proto.Meta{Frame: 3})
		}, 0, "", 0, 100},
		{"record too long", func(s *Stream) {
			s.Data(proto.ToServer, []byte{22, 3, 1, 0xff, 0xff}, proto.Meta{Frame: 1})
		}, 0, "", 0, 0},
		{"alert", func(s *Stream) {
			s.Data(proto.ToServer, records(recHandshake, hello), proto.Meta{Frame: 1})
			s.Data(proto.ToClient, []byte{21, 3, 3, 0, 2, 2, 40}, proto.Meta{Frame: 2})
		}, 1, "www.example.com", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &eventSink{}
			s := NewStream(sink)
			tt.feed(s)
			s.End(proto.Meta{})
			s.End(proto.Meta{}) // second End is ignored
			evs := sink.evs
			if len(evs) != tt.events {
				t.Fatalf("%d events, want %d", len(evs), tt.events)
			}
			if tt.events == 0 {
				return
			}
			ss := evs[0].Fields.(*Session)
			if ss.SNI != tt.sni || ss.HandshakeSkipped != tt.skipped || ss.GapBytes[0] != tt.gap {
				t.Errorf("sni %q skipped %d gap %d notes %v", ss.SNI, ss.HandshakeSkipped, ss.GapBytes[0], ss.Notes)
			}
			if tt.name == "alert" && (len(ss.Alerts) != 1 || ss.Alerts[0].Description != 40) {
				t.Errorf("alerts %+v", ss.Alerts)
			}
		})
	}
}
