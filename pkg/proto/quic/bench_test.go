package quic

import (
	"os"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// BenchmarkInitialDecrypt derives keys, removes header protection,
// decrypts a 1200-byte client Initial and parses its ClientHello.
func BenchmarkInitialDecrypt(b *testing.B) {
	raw, err := os.ReadFile("testdata/v1-simple.datagrams")
	if err != nil {
		b.Fatal(err)
	}
	d := readDatagrams(raw)[0]
	b.ReportAllocs()
	b.SetBytes(int64(len(d.data)))
	for b.Loop() {
		p := NewParser(nil)
		p.Datagram(d.dir, d.data, proto.Meta{})
		if p.SNI() == "" {
			b.Fatal("no SNI")
		}
	}
}
