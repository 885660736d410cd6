package quic

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
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
		readUDP(t, e.Path, collect(&evs))
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
// Datagrams come from the product's reader and packet decoder.
func readUDP(t testing.TB, path string, emit proto.Sink) {
	t.Helper()
	dgrams, _, ok := pcaptest.Packets(t, path, false)
	if !ok {
		return
	}
	type key struct{ a, b netip.AddrPort }
	parsers := map[key]*Parser{}
	var order []*Parser
	for _, d := range dgrams {
		dir := proto.ToServer
		p := parsers[key{d.Src, d.Dst}]
		if p == nil {
			if p = parsers[key{d.Dst, d.Src}]; p != nil {
				dir = proto.ToClient
			}
		}
		if p == nil {
			if !Detect(d.Payload) {
				continue
			}
			p = NewParser(emit)
			parsers[key{d.Src, d.Dst}] = p
			order = append(order, p)
		}
		p.Datagram(dir, d.Payload, proto.Meta{Frame: uint64(d.Frame), Time: d.Time})
	}
	for _, p := range order {
		p.End(proto.Meta{})
	}
}
