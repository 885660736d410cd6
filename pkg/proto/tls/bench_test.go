package tls

import (
	"os"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

func BenchmarkParseClientHello(b *testing.B) {
	msg := buildClientHello(foxioExample)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := ParseClientHello(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientHelloFingerprints(b *testing.B) {
	ch, err := ParseClientHello(buildClientHello(foxioExample))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ch.JA3()
		ch.JA4(JA4TCP)
	}
}

// BenchmarkStream runs a whole TLS 1.2 handshake with a certificate.
func BenchmarkStream(b *testing.B) {
	raw, err := os.ReadFile("testdata/tls12-valid.transcript")
	if err != nil {
		b.Fatal(err)
	}
	chunks := readTranscript(raw)
	var n int64
	for _, c := range chunks {
		n += int64(len(c.data))
	}
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		s := NewStream(nil)
		for _, c := range chunks {
			s.Data(c.dir, c.data, proto.Meta{})
		}
		s.End(proto.Meta{})
	}
}
