package quicdecrypt

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/qpack"
)

// h3Frames splits an HTTP/3 stream into frames (type, payload).
func h3Frames(t *testing.T, b []byte) (types []uint64, payloads [][]byte) {
	for len(b) > 0 {
		typ, n, ok := varint(b)
		if !ok {
			t.Fatal("frame type")
		}
		l, m, ok := varint(b[n:])
		if !ok || uint64(len(b)-n-m) < l {
			t.Fatalf("frame length")
		}
		types = append(types, typ)
		payloads = append(payloads, b[n+m:n+m+int(l)])
		b = b[n+m+int(l):]
	}
	return types, payloads
}

// TestHTTP3Requests reads the decrypted quic-go HTTP/3 connections as an
// HTTP/3 decoder would: the requests' QPACK header sections (pkg/qpack,
// with each side's encoder stream replayed) and the response bodies. The
// response bodies of quic-v1-h3 and quic-v2-h3 came in GSO datagrams that
// tshark does not dissect: their JSON parsing here is their check.
func TestHTTP3Requests(t *testing.T) {
	for name, port := range serverPorts {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", name)
			col, _ := decrypt(t, base+".pcap", loadKeys(t, base+".keys"), port)
			var enc [2]*qpack.Decoder
			for d := range enc {
				enc[d] = qpack.NewDecoder(qpack.Limits{MaxTableCapacity: 4096})
			}
			// Unidirectional streams: feed each QPACK encoder stream to the
			// decoder of its direction.
			for k, b := range col.data {
				if k.id%4 == 2 || k.id%4 == 3 {
					if b.Len() > 0 && b.Bytes()[0] == 0x02 {
						if _, err := enc[k.dir].EncoderStream(b.Bytes()[1:]); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			var reqs, bodies []string
			bodyOf := map[uint64][]byte{}
			for k, b := range col.data {
				if k.id%4 != 0 {
					continue
				}
				types, payloads := h3Frames(t, b.Bytes())
				for i, typ := range types {
					switch typ {
					case 0x01: // HEADERS
						fields, err := enc[k.dir].Decode(k.id, payloads[i])
						if err != nil {
							t.Fatalf("stream %d: %v", k.id, err)
						}
						if k.dir == proto.ToServer {
							var m, a, p string
							for _, f := range fields {
								switch f.Name {
								case ":method":
									m = f.Value
								case ":authority":
									a = f.Value
								case ":path":
									p = f.Value
								}
							}
							reqs = append(reqs, m+" "+a+p)
						}
					case 0x00: // DATA
						if k.dir == proto.ToClient {
							bodyOf[k.id] = append(bodyOf[k.id], payloads[i]...)
						}
					}
				}
			}
			for id, body := range bodyOf {
				if !bytes.HasPrefix(body, []byte("{")) {
					if len(body) != 120000 || !bytes.Equal(body, bytes.Repeat([]byte("0123456789abcdef"), 7500)) {
						t.Errorf("stream %d: %d-byte body is not the /big pattern", id, len(body))
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
					t.Errorf("stream %d: response body %v", id, err)
				}
				bodies = append(bodies, v.Path)
			}
			sort.Strings(reqs)
			sort.Strings(bodies)
			host := "127.0.0.1:" + map[string]string{"quic-v1-h3": "19443", "quic-v2-h3": "19444", "quic-v1-h3-nogso": "19445", "quic-v1-h3-retry": "19446", "quic-v1-h3-keyupdate": "19447"}[name]
			want := []string{"GET " + host + "/ping", "GET " + host + "/track?imei=356938035643809&android_id=9774d56d682e549c", "POST " + host + "/v1/collect"}
			wantBodies := "/ping /track /v1/collect"
			if strings.HasSuffix(name, "-keyupdate") {
				want = append([]string{"GET " + host + "/big"}, want...)
				wantBodies = "/big " + wantBodies
			}
			if strings.Join(reqs, "\n") != strings.Join(want, "\n") || strings.Join(bodies, " ") != wantBodies {
				t.Errorf("requests %q, bodies %q", reqs, bodies)
			}
		})
	}
}
