package flow

import (
	"encoding/binary"
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

// TestTableKeyMatchesKey: the map key orders the endpoints as keyOf does,
// tells the families apart, and the hash is the one computed from Key
// before the map key existed (the shards a flow lands on must not move).
func TestTableKeyMatchesKey(t *testing.T) {
	oldHash := func(p *Packet) uint64 {
		k, _ := keyOf(p)
		a, b := k.A.Addr().As16(), k.B.Addr().As16()
		le := binary.LittleEndian
		h := uint64(k.Proto)<<32 | uint64(k.A.Port())<<16 | uint64(k.B.Port())
		for _, w := range [4]uint64{le.Uint64(a[:8]), le.Uint64(a[8:]), le.Uint64(b[:8]), le.Uint64(b[8:])} {
			h = mix64(h ^ w)
		}
		return h
	}
	addrs := []netip.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"), netip.MustParseAddr("::ffff:10.0.0.1"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ffff::1")}
	seen := map[Tuple]Key{}
	for _, proto := range []uint8{ProtoTCP, ProtoUDP, ProtoICMP} {
		for _, src := range addrs {
			for _, dst := range addrs {
				for _, ports := range [][2]uint16{{0, 0}, {1, 2}, {2, 1}, {443, 443}, {65535, 80}} {
					p := &Packet{Proto: proto, Src: src, Dst: dst, SrcPort: ports[0], DstPort: ports[1]}
					k, _ := keyOf(p)
					tk := tableKeyOf(p)
					want := k.tableKey()
					if tk != want {
						t.Fatalf("%v %v:%d > %v:%d: map key %+v, want %+v (keyOf %v)", proto, src, ports[0], dst, ports[1], tk, want, k)
					}
					if o, ok := seen[tk]; ok && o != k {
						t.Fatalf("keys %v and %v share a map key", o, k)
					}
					seen[tk] = k
					if got, want := p.Hash(), oldHash(p); got != want {
						t.Fatalf("%v: hash %x, was %x", k, got, want)
					}
					// The tuple gives the packet's addresses back, and
					// which is the source.
					_, srcFirst := keyOf(p)
					ta, swapped := p.Tuple()
					a, b := ta.Addrs()
					if swapped {
						a, b = b, a
					}
					if a != src || b != dst || swapped == srcFirst {
						t.Fatalf("%v %v:%d > %v:%d: tuple addresses %v, %v (swapped %v)", proto, src, ports[0], dst, ports[1], a, b, swapped)
					}
				}
			}
		}
	}
}
