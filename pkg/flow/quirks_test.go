package flow

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// Capture quirks that tshark reads: MPLS label stacks, Linux cooked
// headers whose address length is over 8, IPv4 first fragments cut by the
// snap length. Each case is a crafted capture; the golden file holds what
// the decoder emits, and TestQuirksTshark checks the same frames against
// tshark when it is installed.

type quirk struct {
	name   string
	link   layers.LinkType
	frames []craft.Frame
}

const (
	macA = "02:00:00:00:00:0a"
	macB = "02:00:00:00:00:0b"
)

var (
	v4a, v4b = netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.1")
	v6a, v6b = netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::1")
)

func quirks() []quirk {
	q := craft.DNSQuery(0x1111, "mpls.example.com", 0)
	q6 := craft.DNSQuery(0x2222, "mpls6.example.com", layers.DNSTypeAAAA)
	var addrs []string
	for i := 1; i <= 80; i++ {
		addrs = append(addrs, fmt.Sprintf("192.0.2.%d", i))
	}
	bigAnswer := craft.DNSAnswer(0x3333, "frag.example.com", nil, addrs...)
	// First fragment of the big answer at a 1480-byte MTU payload, cut to
	// 200 bytes by the snap length.
	first := craft.FirstFragment(v4b, v4a, 53, 40000, bigAnswer[:min(len(bigAnswer), 1472)], len(bigAnswer), 1480)
	cut := craft.Ether(macB, macA, 0x0800, first)
	// A later fragment cut the same way: it cannot be decoded.
	later := bytes.Clone(first)
	later[6], later[7] = 0x20, 0xb9 // MF, offset 185*8 = 1480
	later[10], later[11] = 0, 0
	laterFrame := craft.Ether(macB, macA, 0x0800, later)
	return []quirk{
		{name: "mpls-ipv4", link: layers.LinkTypeEthernet, frames: []craft.Frame{
			{Data: craft.Ether(macA, macB, 0x8847, craft.MPLS([]uint32{16, 1000}, craft.IPUDP(v4a, v4b, 40000, 53, q)))},
			{Data: craft.Ether(macA, macB, 0x8848, craft.MPLS([]uint32{17}, craft.IPUDP(v4a, v4b, 40001, 53, q)))},
		}},
		{name: "mpls-ipv6", link: layers.LinkTypeEthernet, frames: []craft.Frame{
			{Data: craft.Ether(macA, macB, 0x8847, craft.MPLS([]uint32{16, 17, 18}, craft.IPUDP(v6a, v6b, 40002, 53, q6)))},
		}},
		{name: "mpls-malformed", link: layers.LinkTypeEthernet, frames: []craft.Frame{
			// A stack with no bottom entry, then a pseudowire control word.
			{Data: craft.Ether(macA, macB, 0x8847, []byte{0, 1, 0, 64, 0, 2, 0, 64})},
			{Data: craft.Ether(macA, macB, 0x8847, craft.MPLS([]uint32{20}, append([]byte{0, 0, 0, 0}, craft.Ether(macA, macB, 0x0800, craft.IPUDP(v4a, v4b, 40003, 53, q))...)))},
		}},
		{name: "sll-addrlen", link: layers.LinkTypeLinuxSLL, frames: []craft.Frame{
			{Data: craft.SLL(6, []byte{2, 0, 0, 0, 0, 0xa}, 0x0800, craft.IPUDP(v4a, v4b, 40004, 53, q))},
			{Data: craft.SLL(10, []byte{1, 2, 3, 4, 5, 6, 7, 8}, 0x0800, craft.IPUDP(v4a, v4b, 40005, 53, q))},
			{Data: craft.SLL(0xffff, nil, 0x86dd, craft.IPUDP(v6a, v6b, 40006, 53, q6))},
		}},
		{name: "sll2-addrlen", link: 276, frames: []craft.Frame{
			{Data: craft.SLL2(12, []byte{1, 2, 3, 4, 5, 6, 7, 8}, 0x0800, craft.IPUDP(v4a, v4b, 40007, 53, q))},
		}},
		{name: "first-fragment-cut", link: layers.LinkTypeEthernet, frames: []craft.Frame{
			{Data: cut[:200], Wire: len(cut)},
			{Data: laterFrame[:200], Wire: len(laterFrame)},
		}},
	}
}

func (q quirk) pcap(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := craft.WriteFrames(&b, q.link, time.Unix(1700000000, 0), q.frames); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decoded is one emitted packet as the tests compare it.
type decoded struct {
	frame            uint64
	src, dst         netip.Addr
	sport, dport     uint16
	payload, claimed int
	qname            string
}

func decodeQuirk(t *testing.T, q quirk) ([]decoded, DecodeStats) {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(q.pcap(t)), q.name)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	var out []decoded
	var f capture.Frame
	for r.Next(&f) == nil {
		d.Decode(f.N, f.CI.Timestamp, f.CI.Length, f.CI.CaptureLength, f.Link, f.Data, func(p *Packet) {
			name, _, _ := dns.ReadName(nil, p.Payload, 12)
			out = append(out, decoded{frame: p.Frame, src: p.Src, dst: p.Dst, sport: p.SrcPort, dport: p.DstPort,
				payload: len(p.Payload), claimed: p.Claimed, qname: string(name)})
		})
	}
	return out, d.Stats
}

func TestQuirksGolden(t *testing.T) {
	for _, q := range quirks() {
		t.Run(q.name, func(t *testing.T) {
			pkts, st := decodeQuirk(t, q)
			var b strings.Builder
			for _, p := range pkts {
				fmt.Fprintf(&b, "frame=%d %s:%d > %s:%d payload=%d claimed=%d qname=%s\n", p.frame, p.src, p.sport, p.dst, p.dport, p.payload, p.claimed, p.qname)
			}
			fmt.Fprintf(&b, "stats %+v\n", st)
			goldenPath := filepath.Join("testdata", "quirk-"+q.name+".golden")
			golden.Check(t, goldenPath, []byte(b.String()))
		})
	}
}

// TestQuirksTshark checks, frame by frame, that the decoder delivers a UDP
// datagram exactly where tshark dissects one, with the same endpoints,
// ports and first query name.
func TestQuirksTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	for _, q := range quirks() {
		t.Run(q.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), q.name+".pcap")
			if err := os.WriteFile(path, q.pcap(t), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=|", "-Y", "udp",
				"-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
				"-e", "udp.srcport", "-e", "udp.dstport", "-e", "dns.qry.name").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l == "" {
					continue
				}
				f := strings.Split(l, "|")
				// Inner header last: MPLS-carried Ethernet repeats fields.
				last := func(s string) string { return s[strings.LastIndex(s, ",")+1:] }
				src, dst := last(f[1]+f[2]), last(f[3]+f[4])
				want = append(want, fmt.Sprintf("%s %s:%s > %s:%s %s", f[0], src, f[5], dst, f[6], strings.Split(f[7], ",")[0]))
			}
			pkts, _ := decodeQuirk(t, q)
			var got []string
			for _, p := range pkts {
				got = append(got, fmt.Sprintf("%d %s:%d > %s:%d %s", p.frame, p.src, p.sport, p.dst, p.dport, p.qname))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("decoder:\n%s\ntshark:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
