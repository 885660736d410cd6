package flow

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/proto"
)

// snapshotter writes down every ended flow's public fields and streams as
// text when End is called, so that it keeps no *Flow (Config.ReuseFlows).
type snapshotter struct {
	streams map[uint64]*strings.Builder
	out     strings.Builder
}

func (s *snapshotter) buf(f *Flow) *strings.Builder {
	b := s.streams[f.ID]
	if b == nil {
		b = &strings.Builder{}
		s.streams[f.ID] = b
	}
	return b
}
func (s *snapshotter) Start(f *Flow, p *Packet) { fmt.Fprintf(s.buf(f), "start %d;", p.Frame) }
func (s *snapshotter) Datagram(f *Flow, dir proto.Dir, p *Packet) {
	fmt.Fprintf(s.buf(f), "dgram %d %d %d;", dir, p.Frame, len(p.Payload))
}
func (s *snapshotter) Stream(f *Flow, d proto.Dir, b []byte, m proto.Meta) {
	fmt.Fprintf(s.buf(f), "data %d %d %q;", d, m.Frame, b)
}
func (s *snapshotter) Gap(f *Flow, d proto.Dir, n int, m proto.Meta) {
	fmt.Fprintf(s.buf(f), "gap %d %d;", d, n)
}
func (s *snapshotter) End(f *Flow) {
	fmt.Fprintf(&s.out, "%d %v %v %v %x %x %v %v %v %v %d %d %v %v %v %d %s\n", f.ID, f.Key, f.Client, f.Server, f.ClientMAC, f.ServerMAC,
		f.HasMAC, f.Packets, f.Bytes, f.Payload, f.FirstFrame, f.LastFrame, f.First, f.Last, f.State, f.GapBytes, s.buf(f).String())
	delete(s.streams, f.ID)
}

// TestReuseFlowsChangesNothing: a table that reuses ended flows' memory
// reports every flow of the dev corpus exactly as one that does not, with
// a small table (evictions) and short timeouts (expiry) too.
func TestReuseFlowsChangesNothing(t *testing.T) {
	entries := corpus.Dev(t)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			var got [2]string
			for i, reuse := range []bool{false, true} {
				for _, cfg := range []Config{{ReuseFlows: reuse}, {MaxFlows: 3, UDPIdleTimeout: 1e9, ClosedLinger: 1e9, ReuseFlows: reuse}} {
					fh, err := os.Open(filepath.Join(corpus.Dir(), e.File))
					if err != nil {
						t.Fatal(err)
					}
					r, err := capture.NewReader(fh, e.Name())
					if err != nil {
						fh.Close()
						t.Skip(err)
					}
					s := &snapshotter{streams: map[uint64]*strings.Builder{}}
					tab := NewTable(cfg, s)
					d := NewDecoder()
					var fr capture.Frame
					for r.Next(&fr) == nil {
						d.Decode(fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, tab.Add)
					}
					tab.Flush()
					fh.Close()
					got[i] += s.out.String()
				}
			}
			if got[0] != got[1] {
				t.Errorf("flows differ with ReuseFlows (%d and %d bytes of report)", len(got[0]), len(got[1]))
			}
		})
	}
}
