package http2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/tlsdecrypt"
)

// TestDecryptedRealStacks reads the HTTP/2 that real stacks sent inside
// TLS: the loopback captures of pkg/tlsdecrypt (curl with nghttp2 against
// Go's net/http server, made by fixtures/decrypt/make.sh with key logs),
// decrypted by pkg/tlsdecrypt and handed to this decoder as the engine
// will once decryption is wired. Requests (frame, method, authority,
// path) must match tshark's HTTP/2 dissection of the same capture with
// the same key log (the .http.json files), and every stream must decode
// without a flag.
func TestDecryptedRealStacks(t *testing.T) {
	dir := filepath.Join("..", "..", "tlsdecrypt", "testdata")
	pcaps, _ := filepath.Glob(filepath.Join(dir, "*-h2.pcap"))
	if len(pcaps) == 0 {
		t.Skip("no HTTP/2 captures in pkg/tlsdecrypt/testdata")
	}
	for _, pcap := range pcaps {
		name := strings.TrimSuffix(pcap, ".pcap")
		t.Run(filepath.Base(name), func(t *testing.T) {
			f, err := os.Open(name + ".keys")
			if err != nil {
				t.Fatal(err)
			}
			keys := keylog.New()
			err = keys.Read(f, name+".keys")
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			streams := 0
			for _, c := range pcaptest.Conns(t, pcap) {
				p := New(Limits{}, func(ev *Event) {
					streams++
					if len(ev.Flags) > 0 {
						t.Errorf("stream %d: flags %v", ev.StreamID, ev.Flags)
					}
					if r := ev.Request; r != nil {
						got = append(got, fmt.Sprintf("frame %d %s %s %s", r.Frame, r.Method, r.Authority, r.URI))
					}
				})
				s := tlsdecrypt.New(keys, &tlsdecrypt.Inner{P: p}, tlsdecrypt.DefaultLimits())
				for _, ch := range c.Chunks {
					m := proto.Meta{Frame: ch.Frame}
					if ch.Gap > 0 {
						s.Gap(ch.Dir, ch.Gap, m)
					} else {
						s.Data(ch.Dir, ch.Data, m)
					}
				}
				s.End(proto.Meta{})
				p.End(proto.Meta{})
			}
			want := tsharkH2(t, name+".http.json")
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests\n got %q\nwant %q", got, want)
			}
			t.Logf("%d streams, %d requests as tshark", streams, len(got))
		})
	}
}

// tsharkH2 reads the HTTP/2 requests of a tshark -T json export
// (-e frame.number -e http2.headers.method -e http2.headers.authority
// -e http2.headers.path).
func tsharkH2(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(b, &pkts); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkts {
		l := p.Source.Layers
		for i, m := range l["http2.headers.method"] {
			at := func(k string) string {
				if i < len(l[k]) {
					return l[k][i]
				}
				return ""
			}
			out = append(out, fmt.Sprintf("frame %s %s %s %s", l["frame.number"][0], m, at("http2.headers.authority"), at("http2.headers.path")))
		}
	}
	return out
}
