package netbios

import (
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

// TestCorpusNetBIOS checks that every NetBIOS name and datagram service
// frame tshark found in the dev captures decodes.
func TestCorpusNetBIOS(t *testing.T) {
	for _, e := range corpus.Dev(t) {
		var tr struct {
			Counts map[string]int `json:"protocol_frame_counts"`
		}
		corpus.LoadTruth(t, e, &tr)
		if tr.Counts["nbns"]+tr.Counts["nbdgm"] == 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dgrams, frames, ok := readUDP(t, e.Path)
			if !ok || frames != e.Packets {
				t.Skip("capture not fully readable by the test extractor")
			}
			var ns, dgm int
			var m Message
			var d Datagram
			for _, g := range dgrams {
				switch {
				case hasPort(g, 137):
					if err := Parse(g.Payload, &m); err != nil {
						t.Errorf("frame %d: %v", g.Frame, err)
						continue
					}
					ns++
					for _, q := range m.Questions {
						t.Logf("frame %d: %s", g.Frame, q.Name)
					}
				case hasPort(g, 138):
					if err := ParseDatagram(g.Payload, &d); err != nil {
						t.Errorf("frame %d: %v", g.Frame, err)
						continue
					}
					dgm++
				}
			}
			if ns != tr.Counts["nbns"] || dgm != tr.Counts["nbdgm"] {
				t.Errorf("decoded %d name service and %d datagram frames, tshark %d and %d", ns, dgm, tr.Counts["nbns"], tr.Counts["nbdgm"])
			}
		})
	}
}
