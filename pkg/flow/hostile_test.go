package flow

import (
	"testing"
)

// TestSegmentCap is the regression test for hostile streams of many tiny
// or header-only segments ahead of a hole: they used to be buffered
// without bound in number (header-only segments hold no bytes) and each
// insertion copied the sorted list's tail, which took quadratic time.
func TestSegmentCap(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		claimed int
	}{
		{"tiny segments", "x", 1},
		{"header-only segments", "", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			tab := NewTable(Config{}, rec)
			const isn, n = 1000, 20 * MaxSegments
			tab.Add(tseg(true, FlagSYN, isn, ""))
			peak := 0
			for i := n; i > 0; i-- { // reverse order: every segment is ahead of a hole
				p := tseg(true, 0, isn+1+uint32(i*tt.claimed), tt.payload)
				p.Claimed = tt.claimed
				tab.Add(p)
				for _, f := range tab.flows.flows {
					if f != nil && f.tcp != nil {
						peak = max(peak, len(f.tcp.h[0].segs))
					}
				}
			}
			if peak > MaxSegments {
				t.Errorf("%d segments buffered, cap %d", peak, MaxSegments)
			}
			if tab.Stats.BufferDropped == 0 {
				t.Error("segment cap reached but not counted in BufferDropped")
			}
			tab.Flush()
			if rec.gaps == 0 {
				t.Error("no gap reported")
			}
		})
	}
}
