package flow

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/proto"
)

// frames returns the frames of a scenario capture.
func frames(t testing.TB, name string) [][]byte {
	for _, s := range scenario.All() {
		if s.Name != name {
			continue
		}
		r, err := capture.NewReader(bytes.NewReader(scenario.Bytes(s)), name)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		var f capture.Frame
		for r.Next(&f) == nil {
			out = append(out, append([]byte(nil), f.Data...))
		}
		return out
	}
	t.Fatalf("no scenario %s", name)
	return nil
}

// FuzzDecodePath feeds arbitrary frames of several link types through the
// decoder and the flow table (with reassembly) and checks it never panics
// and keeps its caps.
func FuzzDecodePath(f *testing.F) {
	for i, fr := range frames(f, "demo.pcap") {
		if i%7 == 0 {
			f.Add(uint8(0), fr)
		}
	}
	f.Add(uint8(1), []byte{0x45, 0, 0, 20, 0, 0, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	f.Add(uint8(2), []byte{0x60, 0, 0, 0, 0, 8, 44, 64})
	linkIndex := map[layers.LinkType]uint8{layers.LinkTypeEthernet: 0, layers.LinkTypeLinuxSLL: 3, 276: 4}
	for _, q := range quirks() {
		for _, fr := range q.frames {
			f.Add(linkIndex[q.link], fr.Data)
		}
	}
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL,
		276, layers.LinkTypeNull, layers.LinkTypePPP, layers.LinkTypeIEEE80211Radio, layers.LinkTypeIEEE802_11, 239}
	f.Fuzz(func(t *testing.T, lt uint8, data []byte) {
		rec := newRecorder()
		// lt >= 128: the table reuses ended flows (the recorder only
		// counts them here).
		tab := NewTable(Config{MaxFlows: 4, MaxFlowBuffer: 64, MaxTotalBuffer: 128, ReuseFlows: lt >= 128}, rec)
		d := NewDecoder()
		link := links[int(lt)%len(links)]
		ts := time.Unix(1700000000, 0)
		// The same frame three times, shifted in time: exercises
		// retransmission and reassembly paths.
		add := func(p *Packet) {
			// The map key says what Key says (the table ends flows by it).
			if k, _ := keyOf(p); tableKeyOf(p) != k.tableKey() {
				t.Fatalf("map key %+v, Key %v gives %+v", tableKeyOf(p), k, k.tableKey())
			}
			tab.Add(p)
		}
		for i := 0; i < 3; i++ {
			d.Decode(uint64(i+1), ts.Add(time.Duration(i)*time.Second), len(data), len(data), link, data, add)
			if tab.Len() > 4 || tab.Buffered() > 128 {
				t.Fatalf("caps exceeded: %d flows, %d bytes", tab.Len(), tab.Buffered())
			}
		}
		tab.Flush()
		if d.Stats.Panics > 0 {
			t.Fatalf("a layer decoder panicked on this input")
		}
	})
}

func BenchmarkDecodeAndTrack(b *testing.B) {
	frs := frames(b, "demo.pcap")
	var total int
	for _, f := range frs {
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	ts := time.Unix(1700000000, 0)
	for i := 0; i < b.N; i++ {
		tab := NewTable(Config{}, discard{})
		d := NewDecoder()
		for j, f := range frs {
			d.Decode(uint64(j+1), ts, len(f), len(f), layers.LinkTypeEthernet, f, tab.Add)
		}
		tab.Flush()
	}
}

type discard struct{}

func (discard) Start(*Flow, *Packet)                        {}
func (discard) Datagram(*Flow, proto.Dir, *Packet)          {}
func (discard) Stream(*Flow, proto.Dir, []byte, proto.Meta) {}
func (discard) Gap(*Flow, proto.Dir, int, proto.Meta)       {}
func (discard) End(*Flow)                                   {}

var _ = io.EOF
