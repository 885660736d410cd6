package mqtt

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
// the absence of the engine (the same as in pkg/proto/http's test): per connection, each direction's segments are
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
		// Without a SYN, the client is the side that starts with CONNECT.
		if !c.synSeen && len(c.segs[0]) > 0 && len(c.segs[1]) > 0 &&
			Detect(c.segs[1][0].data) && !Detect(c.segs[0][0].data) {
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

type truthMQTT struct {
	MQTT *struct {
		Connects []struct {
			Frame    uint64  `json:"frame"`
			ClientID *string `json:"client_id"`
			Username *string `json:"username"`
			Password *string `json:"password"`
			Version  string  `json:"protocol_version"`
		} `json:"connects"`
		Topics map[string]int `json:"topics"`
	} `json:"mqtt"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestCorpusRecall(t *testing.T) {
	var total, found, topics, topicsFound int
	for _, e := range corpus.Dev(t) {
		var truth truthMQTT
		corpus.LoadTruth(t, e, &truth)
		if truth.MQTT == nil || len(truth.MQTT.Connects)+len(truth.MQTT.Topics) == 0 {
			continue
		}
		want := map[string]int{}
		for _, c := range truth.MQTT.Connects {
			want[fmt.Sprintf("v%s id=%q user=%q pass=%q", c.Version, deref(c.ClientID), deref(c.Username), deref(c.Password))]++
		}
		got := map[string]int{}
		gotTopics := map[string]bool{}
		for _, chunks := range tcpStreams(t, e.Path) {
			p := New(Limits{}, func(ev *Event) {
				switch ev.Packet {
				case "connect":
					got[fmt.Sprintf("v%d id=%q user=%q pass=%q", ev.Version, ev.ClientID, ev.Username, ev.Password)]++
				case "publish":
					gotTopics[ev.Topic] = true
				case "subscribe", "unsubscribe":
					for _, tp := range ev.Topics {
						gotTopics[tp.Filter] = true
					}
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
		for k, w := range want {
			total += w
			found += min(w, got[k])
			if got[k] < w {
				t.Logf("%s: missing CONNECT %s (got %v)", e.Name(), k, got)
			}
		}
		for tp := range truth.MQTT.Topics {
			topics++
			if gotTopics[tp] {
				topicsFound++
			} else {
				t.Logf("%s: missing topic %q", e.Name(), tp)
			}
		}
	}
	if total == 0 {
		t.Skip("no MQTT in the dev truth")
	}
	t.Logf("MQTT CONNECT recall: %d/%d; topics: %d/%d", found, total, topicsFound, topics)
	if found < total || topicsFound < topics {
		t.Errorf("recall below 100%%")
	}
}
