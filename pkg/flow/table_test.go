package flow

import (
	"net/netip"
	"testing"
	"time"
)

func TestElapsedMatchesSub(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 500, time.UTC)
	for _, tc := range []struct{ now, then time.Time }{
		{base, base},
		{base.Add(time.Second), base},
		{base, base.Add(1500 * time.Millisecond)},
		{base.Add(10*time.Minute + 999999999), base.Add(1)},
		{time.Unix(0, 0), time.Unix(1<<32, 999)},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), base},
		{time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), base},
		{base, time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got, want := elapsed(tc.now, tc.then), tc.now.Sub(tc.then); got != want {
			t.Errorf("elapsed(%v, %v) = %v, Sub says %v", tc.now, tc.then, got, want)
		}
	}
}

func TestHashIsSymmetricAndSpreads(t *testing.T) {
	const shards = 4
	var count [shards]int
	for i := 0; i < 4000; i++ {
		p := Packet{Proto: ProtoTCP,
			Src: netip.AddrFrom4([4]byte{192, 168, 1, byte(i % 40)}), SrcPort: uint16(40000 + i),
			Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 7)}), DstPort: 443}
		if i%2 == 1 {
			p.Dst = netip.MustParseAddr("2001:db8::1")
			p.Src = netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(i)})
		}
		r := p
		r.Src, r.Dst, r.SrcPort, r.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		if p.Hash() != r.Hash() {
			t.Fatalf("packet %d: the two directions hash differently", i)
		}
		count[p.Hash()%shards]++
	}
	for s, n := range count {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d got %d of 4000 flows: %v", s, n, count)
		}
	}
}
