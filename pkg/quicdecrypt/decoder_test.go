package quicdecrypt

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http3"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// initialRecorder stands for pkg/proto/quic's decoder: it must see every
// datagram, with or without keys.
type initialRecorder struct{ n, ended int }

func (r *initialRecorder) Datagram(proto.Dir, []byte, proto.Meta) { r.n++ }
func (r *initialRecorder) End(proto.Meta)                         { r.ended++ }

func decodeQUIC(t *testing.T, pcap string, keys *keylog.Log, port uint16) (*Decoder, *prototest.Sink, *initialRecorder, int) {
	t.Helper()
	pkts, _, ok := pcaptest.Packets(t, pcap, false)
	if !ok {
		t.Fatal("not a capture")
	}
	sink := &prototest.Sink{}
	ini := &initialRecorder{}
	d := NewDecoder(DecoderConfig{Keys: keys, Initial: ini, Sink: sink})
	for _, p := range pkts {
		dir := proto.ToServer
		if p.Src.Port() == port {
			dir = proto.ToClient
		}
		d.Datagram(dir, p.Payload, proto.Meta{Frame: uint64(p.Frame)})
	}
	d.End(proto.Meta{})
	d.End(proto.Meta{})
	return d, sink, ini, len(pkts)
}

// TestDecoderHTTP3 runs the quic-go HTTP/3 captures (v1, v2, Retry, key
// update, with and without GSO) through the Decoder: every request the
// client sent is an http event with its method, authority and path, the
// responses' bodies are whole (JSON, or the 120 KB /big pattern across the
// key update), the planted IMEI reaches the leak scanner in url.query,
// and the authority, an address, is not offered as the server's name. Without keys: no
// event, "no-key", and the Initial decoder still saw every datagram.
func TestDecoderHTTP3(t *testing.T) {
	for name, port := range serverPorts {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", name)
			d, sink, ini, n := decodeQUIC(t, base+".pcap", loadKeys(t, base+".keys"), port)
			if ini.n != n || ini.ended != 1 {
				t.Errorf("Initial decoder saw %d of %d datagrams, ended %d times", ini.n, n, ini.ended)
			}
			if o, r := d.Outcome(); o != "decrypted" || r != "" {
				t.Errorf("outcome %s %s", o, r)
			}
			if ch := d.Channel(); ch != "QUIC (decrypted)" {
				t.Errorf("channel %q", ch)
			}
			host := "127.0.0.1:" + map[string]string{"quic-v1-h3": "19443", "quic-v2-h3": "19444", "quic-v1-h3-nogso": "19445", "quic-v1-h3-retry": "19446", "quic-v1-h3-keyupdate": "19447"}[name]
			want := []string{"GET " + host + "/ping", "GET " + host + "/track?imei=356938035643809&android_id=9774d56d682e549c", "POST " + host + "/v1/collect"}
			wantBodies := "/ping /track /v1/collect"
			if strings.HasSuffix(name, "-keyupdate") {
				want = append([]string{"GET " + host + "/big"}, want...)
				wantBodies = "/big " + wantBodies
			}
			var reqs, bodies []string
			for _, e := range sink.Events {
				ev := e.Fields.(*http3.Event)
				if e.Type != "http" || ev.Version != "HTTP/3" || len(ev.Flags) > 0 || ev.Request == nil || ev.Response == nil {
					t.Errorf("event %s %+v", e.Type, ev)
					continue
				}
				reqs = append(reqs, ev.Request.Method+" "+ev.Request.Authority+ev.Request.URI)
				body := ev.Response.Body.Data
				if !bytes.HasPrefix(body, []byte("{")) {
					if len(body) != 120000 || !bytes.Equal(body, bytes.Repeat([]byte("0123456789abcdef"), 7500)) {
						t.Errorf("stream %d: %d-byte body is not the /big pattern", ev.StreamID, len(body))
					}
					bodies = append(bodies, "/big")
					continue
				}
				var v struct {
					OK   bool   `json:"ok"`
					Path string `json:"path"`
					Pad  string `json:"pad"`
				}
				if err := json.Unmarshal(body, &v); err != nil || !v.OK || len(v.Pad) != 3000 {
					t.Errorf("stream %d: response body %v", ev.StreamID, err)
				}
				bodies = append(bodies, v.Path)
			}
			sort.Strings(reqs)
			sort.Strings(bodies)
			if strings.Join(reqs, "\n") != strings.Join(want, "\n") || strings.Join(bodies, " ") != wantBodies {
				t.Errorf("requests %q, bodies %q", reqs, bodies)
			}
			if q := sink.Scanned("url.query"); len(q) != 1 || q[0] != "imei=356938035643809&android_id=9774d56d682e549c" {
				t.Errorf("url.query scanned %q", q)
			}
			if len(sink.Names) != 0 {
				t.Errorf("names %+v: the authority is an address", sink.Names)
			}

			d, sink, ini, _ = decodeQUIC(t, base+".pcap", keylog.New(), port)
			if o, _ := d.Outcome(); o != "no-key" || len(sink.Events)+len(sink.Fields) > 0 || d.Channel() != "" || ini.n != n {
				t.Errorf("without keys: outcome %s, %d events, channel %q, %d datagrams", o, len(sink.Events), d.Channel(), ini.n)
			}
		})
	}
}
