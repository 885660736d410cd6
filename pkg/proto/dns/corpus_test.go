package dns

import (
	"net/netip"
	"slices"
	"sort"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/proto"
)

type dnsTruth struct {
	DNS struct {
		QueryNames []string `json:"query_names"`
		MDNSNames  []string `json:"mdns_names"`
		Messages   []struct {
			Transport string   `json:"transport"`
			Sport     int      `json:"sport"`
			Dport     int      `json:"dport"`
			Frame     int      `json:"frame"`
			Protocol  string   `json:"protocol"`
			Response  []bool   `json:"response"`
			QNames    []string `json:"qnames"`
			A         []string `json:"a"`
			AAAA      []string `json:"aaaa"`
			CNAME     []string `json:"cname"`
		} `json:"messages"`
	} `json:"dns"`
}

// corpusExceptions lists truth values phonehome does not reproduce on
// purpose, per capture, with the reason.
var corpusExceptions = map[string]string{
	// tshark reassembles IPv6 fragments; the test's UDP extractor does not
	// (the engine's flow layer does).
	"zeek/ipv6-fragmented-dns.pcap": "ipv6 fragments not reassembled by the test extractor",
}

func hasPortNum(a, b, p int) bool { return a == p || b == p }

// TestCorpusDNS compares query names and answers of every UDP DNS, mDNS and
// LLMNR message of the dev captures with tshark's.
func TestCorpusDNS(t *testing.T) {
	var totalTruth, totalFound, totalMsgs, totalMsgOK int
	for _, e := range corpus.Dev(t) {
		var tr dnsTruth
		corpus.LoadTruth(t, e, &tr)
		if len(tr.DNS.Messages) == 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dgrams, frames, ok := readUDP(t, e.Path)
			if !ok {
				t.Skipf("capture format not readable by the test extractor")
			}
			// Frame numbers can only be matched when the extractor read
			// every frame (gopacket's pcapng reader skips some blocks).
			framesMatch := frames == e.Packets
			if !framesMatch {
				t.Logf("extractor read %d frames, tshark %d: per-frame comparison skipped", frames, e.Packets)
			}
			// Names tshark saw only over TCP are out of scope here.
			udpNames := map[string]bool{}
			for _, tm := range tr.DNS.Messages {
				if tm.Transport == "udp" {
					for _, q := range tm.QNames {
						udpNames[q] = true
					}
				}
			}
			onlyUDP := func(names []string) []string {
				var out []string
				for _, n := range names {
					if udpNames[n] {
						out = append(out, n)
					}
				}
				return out
			}
			byFrame := map[int]*Message{}
			ours := map[string]bool{}
			oursMDNS := map[string]bool{}
			tcpNames := map[string]bool{}
			streams := map[[2]netip.AddrPort]*Stream{}
			for _, d := range dgrams {
				if !hasPort(d, 53, 5353, 5355) {
					continue
				}
				if d.TCP {
					// DNS over TCP: one Stream per direction, segments in
					// capture order (these captures have no reordering).
					k := [2]netip.AddrPort{d.Src, d.Dst}
					if streams[k] == nil {
						streams[k] = NewStream(func(_ proto.Dir, m *Message, _ proto.Meta, _ error) {
							for _, q := range m.Questions {
								tcpNames[string(q.Name)] = true
							}
						})
					}
					streams[k].Data(proto.ToServer, d.Payload, proto.Meta{Frame: uint64(d.Frame)})
					continue
				}
				m := new(Message)
				err := Parse(d.Payload, m)
				if err != nil {
					t.Logf("frame %d: %v", d.Frame, err)
				}
				checkEventJSON(t, NewEvent(m, Variant(d.Src.Port(), d.Dst.Port()), err))
				checkAddressRecords(t, m, NewEvent(m, Variant(d.Src.Port(), d.Dst.Port()), err))
				byFrame[d.Frame] = m
				for _, q := range m.Questions {
					if hasPort(d, 5353) {
						oursMDNS[string(q.Name)] = true
					} else {
						ours[string(q.Name)] = true
					}
				}
			}
			check := func(kind string, truth []string, got map[string]bool) {
				found := 0
				for _, n := range truth {
					if got[n] {
						found++
					} else {
						t.Logf("%s: missing %q", kind, n)
					}
				}
				var extra []string
				for n := range got {
					if !slices.Contains(truth, n) {
						extra = append(extra, n)
					}
				}
				sort.Strings(extra)
				if len(extra) > 0 {
					t.Logf("%s: not in truth: %q", kind, extra)
				}
				totalTruth += len(truth)
				totalFound += found
				if found < len(truth) && corpusExceptions[e.Name()] == "" {
					t.Errorf("%s recall %d/%d", kind, found, len(truth))
				}
			}
			var tcpTruth []string
			for _, tm := range tr.DNS.Messages {
				if tm.Transport == "tcp" && hasPortNum(tm.Sport, tm.Dport, 53) { // not DNS over HTTPS
					tcpTruth = append(tcpTruth, tm.QNames...)
				}
			}
			slices.Sort(tcpTruth)
			check("tcp qnames", slices.Compact(tcpTruth), tcpNames)
			check("query_names", onlyUDP(tr.DNS.QueryNames), ours)
			check("mdns_names", onlyUDP(tr.DNS.MDNSNames), oursMDNS)

			for _, tm := range tr.DNS.Messages {
				if tm.Transport != "udp" || !framesMatch {
					continue
				}
				totalMsgs++
				m := byFrame[tm.Frame]
				if m == nil {
					if why := corpusExceptions[e.Name()]; why != "" {
						t.Logf("frame %d: not decoded: %s", tm.Frame, why)
					} else {
						t.Errorf("frame %d: no DNS message decoded", tm.Frame)
					}
					continue
				}
				var qn, a, aaaa, cname []string
				for _, q := range m.Questions {
					qn = append(qn, string(q.Name))
				}
				for _, sec := range [][]RR{m.Answers, m.Authority, m.Additional} {
					for _, rr := range sec {
						switch rr.Type {
						case TypeA:
							a = append(a, rr.Addr.String())
						case TypeAAAA:
							aaaa = append(aaaa, rr.Addr.String())
						case TypeCNAME:
							cname = append(cname, string(rr.Target))
						}
					}
				}
				same := func(x, y []string) bool {
					x, y = slices.Clone(x), slices.Clone(y)
					sort.Strings(x)
					sort.Strings(y)
					return slices.Equal(x, y)
				}
				if !same(qn, tm.QNames) || !same(a, tm.A) || !same(aaaa, tm.AAAA) || !same(cname, tm.CNAME) {
					t.Errorf("frame %d: got q=%q a=%q aaaa=%q cname=%q; tshark q=%q a=%q aaaa=%q cname=%q",
						tm.Frame, qn, a, aaaa, cname, tm.QNames, tm.A, tm.AAAA, tm.CNAME)
					continue
				}
				totalMsgOK++
			}
		})
	}
	if totalTruth > 0 {
		t.Logf("DNS names recall %d/%d (%.2f%%); UDP messages identical to tshark %d/%d",
			totalFound, totalTruth, 100*float64(totalFound)/float64(totalTruth), totalMsgOK, totalMsgs)
	}
}
