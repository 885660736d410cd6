package http

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/proto"
)

// This file holds a deliberately naive TCP replay for the corpus check, in
// the absence of the engine: per connection, each direction's segments are
// sorted by sequence number, retransmitted bytes are dropped, holes become
// Gap calls, and the two directions are interleaved by frame number.

type segment struct {
	frame uint64
	seq   uint32
	data  []byte
}

type conn struct {
	first     uint64
	client    netip.AddrPort // side that sent the SYN, or the first packet
	synSeen   bool
	segs      [2][]segment // by proto.Dir
	isn       [2]uint32
	haveISN   [2]bool
	firstTime [2]uint64
}

type chunk struct {
	frame uint64
	dir   proto.Dir
	data  []byte
	gap   int
}

func readCapture(path string) (func() ([]byte, layers.LinkType, error), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, err
	}
	if string(magic) == "\x0a\x0d\x0d\x0a" {
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			return nil, err
		}
		return func() ([]byte, layers.LinkType, error) {
			d, ci, err := r.ReadPacketData()
			if err != nil {
				return nil, 0, err
			}
			lt := r.LinkType()
			if in, err := r.Interface(ci.InterfaceIndex); err == nil {
				lt = in.LinkType
			}
			return d, lt, nil
		}, nil
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, err
	}
	return func() ([]byte, layers.LinkType, error) {
		d, _, err := r.ReadPacketData()
		return d, r.LinkType(), err
	}, nil
}

// tcpStreams replays the TCP connections of a capture as ordered chunks.
func tcpStreams(t *testing.T, path string) [][]chunk {
	next, err := readCapture(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	conns := map[[2]netip.AddrPort]*conn{}
	var order []*conn
	for frame := uint64(1); ; frame++ {
		data, lt, err := next()
		if errors.Is(err, io.EOF) || (err != nil && frame > 1<<20) {
			break
		}
		if err != nil {
			break
		}
		if lt == linkTypeNFLog {
			data, lt = nflogPayload(data)
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.NoCopy)
		tl, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tl == nil || pkt.NetworkLayer() == nil {
			continue
		}
		var src, dst netip.Addr
		switch nl := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(nl.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(nl.DstIP.To4())
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(nl.SrcIP)
			dst, _ = netip.AddrFromSlice(nl.DstIP)
		default:
			continue
		}
		a := netip.AddrPortFrom(src, uint16(tl.SrcPort))
		b := netip.AddrPortFrom(dst, uint16(tl.DstPort))
		key := [2]netip.AddrPort{a, b}
		if b.Compare(a) < 0 {
			key = [2]netip.AddrPort{b, a}
		}
		c := conns[key]
		if c == nil || (tl.SYN && !tl.ACK && c.synSeen && len(c.segs[0])+len(c.segs[1]) > 0) {
			c = &conn{first: frame, client: a}
			conns[key] = c
			order = append(order, c)
		}
		if tl.SYN && !tl.ACK && !c.synSeen {
			c.synSeen, c.client = true, a
		}
		if tl.SYN && tl.ACK && !c.synSeen {
			c.synSeen, c.client = true, b
		}
		dir := proto.ToServer
		if a != c.client {
			dir = proto.ToClient
		}
		seq := tl.Seq
		if tl.SYN {
			seq++
			c.isn[dir], c.haveISN[dir] = seq, true
		}
		if len(tl.Payload) == 0 {
			continue
		}
		if !c.haveISN[dir] {
			c.isn[dir], c.haveISN[dir] = seq, true
		}
		c.segs[dir] = append(c.segs[dir], segment{frame: frame, seq: seq - c.isn[dir], data: slices.Clone(tl.Payload)})
	}
	var out [][]chunk
	for _, c := range order {
		// Without a SYN, the client is the side that starts with a request.
		if !c.synSeen && len(c.segs[0]) > 0 && len(c.segs[1]) > 0 &&
			sniffRequest(c.segs[1][0].data) == yes && sniffRequest(c.segs[0][0].data) != yes {
			c.segs[0], c.segs[1] = c.segs[1], c.segs[0]
		}
		var chunks []chunk
		for d := range c.segs {
			segs := c.segs[d]
			sort.SliceStable(segs, func(i, j int) bool { return int32(segs[i].seq-segs[j].seq) < 0 })
			var next uint32
			for i, s := range segs {
				if i == 0 {
					next = s.seq
				}
				end := s.seq + uint32(len(s.data))
				if int32(end-next) <= 0 {
					continue // retransmission
				}
				data := s.data
				if int32(s.seq-next) < 0 {
					data = data[next-s.seq:]
				} else if s.seq != next {
					chunks = append(chunks, chunk{frame: s.frame, dir: proto.Dir(d), gap: int(s.seq - next)})
				}
				chunks = append(chunks, chunk{frame: s.frame, dir: proto.Dir(d), data: data})
				next = end
			}
		}
		sort.SliceStable(chunks, func(i, j int) bool { return chunks[i].frame < chunks[j].frame })
		out = append(out, chunks)
	}
	return out
}

const linkTypeNFLog = 239 // gopacket has no NFLOG decoder

// nflogPayload returns the packet inside an NFLOG record (the TLV of type
// NFULA_PAYLOAD, 9) and the link type for it: raw IPv4 or IPv6 by family.
func nflogPayload(b []byte) ([]byte, layers.LinkType) {
	if len(b) < 4 {
		return nil, layers.LinkTypeRaw
	}
	lt := layers.LinkTypeIPv4
	if b[0] == 10 { // AF_INET6
		lt = layers.LinkTypeIPv6
	}
	for b = b[4:]; len(b) >= 4; {
		n, typ := int(b[0])|int(b[1])<<8, int(b[2])|int(b[3])<<8
		if n < 4 || n > len(b) {
			break
		}
		if typ&0x7fff == 9 {
			return b[4:n], lt
		}
		b = b[min(len(b), (n+3)&^3):]
	}
	return nil, lt
}

type truthHTTP struct {
	HTTP struct {
		Requests []struct {
			Transport string  `json:"transport"`
			Frame     uint64  `json:"frame"`
			Method    string  `json:"method"`
			Host      *string `json:"host"`
			URI       string  `json:"uri"`
		} `json:"requests"`
	} `json:"http"`
}

func TestCorpusRecall(t *testing.T) {
	entries := corpus.Dev(t)
	var total, found, extra int
	for _, e := range entries {
		var truth truthHTTP
		corpus.LoadTruth(t, e, &truth)
		want := map[string]int{}
		n := 0
		for _, r := range truth.HTTP.Requests {
			if r.Transport != "tcp" {
				continue // SSDP over UDP belongs to the SSDP decoder
			}
			host := ""
			if r.Host != nil {
				host = *r.Host
			}
			want[fmt.Sprintf("%s %s %s", r.Method, host, r.URI)]++
			n++
		}
		if n == 0 {
			continue
		}
		got := map[string]int{}
		for _, chunks := range tcpStreams(t, e.Path) {
			p := New(Limits{}, func(ev *Event) {
				if r := ev.Request; r != nil {
					host := ""
					for _, h := range r.Headers {
						if equalFold([]byte(h.Name), "host") {
							host = h.Value
							break
						}
					}
					got[fmt.Sprintf("%s %s %s", r.Method, host, r.URI)]++
				}
			})
			for _, c := range chunks {
				if c.gap > 0 {
					p.Gap(c.dir, c.gap, proto.Meta{Frame: c.frame})
				} else {
					p.Data(c.dir, c.data, proto.Meta{Frame: c.frame})
				}
			}
			p.End(proto.Meta{})
		}
		hit := 0
		var missing []string
		for k, w := range want {
			g := min(got[k], w)
			hit += g
			if g < w {
				missing = append(missing, fmt.Sprintf("%dx %q", w-g, k))
			}
		}
		ex := 0
		for k, g := range got {
			ex += max(g-want[k], 0)
		}
		sort.Strings(missing)
		total, found, extra = total+n, found+hit, extra+ex
		if hit < n {
			t.Logf("%s: %d/%d requests; missing %v", e.Name(), hit, n, missing)
		}
		if ex > 0 {
			t.Logf("%s: %d requests not in the truth", e.Name(), ex)
		}
	}
	if total == 0 {
		t.Skip("no HTTP requests in the dev truth")
	}
	recall := float64(found) / float64(total)
	t.Logf("HTTP request recall over TCP: %d/%d = %.2f%%; %d not in the truth", found, total, 100*recall, extra)
	if recall < 0.99 {
		t.Errorf("recall %.2f%% < 99%%", 100*recall)
	}
}
