package engine

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/flow"
)

// TestBatchKeepsPackets: a packet comes out of a batch exactly as it went
// in, whether its pointer-free form holds it or it is kept whole (a zone,
// another time zone, a payload larger than the arena).
func TestBatchKeepsPackets(t *testing.T) {
	ts := time.Unix(1700000000, 123456789).UTC()
	base := flow.Packet{Frame: 7, Time: ts, WireLen: 1514, HasMAC: true, SrcMAC: [6]byte{1, 2, 3, 4, 5, 6}, DstMAC: [6]byte{6, 5, 4, 3, 2, 1},
		Src: netip.MustParseAddr("192.168.1.2"), Dst: netip.MustParseAddr("203.0.113.9"), Proto: flow.ProtoTCP,
		SrcPort: 40000, DstPort: 443, Seq: 1 << 31, Ack: 99, Flags: flow.FlagACK | flow.FlagPSH, Payload: []byte("hello"), Claimed: 9}
	cases := map[string]func(p *flow.Packet){
		"ipv4": func(p *flow.Packet) {},
		"ipv6": func(p *flow.Packet) {
			p.Src, p.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::2")
		},
		"v4-mapped ipv6": func(p *flow.Packet) { p.Src = netip.MustParseAddr("::ffff:10.0.0.1") },
		"zero address":   func(p *flow.Packet) { p.Src = netip.Addr{} },
		"zone":           func(p *flow.Packet) { p.Src = netip.MustParseAddr("fe80::1%eth0") },
		"zero time":      func(p *flow.Packet) { p.Time = time.Time{} },
		"local time":     func(p *flow.Packet) { p.Time = ts.In(time.FixedZone("X", 3600)) },
		"no payload":     func(p *flow.Packet) { p.Payload = nil },
		"large payload":  func(p *flow.Packet) { p.Payload = bytes.Repeat([]byte{7}, batchArena+1) },
		"udp, no MAC": func(p *flow.Packet) {
			p.Proto, p.HasMAC, p.SrcMAC, p.DstMAC, p.Seq, p.Ack, p.Flags = flow.ProtoUDP, false, [6]byte{}, [6]byte{}, 0, 0, 0
		},
		"wire length cap": func(p *flow.Packet) { p.WireLen = 1 << 40 },
		"reply": func(p *flow.Packet) {
			p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		},
		"icmp reply": func(p *flow.Packet) {
			p.Src, p.Dst, p.Proto, p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags = p.Dst, p.Src, flow.ProtoICMP, 0x0300, 0, 0, 0, 0
		},
		"ipv4 to ipv6": func(p *flow.Packet) { p.Src = netip.MustParseAddr("2001:db8::1") },
	}
	pl := &pool{groups: []*group{{}}, cur: []*batch{nil}, in: []chan *batch{make(chan *batch, 64)}, free: make(chan *batch, 1)}
	var want []flow.Packet
	for name, f := range cases {
		p := base
		p.Payload = append([]byte(nil), base.Payload...)
		f(&p)
		want = append(want, p)
		key, swapped := p.Tuple()
		pl.add(0, &p, &key, swapped, 3, name == "zone")
		p.Payload = append(p.Payload[:0:0], 0xff) // the reader's buffer is reused
	}
	pl.send(0)
	close(pl.in[0])
	// Every field of what get fills differs from every case's: a field
	// get leaves alone shows.
	poison := flow.Packet{Frame: 1 << 60, Time: time.Unix(1, 1).In(time.FixedZone("P", 60)), WireLen: -1, HasMAC: true,
		SrcMAC: [6]byte{9, 9, 9, 9, 9, 9}, DstMAC: [6]byte{9, 9, 9, 9, 9, 8}, Src: netip.MustParseAddr("198.51.100.99"),
		Dst: netip.MustParseAddr("198.51.100.98"), Proto: 99, SrcPort: 9, DstPort: 8, Seq: 9, Ack: 8, Flags: 0xff,
		Payload: []byte("poison"), Claimed: -1}
	var got flow.Packet
	i := 0
	for b := range pl.in[0] {
		for j := range b.pkts {
			got = poison
			b.get(&b.pkts[j], &got)
			if len(got.Payload) == 0 {
				got.Payload = nil
			}
			w := want[i]
			if len(w.Payload) == 0 {
				w.Payload = nil
			}
			if !reflect.DeepEqual(got, w) || got.Time != w.Time || got.Src != w.Src || got.Dst != w.Dst {
				t.Errorf("packet %d: got %+v, want %+v", i, got, w)
			}
			if key, swapped := w.Tuple(); b.pkts[j].key != key || b.pkts[j].swapped != swapped {
				t.Errorf("packet %d: tuple %+v (swapped %v), want %+v (%v)", i, b.pkts[j].key, b.pkts[j].swapped, key, swapped)
			}
			if b.pkts[j].shard != 3 {
				t.Errorf("packet %d: shard %d", i, b.pkts[j].shard)
			}
			i++
		}
	}
	if i != len(want) {
		t.Errorf("%d packets out, %d in", i, len(want))
	}
}
