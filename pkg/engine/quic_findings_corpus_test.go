package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

// TestCorpusQUICFindings: a QUIC connection's findings (those of its
// ClientHello, as TLS's) are raised on the flow, not only kept in the quic
// event. Over every dev capture whose truth has QUIC ClientHellos, the
// tls-no-sni rows are exactly the QUIC servers whose ClientHello tshark
// decodes without a server_name: one, suricata-verify/quic-v2.pcap
// (frame 1, QUIC v2 0x6b3343cf, extensions 5,10,11,13,65281,23,16,18,43,51,57:
// no 0). Before, QUIC raised none.
func TestCorpusQUICFindings(t *testing.T) {
	type hello struct {
		Dst   string   `json:"dst"`
		DPort int      `json:"dport"`
		Frame uint64   `json:"frame"`
		SNI   []string `json:"sni"`
		QUIC  bool     `json:"over_quic"`
	}
	var want, got []string
	files := 0
	for _, e := range corpus.Dev(t) {
		var tr struct {
			QUIC struct {
				ClientHellos []hello `json:"client_hellos"`
			} `json:"quic"`
		}
		corpus.LoadTruth(t, e, &tr)
		if len(tr.QUIC.ClientHellos) == 0 {
			continue
		}
		files++
		for _, h := range tr.QUIC.ClientHellos {
			if len(h.SNI) == 0 {
				want = append(want, fmt.Sprintf("%s %s:%d frame %d", e.Name(), h.Dst, h.DPort, h.Frame))
			}
		}
		rep := decoded(t, e.Path)
		for _, d := range rep.Devices {
			for _, f := range d.Findings {
				if f.Kind == "tls-no-sni" && f.Dest.Channel == "QUIC" {
					got = append(got, fmt.Sprintf("%s %s:%d frame %d", e.Name(), f.Dest.IP, f.Dest.Port, f.Frame))
				}
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("QUIC tls-no-sni findings over %d captures:\n%s\nwant (tshark: QUIC ClientHellos without SNI)\n%s", files, g, w)
	}
	if len(want) != 1 {
		t.Errorf("tshark truth has %d QUIC ClientHellos without SNI, expected 1 (quic-v2.pcap)", len(want))
	}
	t.Logf("%d captures with QUIC, %d ClientHellos without SNI", files, len(want))
}
