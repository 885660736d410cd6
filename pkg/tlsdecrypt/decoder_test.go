package tlsdecrypt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/http2"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// testPick picks the HTTP/1.x or HTTP/2 decoder as the engine's Spec list
// would, and records their requests in sink as "http" events.
func testPick(sink *prototest.Sink) Pick {
	return func(in proto.DetectInput) (proto.StreamDecoder, proto.Verdict) {
		switch {
		case http2.Detect(in.Up):
			return http2.New(http2.Limits{}, func(ev *http2.Event) {
				if r := ev.Request; r != nil {
					sink.Emit("http", proto.Meta{Frame: r.Frame}, request{r.Method, r.Authority, r.URI})
				}
			}), proto.Yes
		case phttp.Detect(in.Up):
			return phttp.New(phttp.Limits{}, func(ev *phttp.Event) {
				if r := ev.Request; r != nil {
					sink.Emit("http", proto.Meta{Frame: r.Frame}, request{r.Method, r.Host, r.URI})
				}
				ev.Release()
			}), proto.Yes
		case len(in.Up) < 4:
			return nil, proto.NeedMore
		}
		return nil, proto.No
	}
}

// helloRecorder stands for the TLS handshake decoder: it counts what it is
// fed, which must be every byte, with or without keys.
type helloRecorder struct {
	bytes [2]int
	ended int
}

func (h *helloRecorder) Data(dir proto.Dir, b []byte, _ proto.Meta) { h.bytes[dir] += len(b) }
func (h *helloRecorder) Gap(proto.Dir, int, proto.Meta)             {}
func (h *helloRecorder) End(proto.Meta)                             { h.ended++ }

type decoded struct {
	reqs     []request
	outcomes map[string]int
	channels map[string]int
	fed      [2]int
	sent     [2]int
}

// decodeCapture runs every TCP connection of a capture through a Decoder.
func decodeCapture(t *testing.T, pcap string, keys *keylog.Log) decoded {
	t.Helper()
	out := decoded{outcomes: map[string]int{}, channels: map[string]int{}}
	for _, c := range pcaptest.Conns(t, pcap) {
		sink := &prototest.Sink{}
		hello := &helloRecorder{}
		d := NewDecoder(DecoderConfig{Keys: keys, Hello: hello, Pick: testPick(sink), ServerPort: c.Server.Port()})
		for _, ch := range c.Chunks {
			m := proto.Meta{Frame: ch.Frame}
			if ch.Gap > 0 {
				d.Gap(ch.Dir, ch.Gap, m)
			} else {
				d.Data(ch.Dir, ch.Data, m)
				out.sent[ch.Dir] += len(ch.Data)
			}
		}
		d.End(proto.Meta{})
		d.End(proto.Meta{}) // a second End is harmless
		if hello.ended != 1 {
			t.Errorf("%s: handshake decoder ended %d times", c.Server, hello.ended)
		}
		out.fed[0] += hello.bytes[0]
		out.fed[1] += hello.bytes[1]
		for _, ev := range sink.Events {
			out.reqs = append(out.reqs, ev.Fields.(request))
		}
		o, r := d.Outcome()
		out.outcomes[o+" "+r]++
		out.channels[d.Channel()]++
	}
	return out
}

// TestDecoderRealStacks: every HTTP/1.x and HTTP/2 request tshark decrypts
// in the captures of real stacks (testdata) and of real browsers (the
// shared corpus) reaches the inner decoder chosen from the plaintext; with
// no key or another capture's keys nothing does, and the sessions count
// as "no-key".
func TestDecoderRealStacks(t *testing.T) {
	pcaps, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	if dir := corpus.Dir(); dir != "" {
		pcaps = append(pcaps, filepath.Join(dir, "decrypt", "tls-1.2-stream-keylog.pcap"), filepath.Join(dir, "decrypt", "tls12-decryption.pcap"))
	} else {
		t.Log("shared corpus not found: its captures are skipped")
	}
	other := loadKeys(t, filepath.Join("testdata", "tls13-aes128gcm.keys"))
	for _, pcap := range pcaps {
		base := strings.TrimSuffix(pcap, ".pcap")
		t.Run(filepath.Base(base), func(t *testing.T) {
			if _, err := os.Stat(base + ".http.json"); err != nil {
				t.Skip("no truth: ", err)
			}
			want := tsharkRequests(t, base+".http.json")
			got := decodeCapture(t, pcap, loadKeys(t, base+".keys"))
			if err := sameRequests(got.reqs, want); err != nil {
				t.Error(err)
			}
			if got.fed != got.sent {
				t.Errorf("handshake decoder fed %v bytes of %v", got.fed, got.sent)
			}
			for ch, n := range got.channels {
				if !strings.HasSuffix(ch, " (decrypted)") || !strings.HasPrefix(ch, "TLS1.") {
					t.Errorf("%d sessions with channel %q", n, ch)
				}
			}
			for o, n := range got.outcomes {
				if o != "decrypted " {
					t.Errorf("%d sessions %q", n, o)
				}
			}
			t.Logf("%d requests as tshark; channels %v", len(got.reqs), got.channels)
			if filepath.Base(base) == "tls13-aes128gcm" {
				return
			}
			for name, keys := range map[string]*keylog.Log{"no keys": keylog.New(), "other keys": other} {
				got := decodeCapture(t, pcap, keys)
				if len(got.reqs) > 0 {
					t.Errorf("%s: %d requests", name, len(got.reqs))
				}
				for o, n := range got.outcomes {
					if o != "no-key no-key" {
						t.Errorf("%s: %d sessions %q", name, n, o)
					}
				}
				for ch := range got.channels {
					if strings.Contains(ch, "decrypted") {
						t.Errorf("%s: channel %q", name, ch)
					}
				}
			}
		})
	}
}

// TestDecoderPick checks the hand-over on made-up plaintext: held bytes
// reach the chosen decoder first and in order, a No leaves the plaintext
// undecoded and counted, and NeedMore is asked again.
func TestDecoderPick(t *testing.T) {
	for _, tc := range []struct {
		name      string
		chunks    []Chunk
		want      [2]string // what the inner decoder got per direction
		undecoded [2]int64
	}{
		{"http in pieces", []Chunk{{Dir: 0, Data: []byte("GE")}, {Dir: 0, Data: []byte("T / HTTP/1.1\r\n")}, {Dir: 1, Data: []byte("HTTP/1.1 200 OK\r\n")}},
			[2]string{"GET / HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n"}, [2]int64{}},
		{"server first, then client", []Chunk{{Dir: 1, Data: []byte("220 ")}, {Dir: 0, Data: []byte("GET /")}},
			[2]string{"GET /", "220 "}, [2]int64{}},
		{"server first (HTTP/2 SETTINGS in TLS 1.3), Pick asked once the client spoke", []Chunk{{Dir: 1, Data: []byte{0, 0, 0, 4}}, {Dir: 1, Data: []byte{0, 0}}, {Dir: 0, Data: []byte("GET")}},
			[2]string{"GET", "\x00\x00\x00\x04\x00\x00"}, [2]int64{}},
		{"only the server spoke", []Chunk{{Dir: 1, Data: []byte("* OK")}}, [2]string{}, [2]int64{0, 4}},
		{"not decodable", []Chunk{{Dir: 0, Data: []byte{0, 1, 2, 3, 4}}, {Dir: 1, Data: []byte{9, 9}}, {Dir: 0, Data: []byte{5}}},
			[2]string{}, [2]int64{6, 2}},
		{"too short to tell at the end", []Chunk{{Dir: 0, Data: []byte("G")}}, [2]string{}, [2]int64{1, 0}},
		{"no plaintext: Pick is not asked", nil, [2]string{}, [2]int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]strings.Builder
			rec := &recordingDecoder{got: &got}
			pick := func(in proto.DetectInput) (proto.StreamDecoder, proto.Verdict) {
				if len(in.Up)+len(in.Down) == 0 {
					t.Error("Pick asked about no plaintext")
				}
				switch {
				case strings.HasPrefix(string(in.Up), "GET"):
					return rec, proto.Yes
				case len(in.Up) == 0 && len(in.Down) > 0 && len(in.Down) < 4:
					t.Errorf("Pick asked about %q from the server alone", in.Down)
				case len(in.Up) < 3:
					return nil, proto.NeedMore
				}
				return nil, proto.No
			}
			d := NewDecoder(DecoderConfig{Keys: keylog.New(), Pick: pick})
			for _, c := range tc.chunks {
				(*decoderHandler)(d).Plaintext(c)
			}
			d.End(proto.Meta{})
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Errorf("dir %d: inner got %q, want %q", i, got[i].String(), tc.want[i])
				}
			}
			if d.Undecoded() != tc.undecoded {
				t.Errorf("undecoded %v, want %v", d.Undecoded(), tc.undecoded)
			}
		})
	}
}

type recordingDecoder struct{ got *[2]strings.Builder }

func (r *recordingDecoder) Data(dir proto.Dir, b []byte, _ proto.Meta) { r.got[dir].Write(b) }
func (r *recordingDecoder) Gap(proto.Dir, int, proto.Meta)             {}
func (r *recordingDecoder) End(proto.Meta)                             {}
