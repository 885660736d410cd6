package engine

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/flow"
)

// FuzzLANEvidence feeds arbitrary bytes to the capture-order evidence
// readers as a DHCP datagram, a router advertisement, an ARP message and a
// run of DNS-over-TCP segments: no panic, and every set stays bounded.
func FuzzLANEvidence(f *testing.F) {
	ra := []byte{64, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 64, 0xc0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
		0x20, 1, 0xd, 0xb8, 0, 0x5a, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	f.Add(ra)
	f.Add(dhcpServerSeed())
	f.Add([]byte{0, 12, 0x30, 0x01, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newLANEvidence()
		src, dst := netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("255.255.255.255")
		mac := [6]byte{2, 0, 0, 0, 0, 1}
		p := flow.Packet{HasMAC: true, SrcMAC: mac, DstMAC: [6]byte{2, 0, 0, 0, 0, 2}, Src: src, Dst: dst,
			Proto: flow.ProtoUDP, SrcPort: 67, DstPort: 68, Payload: b, Claimed: len(b)}
		l.packet(&p)
		p.Proto, p.SrcPort, p.DstPort = flow.ProtoICMPv6, 134<<8, 0
		p.Src, p.Dst = netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")
		l.packet(&p)
		if len(b) >= 28 {
			a := flow.ARP{Op: binary.BigEndian.Uint16(b), SenderMAC: [6]byte(b[2:8]),
				SenderIP: netip.AddrFrom4([4]byte(b[8:12])), TargetIP: netip.AddrFrom4([4]byte(b[12:16]))}
			l.arp(&a)
		}
		if len(l.prefixes) > maxLANPrefixes {
			t.Fatalf("%d prefixes", len(l.prefixes))
		}
		for _, pr := range l.prefixes {
			if pr.Bits() < 8 {
				t.Fatalf("prefix %v is too wide to be a LAN", pr)
			}
		}
		// DNS over TCP: the bytes split in three segments, the middle one
		// sent twice and one out of order.
		td := newTCPDNS()
		seq := uint32(1000)
		n := 0
		emit := func(m *flow.Packet) {
			n++
			if len(m.Payload) > 65535 {
				t.Fatalf("message of %d bytes", len(m.Payload))
			}
		}
		cut := [...]int{0, len(b) / 3, 2 * len(b) / 3, len(b)}
		for _, i := range []int{0, 1, 1, 2} {
			seg := flow.Packet{Proto: flow.ProtoTCP, Src: src, Dst: netip.MustParseAddr("192.168.1.20"), SrcPort: 53, DstPort: 40000,
				Seq: seq + uint32(cut[i]), Flags: flow.FlagACK, Payload: b[cut[i]:cut[i+1]], Claimed: cut[i+1] - cut[i]}
			td.segment(&seg, emit)
		}
		if n > len(b)/2+1 {
			t.Fatalf("%d messages from %d bytes", n, len(b))
		}
	})
}

// dhcpServerSeed is a minimal DHCP ACK with a /24 mask and a router option.
func dhcpServerSeed() []byte {
	b := make([]byte, 240)
	b[0], b[1], b[2] = 2, 1, 6
	copy(b[16:20], []byte{192, 168, 1, 20})
	copy(b[236:240], []byte{99, 130, 83, 99})
	b = append(b, 53, 1, 5, 1, 4, 255, 255, 255, 0, 3, 4, 192, 168, 1, 1, 54, 4, 192, 168, 1, 1, 255)
	return b
}
