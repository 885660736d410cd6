package geodata

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		nonzero float64 // share of non-zero rows
	}{
		{"empty", 0, 0}, {"one zero", 1, 0}, {"one set", 1, 1}, {"sparse", 1000, 0.02},
		{"half", 777, 0.5}, {"dense", 130, 1}, {"word edge", 128, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), 7))
			ws := make([]uint64, tc.n)
			for i := range ws {
				if rng.Float64() < tc.nonzero {
					ws[i] = rng.Uint64() | 1
				}
			}
			w := NewWords(ws)
			if w.Len() != tc.n {
				t.Fatalf("Len = %d, want %d", w.Len(), tc.n)
			}
			for i, want := range ws {
				if got := w.At(i); got != want {
					t.Fatalf("At(%d) = %#x, want %#x", i, got, want)
				}
			}
			if got := w.Slice(); !reflect.DeepEqual(got, ws) {
				t.Fatalf("Slice differs")
			}
			if !reflect.DeepEqual(NewWords(w.Slice()), w) {
				t.Fatalf("NewWords(Slice) differs from the column")
			}
		})
	}
}
