package tls

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
)

// The corpus check reads captures with gopacket (test-only; the engine's
// flow table replaces this) and reassembles TCP naively: per direction,
// segments sorted by sequence number, overlaps dropped.

type tlsTruth struct {
	TLS struct {
		SNIs         []string `json:"snis"`
		ClientHellos []struct {
			Transport string   `json:"transport"`
			Src       string   `json:"src"`
			Sport     uint16   `json:"sport"`
			Dst       string   `json:"dst"`
			Dport     uint16   `json:"dport"`
			Frame     uint64   `json:"frame"`
			SNI       []string `json:"sni"`
			JA3       string   `json:"ja3"`
		} `json:"client_hellos"`
		ServerHellos []struct {
			Transport string `json:"transport"`
			Src       string `json:"src"`
			Sport     uint16 `json:"sport"`
			Dst       string `json:"dst"`
			Dport     uint16 `json:"dport"`
			Selected  string `json:"selected_version"`
			Cipher    string `json:"cipher_suite"`
		} `json:"server_hellos"`
	} `json:"tls"`
}

// corpusExceptions are captures whose truth tshark derives from context we
// do not have in a TLS-only stream parser.
var corpusExceptions = map[string]string{
	"zeek/tls/smtp-starttls.pcap":                            "STARTTLS: TLS starts mid-stream after SMTP; the SMTP decoder must hand the stream over",
	"pcapplusplus/pcapng-example.pcapng":                     "MySQL on 3306 switches to TLS after its own greeting (like STARTTLS); needs a MySQL decoder to hand over",
	"pcapplusplus/file_heuristics/pcapng-example.pcapng.zst": "same capture as pcapplusplus/pcapng-example.pcapng (MySQL SSL upgrade)",
}

type segment struct {
	seq   uint32
	frame uint64
	ts    time.Time
	data  []byte
}

type tcpConn struct {
	client, server netip.AddrPort
	segs           [2][]segment
	synSeq         [2]*uint32
}

func TestCorpusTLS(t *testing.T) {
	var total, sniOK, ja3OK, shTotal, shOK, invented int
	for _, e := range corpus.Dev(t) {
		var truth tlsTruth
		corpus.LoadTruth(t, e, &truth)
		var want int
		for _, ch := range truth.TLS.ClientHellos {
			if ch.Transport == "tcp" {
				want++
			}
		}
		if want == 0 {
			continue
		}
		if why, ok := corpusExceptions[e.Name()]; ok {
			t.Logf("%s: skipped: %s", e.Name(), why)
			continue
		}
		conns, seqs := readTCP(t, e.Path)
		type key struct {
			c, s netip.AddrPort
		}
		got := map[key][]ClientHelloInfo{}
		gotSH := map[key][]ServerHelloInfo{}
		for _, c := range conns {
			var evs []audit.Event
			s := NewStream(func(ev audit.Event) { evs = append(evs, ev) })
			feedConn(s, c)
			for _, ev := range evs {
				ss := ev.Fields.(*Session)
				k := key{c.client, c.server}
				got[k] = append(got[k], ss.ClientHellos...)
				if ss.HelloRetry != nil {
					gotSH[k] = append(gotSH[k], *ss.HelloRetry)
				}
				if ss.ServerHello != nil {
					gotSH[k] = append(gotSH[k], *ss.ServerHello)
				}
				for _, ch := range ss.ClientHellos {
					if ch.SNI != "" && !slices.Contains(truth.TLS.SNIs, ch.SNI) {
						invented++
						t.Errorf("%s: SNI %q not in truth", e.Name(), ch.SNI)
					}
				}
			}
		}
		used := map[key]int{}
		seenSeq := map[key][]uint32{}
		for _, ch := range truth.TLS.ClientHellos {
			if ch.Transport != "tcp" {
				continue
			}
			k := key{ap(ch.Src, ch.Sport), ap(ch.Dst, ch.Dport)}
			if sq, ok := seqs[ch.Frame]; ok && slices.Contains(seenSeq[k], sq) {
				// tshark lists a retransmitted segment's ClientHello again;
				// reassembly sees the bytes once.
				t.Logf("%s: frame %d: retransmitted ClientHello, counted once", e.Name(), ch.Frame)
				continue
			} else if ok {
				seenSeq[k] = append(seenSeq[k], sq)
			}
			total++
			i := used[k]
			used[k]++
			if i >= len(got[k]) {
				t.Logf("%s: frame %d: ClientHello %v not decoded", e.Name(), ch.Frame, ch.SNI)
				continue
			}
			g := got[k][i]
			wantSNI := ""
			if len(ch.SNI) > 0 {
				wantSNI = ch.SNI[0]
			}
			if g.SNI == wantSNI {
				sniOK++
			} else {
				t.Errorf("%s: frame %d: SNI %q, want %q", e.Name(), ch.Frame, g.SNI, wantSNI)
			}
			if g.JA3Hash == ch.JA3 {
				ja3OK++
			} else {
				t.Errorf("%s: frame %d: JA3 %s, want %s (%s)", e.Name(), ch.Frame, g.JA3Hash, ch.JA3, g.JA3)
			}
		}
		usedSH := map[key]int{}
		for _, sh := range truth.TLS.ServerHellos {
			if sh.Transport != "tcp" {
				continue
			}
			shTotal++
			k := key{ap(sh.Dst, sh.Dport), ap(sh.Src, sh.Sport)}
			i := usedSH[k]
			usedSH[k]++
			if i >= len(gotSH[k]) {
				t.Logf("%s: ServerHello %s:%d not decoded", e.Name(), sh.Src, sh.Sport)
				continue
			}
			g := gotSH[k][i]
			if fmt.Sprintf("0x%04x", g.Version) == sh.Selected && fmt.Sprintf("0x%04x", g.CipherSuite) == sh.Cipher {
				shOK++
			} else {
				t.Errorf("%s: ServerHello %#04x/%#04x, want %s/%s", e.Name(), g.Version, g.CipherSuite, sh.Selected, sh.Cipher)
			}
		}
	}
	if total == 0 {
		t.Skip("no TLS in the dev corpus")
	}
	t.Logf("ClientHello SNI recall %d/%d (%.1f%%), JA3 %d/%d, ServerHello version+cipher %d/%d, invented SNIs %d",
		sniOK, total, 100*float64(sniOK)/float64(total), ja3OK, total, shOK, shTotal, invented)
	if float64(sniOK) < 0.99*float64(total) {
		t.Errorf("SNI recall %d/%d below 99%%", sniOK, total)
	}
}

func ap(ip string, port uint16) netip.AddrPort {
	a, _ := netip.ParseAddr(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}

// feedConn reassembles each direction by sequence number and feeds the
// pieces to s in frame order.
func feedConn(s proto.StreamParser, c *tcpConn) {
	type piece struct {
		dir   proto.Dir
		frame uint64
		ts    time.Time
		data  []byte
		gap   int
	}
	var pieces []piece
	for d := range 2 {
		segs := c.segs[d]
		if len(segs) == 0 {
			continue
		}
		base := segs[0].seq
		if c.synSeq[d] != nil {
			base = *c.synSeq[d] + 1
		} else {
			for _, sg := range segs {
				if int32(sg.seq-base) < 0 {
					base = sg.seq
				}
			}
		}
		sort.SliceStable(segs, func(i, j int) bool { return int32(segs[i].seq-base) < int32(segs[j].seq-base) })
		var next uint32 // offset from base
		for _, sg := range segs {
			off := sg.seq - base
			end := off + uint32(len(sg.data))
			if int32(end-next) <= 0 {
				continue // retransmission
			}
			data := sg.data
			gap := 0
			if int32(off-next) > 0 {
				gap = int(off - next)
			} else {
				data = data[next-off:]
			}
			pieces = append(pieces, piece{proto.Dir(d), sg.frame, sg.ts, data, gap})
			next = end
		}
	}
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].frame < pieces[j].frame })
	var last proto.Meta
	for _, p := range pieces {
		m := proto.Meta{Frame: p.frame, Time: p.ts}
		if p.gap > 0 {
			s.Gap(p.dir, p.gap, m)
		}
		s.Data(p.dir, p.data, m)
		last = m
	}
	s.End(last)
}

// openCapture returns a reader for a pcap or pcapng file, decompressing
// gzip and zstd.
func openCapture(t testing.TB, path string) (func() ([]byte, gopacket.CaptureInfo, layers.LinkType, error), func()) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	magic, _ := br.Peek(4)
	closeFn := func() { f.Close() }
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		r = bufio.NewReader(gz)
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		r = bufio.NewReader(zr)
		closeFn = func() { zr.Close(); f.Close() }
	}
	br2 := r.(*bufio.Reader)
	magic, _ = br2.Peek(4)
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br2, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			closeFn()
			return nil, nil
		}
		return func() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
			data, ci, err := ng.ReadPacketData()
			lt := ng.LinkType()
			if err == nil {
				if intf, ierr := ng.Interface(ci.InterfaceIndex); ierr == nil {
					lt = intf.LinkType
				}
			}
			return data, ci, lt, err
		}, closeFn
	}
	pr, err := pcapgo.NewReader(br2)
	if err != nil {
		closeFn()
		return nil, nil
	}
	return func() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
		data, ci, err := pr.ReadPacketData()
		return data, ci, pr.LinkType(), err
	}, closeFn
}

// readTCP groups TCP payloads by connection, in order of first packet, and
// returns each frame's TCP sequence number.
func readTCP(t testing.TB, path string) ([]*tcpConn, map[uint64]uint32) {
	t.Helper()
	seqs := map[uint64]uint32{}
	next, closeFn := openCapture(t, path)
	if next == nil {
		return nil, seqs
	}
	defer closeFn()
	type key struct{ a, b netip.AddrPort }
	conns := map[key]*tcpConn{}
	var order []*tcpConn
	for frame := uint64(1); ; frame++ {
		data, ci, lt, err := next()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tl, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tl == nil || pkt.NetworkLayer() == nil {
			continue
		}
		srcIP, _ := netip.AddrFromSlice(pkt.NetworkLayer().NetworkFlow().Src().Raw())
		dstIP, _ := netip.AddrFromSlice(pkt.NetworkLayer().NetworkFlow().Dst().Raw())
		src := netip.AddrPortFrom(srcIP.Unmap(), uint16(tl.SrcPort))
		dst := netip.AddrPortFrom(dstIP.Unmap(), uint16(tl.DstPort))
		c := conns[key{src, dst}]
		dir := proto.ToServer
		if c == nil {
			if c = conns[key{dst, src}]; c != nil {
				dir = proto.ToClient
			}
		}
		if c == nil {
			c = &tcpConn{client: src, server: dst}
			if tl.SYN && tl.ACK { // capture started at the SYN-ACK
				c = &tcpConn{client: dst, server: src}
				dir = proto.ToClient
			}
			conns[key{c.client, c.server}] = c
			order = append(order, c)
		} else if tl.SYN && !tl.ACK && c.client != src { // port reuse
			continue
		}
		if tl.SYN {
			seq := tl.Seq
			c.synSeq[dir] = &seq
			continue
		}
		seqs[frame] = tl.Seq
		if len(tl.Payload) > 0 {
			c.segs[dir] = append(c.segs[dir], segment{tl.Seq, frame, ci.Timestamp, bytes.Clone(tl.Payload)})
		}
	}
	return order, seqs
}
