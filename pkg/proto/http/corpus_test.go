package http

import (
	"fmt"
	"sort"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
)

// The corpus tests read TCP streams through the product's reader, decoder
// and reassembler (internal/pcaptest).

type chunk = pcaptest.Chunk

func tcpStreams(t *testing.T, path string) [][]chunk { return pcaptest.Streams(t, path) }

type truthHTTP struct {
	HTTP struct {
		Requests []struct {
			Transport string  `json:"transport"`
			Frame     uint64  `json:"frame"`
			Method    string  `json:"method"`
			Host      *string `json:"host"`
			URI       string  `json:"uri"`
		} `json:"requests"`
	} `json:"http"`
}

func TestCorpusRecall(t *testing.T) {
	entries := corpus.Dev(t)
	var total, found, extra int
	for _, e := range entries {
		var truth truthHTTP
		corpus.LoadTruth(t, e, &truth)
		want := map[string]int{}
		n := 0
		for _, r := range truth.HTTP.Requests {
			if r.Transport != "tcp" {
				continue // SSDP over UDP belongs to the SSDP decoder
			}
			host := ""
			if r.Host != nil {
				host = *r.Host
			}
			want[fmt.Sprintf("%s %s %s", r.Method, host, r.URI)]++
			n++
		}
		if n == 0 {
			continue
		}
		got := map[string]int{}
		for _, chunks := range tcpStreams(t, e.Path) {
			p := New(Limits{}, func(ev *Event) {
				if r := ev.Request; r != nil {
					host := ""
					for _, h := range r.Headers {
						if equalFold([]byte(h.Name), "host") {
							host = h.Value
							break
						}
					}
					got[fmt.Sprintf("%s %s %s", r.Method, host, r.URI)]++
				}
			})
			for _, c := range chunks {
				if c.Gap > 0 {
					p.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
				} else {
					p.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
				}
			}
			p.End(proto.Meta{})
		}
		hit := 0
		var missing []string
		for k, w := range want {
			g := min(got[k], w)
			hit += g
			if g < w {
				missing = append(missing, fmt.Sprintf("%dx %q", w-g, k))
			}
		}
		ex := 0
		for k, g := range got {
			ex += max(g-want[k], 0)
		}
		sort.Strings(missing)
		total, found, extra = total+n, found+hit, extra+ex
		if hit < n {
			t.Logf("%s: %d/%d requests; missing %v", e.Name(), hit, n, missing)
		}
		if ex > 0 {
			t.Logf("%s: %d requests not in the truth", e.Name(), ex)
		}
	}
	if total == 0 {
		t.Skip("no HTTP requests in the dev truth")
	}
	recall := float64(found) / float64(total)
	t.Logf("HTTP request recall over TCP: %d/%d = %.2f%%; %d not in the truth", found, total, 100*recall, extra)
	if recall < 0.99 {
		t.Errorf("recall %.2f%% < 99%%", 100*recall)
	}
}
