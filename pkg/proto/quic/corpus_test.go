package quic

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
)

type quicTruth struct {
	QUIC struct {
		SNIs         []string `json:"snis"`
		ClientHellos []struct {
			Frame uint64   `json:"frame"`
			SNI   []string `json:"sni"`
			JA3   string   `json:"ja3"`
		} `json:"client_hellos"`
		ServerHellos []struct {
			Frame  uint64 `json:"frame"`
			Cipher string `json:"cipher_suite"`
		} `json:"server_hellos"`
		GQUICSNI []struct {
			SNI []string `json:"sni"`
		} `json:"gquic_sni"`
	} `json:"quic"`
}

// TestCorpusQUIC feeds the UDP payloads of each dev capture with QUIC in
// its truth, per 5-tuple, to a Parser and compares the SNIs (exactly) and
// the JA3 of every ClientHello with tshark's.
func TestCorpusQUIC(t *testing.T) {
	var files, wantSNI, gotSNI, wantCH, gotCH, ja3OK, wantSH, gotSH int
	for _, e := range corpus.Dev(t) {
		var truth quicTruth
		corpus.LoadTruth(t, e, &truth)
		if len(truth.QUIC.ClientHellos) == 0 && len(truth.QUIC.GQUICSNI) == 0 {
			continue
		}
		files++
		var evs []audit.Event
		readUDP(t, e.Path, func(e audit.Event) { evs = append(evs, e) })
		snis := map[string]bool{}
		var ja3s []string
		shs := 0
		for _, ev := range evs {
			c := ev.Fields.(*Connection)
			if c.SNI != "" {
				snis[c.SNI] = true
			}
			if c.ClientHello != nil {
				ja3s = append(ja3s, c.ClientHello.JA3Hash)
			}
			if c.ServerHello != nil {
				shs++
			}
		}
		want := map[string]bool{}
		for _, s := range truth.QUIC.SNIs {
			want[s] = true
		}
		for _, g := range truth.QUIC.GQUICSNI {
			for _, s := range g.SNI {
				want[s] = true
			}
		}
		for s := range want {
			wantSNI++
			if snis[s] {
				gotSNI++
			} else {
				t.Errorf("%s: SNI %q not found", e.Name(), s)
			}
		}
		for s := range snis {
			if !want[s] {
				t.Errorf("%s: SNI %q not in truth", e.Name(), s)
			}
		}
		for _, ch := range truth.QUIC.ClientHellos {
			wantCH++
			if i := slices.Index(ja3s, ch.JA3); i >= 0 {
				gotCH++
				ja3OK++
				ja3s = slices.Delete(ja3s, i, i+1)
			} else {
				t.Logf("%s: frame %d: ClientHello JA3 %s not matched", e.Name(), ch.Frame, ch.JA3)
			}
		}
		wantSH += len(truth.QUIC.ServerHellos)
		gotSH += min(shs, len(truth.QUIC.ServerHellos))
	}
	if files == 0 {
		t.Skip("no QUIC in the dev corpus")
	}
	t.Logf("%d files: SNI recall %d/%d, ClientHello JA3 %d/%d, ServerHellos %d/%d", files, gotSNI, wantSNI, ja3OK, wantCH, gotSH, wantSH)
	if float64(gotSNI) < 0.99*float64(wantSNI) {
		t.Errorf("SNI recall %d/%d below 99%%", gotSNI, wantSNI)
	}
}

// readUDP runs one Parser per UDP 5-tuple (client = sender of the first
// packet) over a capture and ends them all at EOF, in order of first packet.
func readUDP(t testing.TB, path string, emit func(audit.Event)) {
	t.Helper()
	next, closeFn := openCapture(t, path)
	if next == nil {
		return
	}
	defer closeFn()
	type key struct{ a, b netip.AddrPort }
	parsers := map[key]*Parser{}
	var order []*Parser
	for frame := uint64(1); ; frame++ {
		data, ci, lt, err := next()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		u, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil || pkt.NetworkLayer() == nil {
			continue
		}
		srcIP, _ := netip.AddrFromSlice(pkt.NetworkLayer().NetworkFlow().Src().Raw())
		dstIP, _ := netip.AddrFromSlice(pkt.NetworkLayer().NetworkFlow().Dst().Raw())
		src := netip.AddrPortFrom(srcIP.Unmap(), uint16(u.SrcPort))
		dst := netip.AddrPortFrom(dstIP.Unmap(), uint16(u.DstPort))
		dir := proto.ToServer
		p := parsers[key{src, dst}]
		if p == nil {
			if p = parsers[key{dst, src}]; p != nil {
				dir = proto.ToClient
			}
		}
		if p == nil {
			if !Detect(u.Payload) {
				continue
			}
			p = NewParser(emit)
			parsers[key{src, dst}] = p
			order = append(order, p)
		}
		p.Datagram(dir, u.Payload, proto.Meta{Frame: frame, Time: ci.Timestamp})
	}
	for _, p := range order {
		p.End(proto.Meta{})
	}
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
		r = gz
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
		closeFn = func() { zr.Close(); f.Close() }
	}
	br2 := bufio.NewReader(r)
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
