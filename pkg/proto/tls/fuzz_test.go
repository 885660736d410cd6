package tls

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

// transcriptSeeds returns the testdata transcripts.
func transcriptSeeds(f *testing.F) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.transcript"))
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzClientHello(f *testing.F) {
	f.Add(buildClientHello(foxioExample))
	f.Add(buildOddCiphers())
	for _, tr := range transcriptSeeds(f) {
		for _, c := range readTranscript(tr) {
			if c.dir == proto.ToServer && len(c.data) > 5 {
				f.Add(c.data[5:]) // first record body: the ClientHello
				break
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := ParseClientHello(msg)
		if err != nil {
			return
		}
		ch.JA3()
		ch.JA4(JA4TCP)
		ch.JA4Raw(JA4QUIC)
		ParseServerHello(msg)
		ParseCertificates(msg, time.Time{})
	})
}

// FuzzStream feeds a transcript (dir, length, bytes)* to a Stream, whole
// and byte by byte; both must give the same session.
func FuzzStream(f *testing.F) {
	for _, tr := range transcriptSeeds(f) {
		f.Add(tr)
	}
	f.Add([]byte{0, 0, 0, 0, 6, 22, 3, 1, 0, 1, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		chunks := readTranscript(raw)
		a := feed(chunks, 0)
		b := feed(chunks, 1)
		if len(a) != len(b) {
			t.Fatalf("%d events whole, %d byte by byte", len(a), len(b))
		}
		s := NewStream(nil)
		for i, c := range chunks {
			if i%3 == 2 {
				s.Gap(c.dir, len(c.data), proto.Meta{})
				continue
			}
			s.Data(c.dir, c.data, proto.Meta{})
		}
		s.End(proto.Meta{})
	})
}

// TestWriteFuzzSeeds refreshes the committed seed corpora with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	fuzzseed.Write(t, "FuzzClientHello", "foxio-example", buildClientHello(foxioExample))
	files, _ := filepath.Glob(filepath.Join("testdata", "*.transcript"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		name := strings.TrimSuffix(filepath.Base(p), ".transcript")
		fuzzseed.Write(t, "FuzzStream", name, b)
		for _, c := range readTranscript(b) {
			if c.dir == proto.ToServer && len(c.data) > 5 {
				fuzzseed.Write(t, "FuzzClientHello", name, c.data[5:])
				break
			}
		}
	}
}
