package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// TestSpecList checks every Spec of the list: a name, a channel of the
// audit vocabulary, a constructor, and a decoder of its kind.
func TestSpecList(t *testing.T) {
	for _, sp := range protocols(phttp.DefaultLimits()) {
		if sp.Name == "" || sp.Detect == nil || sp.New == nil && sp.Open == nil {
			t.Errorf("%+v: incomplete Spec", sp.Name)
			continue
		}
		if !audit.Channel(sp.Channel).Known() {
			t.Errorf("%s: channel %q is not in audit's vocabulary", sp.Name, sp.Channel)
		}
		d := sp.Make(&session{}, proto.DetectInput{ServerPort: 53, ClientPort: 40000})
		if _, ok := d.(proto.DatagramDecoder); sp.Datagram && !ok {
			t.Errorf("%s: datagram Spec makes a %T", sp.Name, d)
		}
		if _, ok := d.(proto.StreamDecoder); !sp.Datagram && !ok {
			t.Errorf("%s: stream Spec makes a %T", sp.Name, d)
		}
	}
}

// TestStreamHandOver drives one TCP flow's bytes through the session:
// held first bytes keep their side, and HTTP CONNECT / Upgrade hand the
// rest of the connection over through Sink.Switch.
func TestStreamHandOver(t *testing.T) {
	connect := "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
	ok200 := "HTTP/1.1 200 Connection established\r\n\r\n"
	type seg struct {
		dir  proto.Dir
		data string
	}
	tests := []struct {
		name                 string
		port                 uint16
		segs                 []seg
		protocol, channel    string
		name_, nameSrc       string
		sampleUp, sampleDown string // unknown payload profiled
		tunnels              uint64
	}{
		{name: "server's short first segment keeps its side", port: 80,
			segs:     []seg{{proto.ToClient, "\x89\x00"}, {proto.ToServer, "\x8a\x80\x0d\x34\xee\x31"}},
			channel:  "unknown",
			sampleUp: "\x8a\x80\x0d\x34\xee\x31", sampleDown: "\x89\x00"},
		{name: "CONNECT carrying TLS", port: 3128,
			segs: []seg{{proto.ToServer, connect}, {proto.ToClient, ok200},
				{proto.ToServer, string(craft.ClientHello("inner.example.org", craft.TLS12))},
				{proto.ToClient, string(craft.ServerHello(craft.TLS12, 0xc02f))}},
			protocol: "tls", channel: "TLS1.2", name_: "inner.example.org", nameSrc: "sni", tunnels: 1},
		{name: "CONNECT carrying something else stays opaque HTTP", port: 3128,
			segs:     []seg{{proto.ToServer, connect}, {proto.ToClient, ok200}, {proto.ToServer, "\x00\x01\x02\x03\x04\x05"}},
			protocol: "http", channel: "HTTP", name_: "example.com", nameSrc: "http-host", tunnels: 1},
		{name: "WebSocket upgrade", port: 80,
			segs: []seg{{proto.ToServer, "GET /ws HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
				{proto.ToClient, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
				{proto.ToServer, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"}},
			protocol: "http", channel: "WebSocket", name_: "ws.example.com", nameSrc: "http-host", tunnels: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWorker(Config{}, phttp.DefaultLimits(), nil)
			f := &flow.Flow{ID: 1, Key: flow.Key{Proto: flow.ProtoTCP},
				Client: netip.MustParseAddrPort("10.0.0.2:40000"), Server: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.8"), tt.port)}
			for i, sg := range tt.segs {
				e.Stream(f, sg.dir, []byte(sg.data), proto.Meta{Frame: uint64(i + 1), Time: time.Unix(int64(i), 0)})
			}
			s := f.User.(*session)
			s.endDecoders(proto.Meta{Frame: 99})
			name, src := e.bestName(s)
			if s.proto != tt.protocol || e.channel(s) != tt.channel || name != tt.name_ || src != tt.nameSrc {
				t.Errorf("protocol %q channel %q name %q (%s), want %q %q %q (%s)", s.proto, e.channel(s), name, src, tt.protocol, tt.channel, tt.name_, tt.nameSrc)
			}
			var up, down string
			if u := s.unknown; u != nil {
				up, down = string(u.sample), string(u.down)
			}
			if up != tt.sampleUp || down != tt.sampleDown {
				t.Errorf("unknown payload up %q down %q, want %q %q", up, down, tt.sampleUp, tt.sampleDown)
			}
			if got := e.counter["http_tunnels"]; got != tt.tunnels {
				t.Errorf("http_tunnels = %d, want %d", got, tt.tunnels)
			}
		})
	}
}
