package tls

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
)

// The corpus check reads captures with the product's reader, decoder and
// TCP reassembly (internal/pcaptest) and feeds each connection's streams
// to a Stream.

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
		conns := pcaptest.Conns(t, e.Path)
		payloads := map[uint64][]byte{}
		tcp, _, _ := pcaptest.Packets(t, e.Path, true)
		for _, d := range tcp {
			if d.TCP {
				payloads[uint64(d.Frame)] = d.Payload
			}
		}
		type key struct {
			c, s netip.AddrPort
		}
		got := map[key][]ClientHelloInfo{}
		gotSH := map[key][]ServerHelloInfo{}
		for _, c := range conns {
			sink := &eventSink{}
			s := NewStream(sink)
			feedConn(s, c.Chunks)
			for _, ev := range sink.evs {
				ss := ev.Fields.(*Session)
				k := key{c.Client, c.Server}
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
		seen := map[key][]string{}
		for _, ch := range truth.TLS.ClientHellos {
			if ch.Transport != "tcp" {
				continue
			}
			k := key{ap(ch.Src, ch.Sport), ap(ch.Dst, ch.Dport)}
			if p, ok := payloads[ch.Frame]; ok && slices.Contains(seen[k], string(p)) {
				// tshark lists a retransmitted segment's ClientHello again;
				// reassembly sees the bytes once.
				t.Logf("%s: frame %d: retransmitted ClientHello, counted once", e.Name(), ch.Frame)
				continue
			} else if ok {
				seen[k] = append(seen[k], string(p))
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

// feedConn feeds a connection's chunks to s.
func feedConn(s proto.StreamParser, chunks []pcaptest.Chunk) {
	var last proto.Meta
	for _, c := range chunks {
		m := proto.Meta{Frame: c.Frame}
		if c.Gap > 0 {
			s.Gap(c.Dir, c.Gap, m)
		} else {
			s.Data(c.Dir, c.Data, m)
		}
		last = m
	}
	s.End(last)
}
