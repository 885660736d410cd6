package flow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// IP protocol numbers the flow table tracks.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Packet is one transport-layer packet found in a frame. A frame carrying a
// tunnel (VXLAN, Teredo) yields the outer and then the inner packet.
type Packet struct {
	Frame   uint64
	Time    time.Time
	WireLen int // frame length on the wire (bytes counted per flow)

	HasMAC         bool
	SrcMAC, DstMAC [6]byte

	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16 // ICMP: type and code in SrcPort, 0 in DstPort

	// TCP only.
	Seq, Ack uint32
	Flags    uint8 // FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32

	Payload []byte // transport payload as captured
	Claimed int    // payload length according to the IP header (>= len(Payload) when snaplen cut it)
}

// TCP flag bits in Packet.Flags.
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
)

// DecodeStats counts what the decoder saw and skipped.
type DecodeStats struct {
	Frames         uint64
	NonIP          uint64 // ARP, LLDP, 802.11 management...
	ARP            uint64
	Malformed      uint64 // a layer failed to decode
	Truncated      uint64 // frames cut by the snap length
	Fragments      uint64 // IP fragments seen
	Reassembled    uint64 // datagrams rebuilt from fragments
	FragDropped    uint64 // fragments discarded (timeout, overlap, limits)
	UnknownLink    uint64 // frames of a link type we do not decode
	Encrypted80211 uint64
	Tunnels        uint64
	Panics         uint64
}

// Decoder turns frames into transport packets. It is not safe for
// concurrent use; it reuses its layer structs for every frame.
type Decoder struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	loop    layers.Loopback
	radio   layers.RadioTap
	dot11   layers.Dot11
	llc     layers.LLC
	snap    layers.SNAP
	gre     layers.GRE
	vxlan   layers.VXLAN
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6f    layers.IPv6Fragment
	tcp     layers.TCP
	udp     layers.UDP
	df4     *ip4defrag.IPv4Defragmenter
	df6     *ip6defrag.IPv6Defragmenter
	pkt     Packet
	Stats   DecodeStats
	lastGC  time.Time
	depth   int
	frag6   uint64
	scratch []byte
	// OnARP, when set, is called with every Ethernet/IPv4 ARP message
	// (the engine learns LAN addresses and gateways from them).
	OnARP func(*ARP)
	arp   ARP
}

// ARP is one Ethernet/IPv4 ARP message (RFC 826), valid during the call.
type ARP struct {
	Frame              uint64
	Op                 uint16 // 1 request, 2 reply
	SenderMAC          [6]byte
	SenderIP, TargetIP netip.Addr
}

// NewDecoder returns a decoder with IPv4 and IPv6 defragmentation.
func NewDecoder() *Decoder {
	return &Decoder{df4: ip4defrag.NewIPv4Defragmenter(), df6: ip6defrag.NewIPv6Defragmenter()}
}

// fragTimeout is how long, in capture time, fragments wait for the rest.
const fragTimeout = 30 * time.Second

// Decode decodes one frame and calls emit for each transport packet in it.
// The *Packet passed to emit is reused: it is valid only during the call.
// Decode never panics; a panic inside a layer decoder is counted and the
// frame skipped.
func (d *Decoder) Decode(frame uint64, ts time.Time, wireLen int, caplen int, link layers.LinkType, data []byte, emit func(*Packet)) {
	d.Stats.Frames++
	if caplen < wireLen {
		d.Stats.Truncated++
	}
	defer func() {
		if r := recover(); r != nil {
			d.Stats.Panics++
			d.Stats.Malformed++
		}
	}()
	if e := elapsed(ts, d.lastGC); e > fragTimeout/2 || e < 0 {
		d.Stats.FragDropped += uint64(d.df4.DiscardOlderThan(ts.Add(-fragTimeout)))
		d.lastGC = ts
	}
	// Only what may be left from the frame before is reset: every packet
	// emitted has its addresses, protocol, ports, TCP fields and payload
	// set on the way (ipv4, ipv6, transport, portsOnly). Storing a whole
	// Packet would go through the write barriers of its pointer fields
	// while a collection marks.
	p := &d.pkt
	p.Frame, p.Time, p.WireLen = frame, ts, wireLen
	p.HasMAC, p.SrcMAC, p.DstMAC = false, [6]byte{}, [6]byte{}
	d.depth = 0
	d.link(link, data, emit)
}

func (d *Decoder) link(link layers.LinkType, data []byte, emit func(*Packet)) {
	switch link {
	case layers.LinkTypeEthernet:
		d.ethernet(data, emit)
	case layers.LinkTypeLinuxSLL:
		// The address field is a fixed 8-byte window whatever the address
		// length says; gopacket refuses lengths over 8, tshark shows the
		// first 8 bytes and decodes on. The protocol is at the same place
		// either way.
		if len(data) < 16 {
			d.Stats.Malformed++
			return
		}
		d.ethertype(layers.EthernetType(binary.BigEndian.Uint16(data[14:16])), data[16:], emit)
	case 276: // LINKTYPE_LINUX_SLL2, fixed 20-byte header as for SLL
		if len(data) < 20 {
			d.Stats.Malformed++
			return
		}
		d.ethertype(layers.EthernetType(binary.BigEndian.Uint16(data[0:2])), data[20:], emit)
	case layers.LinkTypeRaw, 12, 14, 228, 229: // raw IP (DLT 12/14 on some BSDs), IPv4, IPv6
		d.rawIP(data, emit)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		d.null(link, data, emit)
	case layers.LinkTypePPP, 50: // PPP, PPP in HDLC-like framing
		d.ppp(data, emit)
	case layers.LinkTypeIEEE80211Radio:
		if d.radio.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
			d.Stats.Malformed++
			return
		}
		fcs := len(d.radio.RadioTapValues) > 0 && d.radio.RadioTapValues[0].Flags.FCS()
		d.wifi(d.radio.Payload, fcs, emit)
	case layers.LinkTypeIEEE802_11:
		d.wifi(data, false, emit)
	case 239: // LINKTYPE_NFLOG
		d.nflog(data, emit)
	default:
		d.Stats.UnknownLink++
	}
}

func (d *Decoder) ethernet(data []byte, emit func(*Packet)) {
	if d.eth.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
		d.Stats.Malformed++
		return
	}
	if d.depth == 0 && len(d.eth.SrcMAC) == 6 && len(d.eth.DstMAC) == 6 {
		d.pkt.HasMAC = true
		copy(d.pkt.SrcMAC[:], d.eth.SrcMAC)
		copy(d.pkt.DstMAC[:], d.eth.DstMAC)
	}
	payload := d.eth.Payload
	et := d.eth.EthernetType
	if et < 0x0600 { // 802.3 length field: LLC follows
		if d.llc.DecodeFromBytes(payload, gopacket.NilDecodeFeedback) != nil {
			d.Stats.NonIP++
			return
		}
		if d.llc.DSAP == 0xaa && d.snap.DecodeFromBytes(d.llc.Payload, gopacket.NilDecodeFeedback) == nil {
			d.ethertype(d.snap.Type, d.snap.Payload, emit)
			return
		}
		d.Stats.NonIP++
		return
	}
	d.ethertype(et, payload, emit)
}

func (d *Decoder) ethertype(et layers.EthernetType, data []byte, emit func(*Packet)) {
	for i := 0; i < 8; i++ { // VLAN tags, QinQ
		switch et {
		case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, 0x9100, 0x9200:
			if d.dot1q.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
				d.Stats.Malformed++
				return
			}
			et, data = d.dot1q.Type, d.dot1q.Payload
			continue
		}
		break
	}
	switch et {
	case layers.EthernetTypeIPv4:
		d.ipv4(data, emit)
	case layers.EthernetTypeIPv6:
		d.ipv6(data, emit)
	case layers.EthernetTypePPPoESession:
		// PPPoE session header: ver/type, code, session id, length.
		if len(data) < 6 {
			d.Stats.Malformed++
			return
		}
		n := int(binary.BigEndian.Uint16(data[4:6]))
		data = data[6:]
		if n < len(data) {
			data = data[:n]
		}
		d.pppProto(data, emit)
	case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast:
		d.mpls(data, emit)
	case layers.EthernetTypeARP:
		d.Stats.ARP++
		d.Stats.NonIP++
		// htype 1, ptype IPv4, hlen 6, plen 4, then op and the addresses.
		if d.OnARP != nil && len(data) >= 28 && binary.BigEndian.Uint16(data) == 1 &&
			binary.BigEndian.Uint16(data[2:]) == 0x0800 && data[4] == 6 && data[5] == 4 {
			a := &d.arp
			*a = ARP{Frame: d.pkt.Frame, Op: binary.BigEndian.Uint16(data[6:])}
			copy(a.SenderMAC[:], data[8:14])
			a.SenderIP = netip.AddrFrom4([4]byte(data[14:18]))
			a.TargetIP = netip.AddrFrom4([4]byte(data[24:28]))
			d.OnARP(a)
		}
	default:
		d.Stats.NonIP++
	}
}

// maxMPLSLabels bounds the label stack walked (real stacks hold 1 to 4).
const maxMPLSLabels = 16

// mpls walks an MPLS label stack (4-byte entries, RFC 3032) to the entry
// with the bottom-of-stack bit and decodes the IPv4 or IPv6 packet after
// it, told apart by the version nibble as tshark does. gopacket's
// layers.MPLS has no DecodeFromBytes, and an entry is one 32-bit word.
// Other payloads (pseudowires with a control word) count as non-IP.
func (d *Decoder) mpls(data []byte, emit func(*Packet)) {
	for i := 0; ; i++ {
		if len(data) < 4 || i == maxMPLSLabels {
			d.Stats.Malformed++
			return
		}
		bottom := data[2]&1 != 0
		data = data[4:]
		if bottom {
			break
		}
	}
	if len(data) == 0 {
		d.Stats.Malformed++
		return
	}
	switch data[0] >> 4 {
	case 4:
		d.ipv4(data, emit)
	case 6:
		d.ipv6(data, emit)
	default:
		d.Stats.NonIP++
	}
}

// ppp handles PPP frames with or without the HDLC address/control bytes.
func (d *Decoder) ppp(data []byte, emit func(*Packet)) {
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		data = data[2:]
	}
	d.pppProto(data, emit)
}

func (d *Decoder) pppProto(data []byte, emit func(*Packet)) {
	if len(data) < 1 {
		d.Stats.Malformed++
		return
	}
	var proto uint16
	if data[0]&1 == 1 { // compressed one-byte protocol field
		proto, data = uint16(data[0]), data[1:]
	} else {
		if len(data) < 2 {
			d.Stats.Malformed++
			return
		}
		proto, data = binary.BigEndian.Uint16(data), data[2:]
	}
	switch proto {
	case 0x0021:
		d.ipv4(data, emit)
	case 0x0057:
		d.ipv6(data, emit)
	case 0x0281, 0x0283: // MPLS unicast, multicast
		d.mpls(data, emit)
	default:
		d.Stats.NonIP++
	}
}

func (d *Decoder) null(link layers.LinkType, data []byte, emit func(*Packet)) {
	if len(data) < 4 {
		d.Stats.Malformed++
		return
	}
	fam := binary.LittleEndian.Uint32(data)
	if link == layers.LinkTypeLoop || fam > 0xffff {
		fam = binary.BigEndian.Uint32(data)
	}
	switch fam {
	case 2:
		d.ipv4(data[4:], emit)
	case 10, 24, 28, 30:
		d.ipv6(data[4:], emit)
	default:
		d.rawIP(data[4:], emit)
	}
}

func (d *Decoder) rawIP(data []byte, emit func(*Packet)) {
	if len(data) == 0 {
		d.Stats.Malformed++
		return
	}
	switch data[0] >> 4 {
	case 4:
		d.ipv4(data, emit)
	case 6:
		d.ipv6(data, emit)
	default:
		d.Stats.NonIP++
	}
}

// wifi decodes an 802.11 frame. gopacket's Dot11 always takes the last 4
// bytes as the FCS; frames captured without one get 4 bytes appended.
func (d *Decoder) wifi(data []byte, hasFCS bool, emit func(*Packet)) {
	if !hasFCS {
		d.scratch = append(append(d.scratch[:0], data...), 0, 0, 0, 0)
		data = d.scratch
	}
	if d.dot11.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
		d.Stats.Malformed++
		return
	}
	if d.dot11.Type.MainType() != layers.Dot11TypeData {
		d.Stats.NonIP++
		return
	}
	if d.dot11.Flags.WEP() {
		d.Stats.Encrypted80211++
		return
	}
	payload := d.dot11.Payload
	if d.depth == 0 {
		// Source and destination stations, by the DS bits.
		var src, dst []byte
		switch {
		case !d.dot11.Flags.ToDS() && !d.dot11.Flags.FromDS():
			dst, src = d.dot11.Address1, d.dot11.Address2
		case d.dot11.Flags.ToDS() && !d.dot11.Flags.FromDS():
			src, dst = d.dot11.Address2, d.dot11.Address3
		case !d.dot11.Flags.ToDS() && d.dot11.Flags.FromDS():
			dst, src = d.dot11.Address1, d.dot11.Address3
		default:
			dst, src = d.dot11.Address3, d.dot11.Address4
		}
		if len(src) == 6 && len(dst) == 6 {
			d.pkt.HasMAC = true
			copy(d.pkt.SrcMAC[:], src)
			copy(d.pkt.DstMAC[:], dst)
		}
	}
	if d.llc.DecodeFromBytes(payload, gopacket.NilDecodeFeedback) != nil {
		d.Stats.Malformed++
		return
	}
	if d.llc.DSAP == 0xaa && d.snap.DecodeFromBytes(d.llc.Payload, gopacket.NilDecodeFeedback) == nil {
		d.ethertype(d.snap.Type, d.snap.Payload, emit)
		return
	}
	d.Stats.NonIP++
}

// nflog parses the NFLOG TLVs and decodes the packet payload attribute.
func (d *Decoder) nflog(data []byte, emit func(*Packet)) {
	if len(data) < 4 {
		d.Stats.Malformed++
		return
	}
	family := data[0]
	data = data[4:]
	for len(data) >= 4 {
		l := int(binary.LittleEndian.Uint16(data))
		typ := binary.LittleEndian.Uint16(data[2:])
		if l < 4 || l > len(data) {
			d.Stats.Malformed++
			return
		}
		if typ == 9 { // NFULA_PAYLOAD
			switch family {
			case 2:
				d.ipv4(data[4:l], emit)
			case 10:
				d.ipv6(data[4:l], emit)
			default:
				d.rawIP(data[4:l], emit)
			}
			return
		}
		l = (l + 3) &^ 3
		if l > len(data) {
			return
		}
		data = data[l:]
	}
}

func (d *Decoder) ipv4(data []byte, emit func(*Packet)) {
	ip := &d.ip4
	if err := ip.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
		d.Stats.Malformed++
		return
	}
	claimed := int(ip.Length) - int(ip.IHL)*4
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		d.Stats.Fragments++
		if len(ip.Payload) < claimed {
			// A fragment cut by the snap length cannot be reassembled.
			// The first one is decoded as it stands, its transport header
			// and the payload there is (tshark does the same: it
			// reassembles only fragments it has whole).
			d.Stats.FragDropped++
			if ip.FragOffset != 0 {
				return
			}
			src, _ := netip.AddrFromSlice(ip.SrcIP)
			dst, _ := netip.AddrFromSlice(ip.DstIP)
			d.pkt.Src, d.pkt.Dst = src.Unmap(), dst.Unmap()
			d.transport(uint8(ip.Protocol), ip.Payload, claimed, emit)
			return
		}
		// The defragmenter keeps the layer it is given: hand it a copy
		// that does not point into the reused frame buffer.
		cp := *ip
		cp.Contents, cp.Options, cp.Padding = nil, nil, nil
		cp.SrcIP, cp.DstIP, cp.Payload = copy3(ip.SrcIP, ip.DstIP, ip.Payload)
		out, err := d.df4.DefragIPv4WithTimestamp(&cp, d.pkt.Time)
		if err != nil {
			d.Stats.FragDropped++
			return
		}
		if out == nil {
			return
		}
		d.Stats.Reassembled++
		ip = out
		claimed = len(ip.Payload)
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP)
	dst, _ := netip.AddrFromSlice(ip.DstIP)
	d.pkt.Src, d.pkt.Dst = src.Unmap(), dst.Unmap()
	d.transport(uint8(ip.Protocol), ip.Payload, claimed, emit)
}

// copy3 copies a, b and c into one new array (one allocation instead of
// three), each capped so that appending to one cannot reach the next.
func copy3(a, b, c []byte) ([]byte, []byte, []byte) {
	buf := make([]byte, len(a)+len(b)+len(c))
	i, j := len(a), len(a)+len(b)
	copy(buf, a)
	copy(buf[i:], b)
	copy(buf[j:], c)
	return buf[:i:i], buf[i:j:j], buf[j:]
}

func (d *Decoder) ipv6(data []byte, emit func(*Packet)) {
	ip := &d.ip6
	if err := ip.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
		d.Stats.Malformed++
		return
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP)
	dst, _ := netip.AddrFromSlice(ip.DstIP)
	claimed := int(ip.Length)
	if ip.Length == 0 && ip.HopByHop != nil {
		claimed = len(ip.Payload) // jumbogram
	}
	next := ip.NextHeader
	payload := ip.Payload
	if ip.HopByHop != nil {
		// gopacket consumed the hop-by-hop header; Payload starts after it.
		claimed -= len(ip.Contents) - 40
		next = ip.HopByHop.NextHeader
	}
	for i := 0; i < 16; i++ {
		switch next {
		case layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination, layers.IPProtocolIPv6HopByHop, 135, 139, 140, layers.IPProtocolAH:
			if len(payload) < 8 {
				d.Stats.Malformed++
				return
			}
			n := (int(payload[1]) + 1) * 8 // length in 8-octet units, not counting the first
			if next == layers.IPProtocolAH {
				n = (int(payload[1]) + 2) * 4 // AH counts 4-octet units, minus 2
			}
			if n > len(payload) {
				d.Stats.Malformed++
				return
			}
			next = layers.IPProtocol(payload[0])
			payload = payload[n:]
			claimed -= n
			continue
		case layers.IPProtocolIPv6Fragment:
			d.Stats.Fragments++
			if err := d.ip6f.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
				d.Stats.Malformed++
				return
			}
			if len(payload)-8 < claimed-8 {
				d.Stats.FragDropped++
				return
			}
			if d.ip6f.FragmentOffset == 0 && !d.ip6f.MoreFragments {
				// Atomic fragment: no reassembly needed.
				next = d.ip6f.NextHeader
				payload = payload[8:]
				claimed -= 8
				continue
			}
			// ip6defrag expects the fragment header to follow the IPv6
			// header directly; present it that way.
			// The defragmenter keeps what it is given: copies, not
			// slices of the reused frame buffer.
			cp := layers.IPv6{Version: 6, TrafficClass: ip.TrafficClass, FlowLabel: ip.FlowLabel, HopLimit: ip.HopLimit,
				NextHeader: layers.IPProtocolIPv6Fragment,
				SrcIP:      append([]byte(nil), ip.SrcIP...), DstIP: append([]byte(nil), ip.DstIP...)}
			fg := d.ip6f
			fg.Contents = nil
			fg.Payload = append([]byte(nil), d.ip6f.Payload...)
			d.frag6++
			if d.frag6%4096 == 0 {
				// ip6defrag ages fragment lists by the wall clock.
				d.Stats.FragDropped += uint64(d.df6.DiscardOlderThan(time.Now().Add(-2 * time.Second)))
			}
			out := d.df6.DefragIPv6(&cp, &fg)
			if out == nil {
				return
			}
			d.Stats.Reassembled++
			next = out.NextHeader
			payload = out.Payload
			claimed = len(payload)
			continue
		}
		break
	}
	d.pkt.Src, d.pkt.Dst = src, dst
	d.transport(uint8(next), payload, claimed, emit)
}

func (d *Decoder) transport(proto uint8, data []byte, claimed int, emit func(*Packet)) {
	p := &d.pkt
	p.Proto = proto
	p.Seq, p.Ack, p.Flags = 0, 0, 0
	switch proto {
	case ProtoTCP:
		if err := d.tcp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			d.Stats.Malformed++
			d.portsOnly(data, emit)
			return
		}
		t := &d.tcp
		p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
		p.Seq, p.Ack = t.Seq, t.Ack
		var f uint8
		if t.FIN {
			f |= FlagFIN
		}
		if t.SYN {
			f |= FlagSYN
		}
		if t.RST {
			f |= FlagRST
		}
		if t.PSH {
			f |= FlagPSH
		}
		if t.ACK {
			f |= FlagACK
		}
		if t.URG {
			f |= FlagURG
		}
		p.Flags = f
		p.Payload = t.Payload
		p.Claimed = claimed - int(t.DataOffset)*4
		if p.Claimed < len(p.Payload) {
			p.Claimed = len(p.Payload)
		}
		emit(p)
	case ProtoUDP:
		if err := d.udp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			d.Stats.Malformed++
			d.portsOnly(data, emit)
			return
		}
		u := &d.udp
		p.SrcPort, p.DstPort = uint16(u.SrcPort), uint16(u.DstPort)
		p.Payload = u.Payload
		if int(u.Length) >= 8 && int(u.Length)-8 < len(p.Payload) {
			p.Payload = p.Payload[:int(u.Length)-8]
		}
		p.Claimed = int(u.Length) - 8
		if p.Claimed < len(p.Payload) {
			p.Claimed = len(p.Payload)
		}
		emit(p)
		d.udpTunnel(emit)
	case ProtoICMP, ProtoICMPv6:
		if len(data) < 4 {
			d.Stats.Malformed++
			return
		}
		p.SrcPort, p.DstPort = uint16(data[0])<<8|uint16(data[1]), 0
		p.Payload = data[4:]
		p.Claimed = len(p.Payload)
		emit(p)
	case 47: // GRE
		if d.depth >= 3 {
			return
		}
		if d.gre.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
			d.Stats.Malformed++
			return
		}
		d.depth++
		d.Stats.Tunnels++
		if d.gre.Protocol == layers.EthernetTypeTransparentEthernetBridging {
			d.ethernet(d.gre.Payload, emit)
		} else {
			d.ethertype(d.gre.Protocol, d.gre.Payload, emit)
		}
	case 4: // IP in IP
		if d.depth < 3 {
			d.depth++
			d.ipv4(data, emit)
		}
	case 41: // IPv6 in IP
		if d.depth < 3 {
			d.depth++
			d.ipv6(data, emit)
		}
	default:
		d.Stats.NonIP++
	}
}

// portsOnly counts a packet whose transport header was cut short: the
// ports are enough to place it in its flow; it carries no payload.
func (d *Decoder) portsOnly(data []byte, emit func(*Packet)) {
	if len(data) < 4 {
		return
	}
	p := &d.pkt
	p.SrcPort, p.DstPort = binary.BigEndian.Uint16(data), binary.BigEndian.Uint16(data[2:])
	p.Payload, p.Claimed = nil, 0
	emit(p)
}

// udpTunnel decodes VXLAN (4789) and Teredo (3544) payloads after the
// outer UDP packet was emitted.
func (d *Decoder) udpTunnel(emit func(*Packet)) {
	p := &d.pkt
	if d.depth >= 3 {
		return
	}
	switch {
	case p.DstPort == 4789 || p.SrcPort == 4789:
		if d.vxlan.DecodeFromBytes(p.Payload, gopacket.NilDecodeFeedback) != nil || !d.vxlan.ValidIDFlag {
			return
		}
		d.depth++
		d.Stats.Tunnels++
		d.ethernet(d.vxlan.Payload, emit)
	case p.DstPort == 3544 || p.SrcPort == 3544:
		b := p.Payload
		// Teredo may prefix authentication (0x0001) or origin (0x0000) indicators.
		for i := 0; i < 2 && len(b) >= 2 && b[0] == 0; i++ {
			switch b[1] {
			case 1:
				if len(b) < 4 {
					return
				}
				n := 4 + int(b[2]) + int(b[3]) + 9
				if n > len(b) {
					return
				}
				b = b[n:]
			case 0:
				if len(b) < 8 {
					return
				}
				b = b[8:]
			default:
				return
			}
		}
		if len(b) >= 40 && b[0]>>4 == 6 {
			d.depth++
			d.Stats.Tunnels++
			d.ipv6(b, emit)
		}
	}
}
