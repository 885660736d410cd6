package flow

import (
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestPerPacketPathDoesNotAllocate guards the hot path: decoding a frame of
// an existing TCP or UDP flow and accounting it in the table allocate
// nothing.
func TestPerPacketPathDoesNotAllocate(t *testing.T) {
	frs := frames(t, "demo.pcap")
	tab := NewTable(Config{}, discard{})
	d := NewDecoder()
	ts := time.Unix(1700000000, 0)
	for i, f := range frs { // create every flow first
		d.Decode(uint64(i+1), ts, len(f), len(f), layers.LinkTypeEthernet, f, tab.Add)
	}
	// A mid-connection data segment and a DNS datagram of existing flows.
	var tcpFrame, udpFrame []byte
	for _, f := range frs {
		d.Decode(1, ts, len(f), len(f), layers.LinkTypeEthernet, f, func(p *Packet) {
			if p.Proto == ProtoTCP && len(p.Payload) > 0 && p.Flags&(FlagSYN|FlagFIN|FlagRST) == 0 && tcpFrame == nil {
				tcpFrame = f
			}
			if p.Proto == ProtoUDP && udpFrame == nil {
				udpFrame = f
			}
		})
	}
	for name, f := range map[string][]byte{"tcp": tcpFrame, "udp": udpFrame} {
		n := uint64(1000)
		allocs := testing.AllocsPerRun(200, func() {
			n++
			d.Decode(n, ts, len(f), len(f), layers.LinkTypeEthernet, f, tab.Add)
		})
		if allocs > 0 {
			t.Errorf("%s: %.1f allocations per packet, want 0", name, allocs)
		}
	}
}
