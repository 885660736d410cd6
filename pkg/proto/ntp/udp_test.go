package ntp

// This file is the same small UDP extractor in pkg/proto/{dns,dhcp,ntp,ssdp,stun,netbios}
// tests: the corpus tests run before the engine exists, so they read the
// captures with gopacket directly. TCP is not reassembled here.

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"
)

type datagram struct {
	frame    int
	time     time.Time
	src, dst netip.AddrPort
	payload  []byte
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readUDP returns every UDP datagram of the capture at path (IPv4
// fragments reassembled), numbered like tshark frames, and how many frames
// it read. It returns ok=false for formats it cannot read.
func readUDP(t *testing.T, path string) (out []datagram, frames int, ok bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".zst") {
		d, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err = d.DecodeAll(raw, nil)
		d.Close()
		if err != nil {
			t.Logf("zstd: %v", err)
			return nil, 0, false
		}
	}
	var src packetSource
	link := func(gopacket.CaptureInfo) layers.LinkType { return 0 }
	switch {
	case len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{SkipUnknownVersion: true})
		if err != nil {
			return nil, 0, false
		}
		src = r
		link = func(ci gopacket.CaptureInfo) layers.LinkType {
			if i, err := r.Interface(ci.InterfaceIndex); err == nil {
				return i.LinkType
			}
			return r.LinkType()
		}
	case len(raw) >= 8 && string(raw[:8]) == "snoop\x00\x00\x00":
		r, err := pcapgo.NewSnoopReader(bytes.NewReader(raw))
		if err != nil {
			return nil, 0, false
		}
		lt, err := r.LinkType()
		if err != nil {
			return nil, 0, false
		}
		src = r
		link = func(gopacket.CaptureInfo) layers.LinkType { return *lt }
	default:
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, 0, false
		}
		src = r
		link = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}
	defrag := ip4defrag.NewIPv4Defragmenter()
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			if err != io.EOF {
				t.Logf("%s: stopped at frame %d: %v", path, frame, err)
			}
			break
		}
		frames = frame
		p := gopacket.NewPacket(data, link(ci), gopacket.DecodeOptions{NoCopy: true})
		if d, ok := udpOf(p, defrag); ok {
			d.frame, d.time = frame, ci.Timestamp
			out = append(out, d)
		}
	}
	return out, frames, true
}

func udpOf(p gopacket.Packet, defrag *ip4defrag.IPv4Defragmenter) (datagram, bool) {
	var d datagram
	var srcIP, dstIP netip.Addr
	var udp *layers.UDP
	for _, l := range p.Layers() {
		switch v := l.(type) {
		case *layers.IPv4:
			if v.Flags&layers.IPv4MoreFragments != 0 || v.FragOffset != 0 {
				whole, err := defrag.DefragIPv4(v)
				if err != nil || whole == nil || whole.Protocol != layers.IPProtocolUDP {
					return d, false
				}
				q := gopacket.NewPacket(whole.Payload, layers.LayerTypeUDP, gopacket.Default)
				u, ok := q.Layer(layers.LayerTypeUDP).(*layers.UDP)
				if !ok {
					return d, false
				}
				srcIP, _ = netip.AddrFromSlice(whole.SrcIP)
				dstIP, _ = netip.AddrFromSlice(whole.DstIP)
				udp = u
				goto done
			}
			srcIP, _ = netip.AddrFromSlice(v.SrcIP)
			dstIP, _ = netip.AddrFromSlice(v.DstIP)
		case *layers.IPv6:
			srcIP, _ = netip.AddrFromSlice(v.SrcIP)
			dstIP, _ = netip.AddrFromSlice(v.DstIP)
		case *layers.UDP:
			udp = v
			goto done
		}
	}
done:
	if udp == nil || !srcIP.IsValid() {
		return d, false
	}
	d.src = netip.AddrPortFrom(srcIP.Unmap(), uint16(udp.SrcPort))
	d.dst = netip.AddrPortFrom(dstIP.Unmap(), uint16(udp.DstPort))
	d.payload = udp.Payload
	return d, true
}

func hasPort(d datagram, ports ...uint16) bool {
	for _, p := range ports {
		if d.src.Port() == p || d.dst.Port() == p {
			return true
		}
	}
	return false
}
