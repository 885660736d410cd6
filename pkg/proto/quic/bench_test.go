package quic

import (
	"os"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
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

// BenchmarkFlow runs every datagram of a real connection (quic-go, no
// GSO: its ClientHello spans two Initials, the second to the server's
// CID) through a Parser, as the engine does for one flow.
func BenchmarkFlow(b *testing.B) {
	pkts, _, ok := pcaptest.Packets(b, "../../quicdecrypt/testdata/quic-v1-h3-nogso.pcap", false)
	if !ok {
		b.Fatal("not a capture")
	}
	var n int64
	for _, p := range pkts {
		n += int64(len(p.Payload))
	}
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		p := NewParser(nil)
		for _, d := range pkts {
			dir := proto.ToServer
			if d.Src.Port() == 19445 {
				dir = proto.ToClient
			}
			p.Datagram(dir, d.Payload, proto.Meta{Frame: uint64(d.Frame)})
		}
		p.End(proto.Meta{})
	}
}
