package flow

import (
	"math/rand"
	"net/netip"
	"testing"
)

// TestFlowIndexMatchesMap runs random puts and removes against a Go map:
// every live key is found with its flow, removed and unknown keys are
// not, removing a key mapped to another flow does nothing, and the index
// stays at most 5/8 full through its growth. Few distinct addresses
// and ports give long probe runs, wrapping round the end of the slots,
// so the backward shift of deletion is exercised.
func TestFlowIndexMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys, ops int
		removeOne int // one in removeOne operations removes
	}{
		{"small, churn", 40, 20000, 2},
		{"grows", 5000, 20000, 4},
		{"mostly removes", 300, 20000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(tc.keys)))
			keys := make([]Tuple, tc.keys)
			for i := range keys {
				p := &Packet{Proto: ProtoTCP, Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(r.Intn(4))}), SrcPort: uint16(r.Intn(tc.keys)),
					Dst: netip.AddrFrom4([4]byte{10, 0, 1, byte(r.Intn(4))}), DstPort: 443}
				if i%3 == 0 {
					p.Dst = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(r.Intn(4))})
				}
				keys[i] = tableKeyOf(p)
			}
			var x flowIndex
			want := map[Tuple]*Flow{}
			for op := 0; op < tc.ops; op++ {
				k := &keys[r.Intn(len(keys))]
				if r.Intn(tc.removeOne+1) == 0 {
					if want[*k] == nil {
						f := &Flow{ID: uint64(op)}
						x.put(k, f)
						want[*k] = f
					}
				} else {
					if x.remove(k, &Flow{}) {
						t.Fatalf("op %d: removed a key mapped to another flow", op)
					}
					if f, ok := want[*k]; ok != x.remove(k, f) {
						t.Fatalf("op %d: remove of a key present %v said otherwise", op, ok)
					}
					delete(want, *k)
				}
				if x.len() != len(want) {
					t.Fatalf("op %d: %d entries, want %d", op, x.len(), len(want))
				}
				if x.len()*8 > len(x.slots)*5 {
					t.Fatalf("op %d: %d entries in %d slots", op, x.len(), len(x.slots))
				}
				if op%97 == 0 || op == tc.ops-1 {
					for i := range keys {
						if got := x.get(&keys[i]); got != want[keys[i]] {
							t.Fatalf("op %d: key %d gives %v, want %v", op, i, got, want[keys[i]])
						}
					}
				}
			}
		})
	}
}
