package http

import (
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestDecoderReports checks what the decoder tells its sink: names,
// scanned fields, findings, counters and hand-overs.
func TestDecoderReports(t *testing.T) {
	tests := []struct {
		name     string
		up, down []string
		names    []string // Name offers
		scanned  []string // field locations, in order
		findings []string
		switchTo []string
		counts   map[string]uint64
	}{
		{name: "host, query, headers and body",
			up:      []string{"POST /p?imei=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nCookie: c=1\r\nContent-Length: 3\r\n\r\nabc"},
			down:    []string{"HTTP/1.1 204 No Content\r\n\r\n"},
			names:   []string{"api.example.com"},
			scanned: []string{"url.path", "url.query", "header:Cookie", "body"}},
		{name: "an address names no server, and only the first Host counts",
			up:      []string{"GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n\r\nGET / HTTP/1.1\r\nHost: later.example.com\r\n\r\n"},
			scanned: []string{"url.path", "url.path"}},
		{name: "basic credentials",
			up:       []string{"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n"},
			names:    []string{"h"},
			scanned:  []string{"url.path", "header:Authorization"},
			findings: []string{"http-basic-auth-cleartext"}},
		{name: "CONNECT re-detects the tunnel",
			up:       []string{"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
			down:     []string{"HTTP/1.1 200 OK\r\n\r\n"},
			names:    []string{"example.com"},
			scanned:  []string{"url.path"},
			switchTo: []string{proto.Redetect},
			counts:   map[string]uint64{"http_tunnels": 1}},
		{name: "h2c upgrade goes to http2",
			up:       []string{"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"},
			down:     []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"},
			names:    []string{"h"},
			scanned:  []string{"url.path", "header:Upgrade"},
			switchTo: []string{"http2"},
			counts:   map[string]uint64{"http_tunnels": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s prototest.Sink
			d := NewDecoder(Limits{}, &s)
			for i := 0; i < max(len(tt.up), len(tt.down)); i++ {
				if i < len(tt.up) {
					d.Data(proto.ToServer, []byte(tt.up[i]), proto.Meta{Frame: uint64(2*i + 1)})
				}
				if i < len(tt.down) {
					d.Data(proto.ToClient, []byte(tt.down[i]), proto.Meta{Frame: uint64(2*i + 2)})
				}
			}
			d.End(proto.Meta{Frame: 100})
			var names, locs, kinds, sw []string
			for _, n := range s.Names {
				names = append(names, n.Name)
			}
			for _, f := range s.Fields {
				if f.Location != "header:Connection" {
					locs = append(locs, f.Location)
				}
			}
			for _, f := range s.Findings {
				kinds = append(kinds, f.Kind)
			}
			for _, x := range s.Switches {
				sw = append(sw, x.To)
			}
			if !slices.Equal(names, tt.names) || !slices.Equal(locs, tt.scanned) || !slices.Equal(kinds, tt.findings) || !slices.Equal(sw, tt.switchTo) {
				t.Errorf("names %q scanned %q findings %q switches %q\nwant %q %q %q %q", names, locs, kinds, sw, tt.names, tt.scanned, tt.findings, tt.switchTo)
			}
			for k, v := range tt.counts {
				if s.Counts[k] != v {
					t.Errorf("count %s = %d, want %d", k, s.Counts[k], v)
				}
			}
		})
	}
}
