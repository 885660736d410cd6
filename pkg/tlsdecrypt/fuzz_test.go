package tlsdecrypt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/pkg/keylog"
)

// FuzzStream feeds stream calls (internal/fuzzseed format) to a Stream
// holding the secrets of every testdata capture, so mutations of the real
// sessions reach the record layer with keys that authenticate. Checked:
// no panic, the Handler contract (offsets contiguous, one stop per
// direction), bounded buffers.
func FuzzStream(f *testing.F) {
	pcaps, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	keys := keylog.New()
	for _, p := range pcaps {
		b, err := os.ReadFile(strings.TrimSuffix(p, ".pcap") + ".keys")
		if err != nil {
			f.Fatal(err)
		}
		if err := keys.Read(strings.NewReader(string(b)), p); err != nil {
			f.Fatal(err)
		}
		f.Add(fuzzseed.Encode(ops(f, p)))
	}
	lim := Limits{MaxBuffer: 1 << 16, MaxHandshake: 1 << 12, MaxSkipped: 4}
	f.Fuzz(func(t *testing.T, in []byte) {
		rec := &recorder{t: t}
		s := New(keys, rec, lim)
		for _, o := range fuzzseed.Decode(in) {
			if o.Gap > 0 {
				s.Gap(o.Dir, o.Gap, metaZero)
			} else {
				s.Data(o.Dir, o.Data, metaZero)
			}
			for i := range s.d {
				if len(s.d[i].buf) > lim.MaxBuffer+0xffff {
					t.Fatalf("buffer %d bytes", len(s.d[i].buf))
				}
			}
		}
		s.End(metaZero)
		if rec.stops[0] == nil || rec.stops[1] == nil {
			t.Fatal("a direction never stopped")
		}
		if len(rec.certs) > 1 || len(rec.certs) == 1 && len(rec.certs[0]) > lim.MaxHandshake {
			t.Fatalf("%d certificate messages", len(rec.certs))
		}
	})
}
