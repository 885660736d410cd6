package stun

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"

	"github.com/phonehome/phonehome/internal/corpus"
)

// TestCorpusSTUN checks that Detect finds exactly the frames tshark
// dissects as STUN in the dev captures, and that they decode.
func TestCorpusSTUN(t *testing.T) {
	for _, e := range corpus.Dev(t) {
		var tr struct {
			Counts map[string]int `json:"protocol_frame_counts"`
		}
		corpus.LoadTruth(t, e, &tr)
		want := tr.Counts["stun"]
		dgrams, frames, ok := readUDP(t, e.Path)
		if !ok || frames != e.Packets {
			continue
		}
		got := 0
		var m Message
		// TCP: one Stream per direction of each connection, fed segments
		// in capture order (no retransmissions in these captures).
		streams := map[[2]netip.AddrPort]*Stream{}
		for _, d := range dgrams {
			if d.TCP {
				k := [2]netip.AddrPort{d.Src, d.Dst}
				s, seen := streams[k]
				if !seen {
					// Only connections that start with a STUN header.
					if len(d.Payload) < HeaderLen || binary.BigEndian.Uint32(d.Payload[4:]) != MagicCookie {
						streams[k] = nil
						continue
					}
					s = NewStream(func(_ proto.Dir, m *Message, meta proto.Meta, err error) {
						if err != nil {
							t.Errorf("%s frame %d: %v", e.Name(), meta.Frame, err)
						}
						got++
					})
					streams[k] = s
				}
				if s != nil {
					s.Data(proto.ToServer, d.Payload, proto.Meta{Frame: uint64(d.Frame)})
				}
				continue
			}
			if Detect(d.Payload) {
				if err := Parse(d.Payload, &m); err != nil {
					t.Errorf("%s frame %d: %v", e.Name(), d.Frame, err)
				}
				got++
			}
		}
		if got != want {
			t.Errorf("%s: %d STUN frames, tshark %d", e.Name(), got, want)
		} else if want > 0 {
			t.Logf("%s: %d STUN frames as tshark", e.Name(), got)
		}
	}
}
