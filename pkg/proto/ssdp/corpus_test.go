package ssdp

import (
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

type ssdpTruth struct {
	HTTP struct {
		Requests []struct {
			Frame     int     `json:"frame"`
			Method    string  `json:"method"`
			Host      *string `json:"host"`
			UserAgent *string `json:"user_agent"`
			SSDP      bool    `json:"ssdp"`
		} `json:"requests"`
	} `json:"http"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestCorpusSSDP compares the SSDP requests (method, HOST, USER-AGENT) of
// the dev captures with tshark's.
func TestCorpusSSDP(t *testing.T) {
	var total, same int
	for _, e := range corpus.Dev(t) {
		var tr ssdpTruth
		corpus.LoadTruth(t, e, &tr)
		var want []int
		for i, r := range tr.HTTP.Requests {
			if r.SSDP {
				want = append(want, i)
			}
		}
		if len(want) == 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dgrams, frames, ok := readUDP(t, e.Path)
			if !ok || frames != e.Packets {
				t.Skip("capture not fully readable by the test extractor")
			}
			got := map[int]Message{}
			for _, d := range dgrams {
				var m Message
				if Detect(d.Payload) && Parse(d.Payload, &m) == nil {
					got[d.Frame] = m
				}
			}
			for _, i := range want {
				r := tr.HTTP.Requests[i]
				total++
				m, ok := got[r.Frame]
				kind := map[string]string{"NOTIFY": KindNotify, "M-SEARCH": KindMSearch}[r.Method]
				if !ok || m.Kind != kind || string(m.Host) != str(r.Host) || string(m.UserAgent) != str(r.UserAgent) {
					t.Errorf("frame %d: got %v %q %q %q, tshark %s %q %q", r.Frame, ok, m.Kind, m.Host, m.UserAgent, r.Method, str(r.Host), str(r.UserAgent))
					continue
				}
				same++
			}
		})
	}
	t.Logf("SSDP requests identical to tshark: %d/%d", same, total)
}
