package tlsdecrypt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// TestCorpusDecrypt decrypts the real browser sessions of the shared
// corpus (Zeek's TLS 1.2 traces with their key logs) and finds every HTTP
// request tshark shows with the same keys. Without the keys, nothing is
// decrypted and every session reports ErrNoKey.
func TestCorpusDecrypt(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	for _, name := range []string{"tls-1.2-stream-keylog", "tls12-decryption"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, "decrypt", name)
			if _, err := os.Stat(base + ".pcap"); err != nil {
				t.Skip("not in this corpus: ", err)
			}
			want := tsharkRequests(t, base+".http.json")
			var got []request
			var bytes int64
			for _, s := range decryptCapture(t, base+".pcap", loadKeys(t, base+".keys")) {
				if s.status.Version == 0 {
					continue // not TLS
				}
				reqs, err := http1Requests(s.rec.plain[0].Bytes())
				if err != nil {
					t.Errorf("%s: %v", s.conn.Server, err)
				}
				got = append(got, reqs...)
				bytes += s.status.Bytes[0] + s.status.Bytes[1]
				for d, e := range s.rec.stops {
					if !errors.Is(e, ErrClosed) && !errors.Is(e, ErrEnd) {
						t.Errorf("%s dir %d: %v", s.conn.Server, d, e)
					}
				}
			}
			if err := sameRequests(got, want); err != nil {
				t.Error(err)
			}
			t.Logf("%d requests as tshark; %d plaintext bytes", len(got), bytes)

			// No keys: no plaintext, every TLS session "no key".
			for _, s := range decryptCapture(t, base+".pcap", keylog.New()) {
				if s.rec.plain[0].Len()+s.rec.plain[1].Len() > 0 {
					t.Errorf("%s: plaintext without keys", s.conn.Server)
				}
				if s.status.Version != 0 && !errors.Is(s.rec.stops[0], ErrNoKey) {
					t.Errorf("%s: without keys: %v", s.conn.Server, s.rec.stops[0])
				}
			}
		})
	}
}

// TestCorpusThroughHTTPParser feeds the decrypted Zeek sessions to the
// project's own HTTP parser (pkg/proto/http) through Inner, as the engine
// will: every tshark request is an event with the same method, host and
// URI.
func TestCorpusThroughHTTPParser(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	for _, name := range []string{"tls-1.2-stream-keylog", "tls12-decryption"} {
		base := filepath.Join(dir, "decrypt", name)
		if _, err := os.Stat(base + ".pcap"); err != nil {
			continue
		}
		keys := loadKeys(t, base+".keys")
		var got []request
		for _, c := range pcaptest.Conns(t, base+".pcap") {
			inner := &Inner{P: phttp.New(phttp.DefaultLimits(), func(e *phttp.Event) {
				if e.Request != nil {
					got = append(got, request{e.Request.Method, e.Request.Host, e.Request.URI})
				}
			})}
			s := New(keys, inner, DefaultLimits())
			for _, ch := range c.Chunks {
				if ch.Gap > 0 {
					s.Gap(ch.Dir, ch.Gap, proto.Meta{Frame: ch.Frame})
				} else {
					s.Data(ch.Dir, ch.Data, proto.Meta{Frame: ch.Frame})
				}
			}
			s.End(proto.Meta{})
			for _, e := range inner.Stops {
				if Abnormal(e) {
					t.Errorf("%s: %v", c.Server, e)
				}
			}
		}
		if err := sameRequests(got, tsharkRequests(t, base+".http.json")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
