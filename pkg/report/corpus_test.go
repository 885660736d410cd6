package report

import (
	"context"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/engine"
)

// TestCorpusGridsMatchTablewriter: on real captures (every second capture
// of the shared corpus's dev set), every table drawn through tablewriter's
// renderer is byte for byte what tablewriter's Table layer draws, at the
// widths of common terminals and unlimited, with and without colour.
func TestCorpusGridsMatchTablewriter(t *testing.T) {
	entries := corpus.Dev(t)
	if testing.Short() {
		t.Skip("short: the corpus comparison runs the engine on dozens of captures")
	}
	for i, e := range entries {
		if i%2 != 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			rep, err := engine.Run(context.Background(), engine.Config{}, []string{e.Path})
			if err != nil {
				t.Skipf("engine: %v", err) // damaged captures are the engine's tests' business
			}
			checkGridsMatchTablewriter(t, rep, []int{0, 80, 120, 200}, "name", "endpoint")
		})
	}
}
