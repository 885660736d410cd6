package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
)

// behaviourOnCorpus pins the behavioural rows and findings found on the
// whole shared corpus (real captures nobody here made, ordinary browsing
// with Referer headers and page trackers among them), after review. It is
// empty: none of them sends browsing history, searches or app use the way
// the browser case does, and every candidate the detectors saw there is a
// page's own tracking (a request with a Referer), the destination's own
// site, an origin or a document's link (docs/leaks.md). A new entry is a
// new false positive unless reviewed as real.
var behaviourOnCorpus = map[string]string{}

func TestCorpusBehaviour(t *testing.T) {
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range corpus.All(t) {
		n++
		rep, err := Run(context.Background(), Config{Scanner: sc, ShowEvidence: true}, []string{e.Path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			continue // not a capture: covered elsewhere
		}
		var got []string
		for _, d := range rep.Devices {
			for _, l := range d.Leaks {
				if audit.IsBehaviour(l.Identifier) {
					got = append(got, fmt.Sprintf("%s %q at %s to %s", l.Identifier, l.Value, l.Location, l.Dest.Name))
				}
			}
			for _, f := range d.Findings {
				if f.Kind == audit.KindBehaviourLinked || f.Kind == audit.KindBehaviourPrivate {
					got = append(got, f.Kind+": "+f.Message)
				}
			}
		}
		if g, w := strings.Join(got, "; "), behaviourOnCorpus[e.Name()]; g != w {
			t.Errorf("%s: behavioural data %q, pinned %q", e.Name(), g, w)
		}
	}
	t.Logf("%d corpus captures", n)
}
