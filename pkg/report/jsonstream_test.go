package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// memRecords streams a report's in-memory flows and events as the
// engine's spool does (audit.Records).
type memRecords struct {
	flows  []audit.Flow
	events []audit.Event
}

func (m memRecords) Each(keep func(string) bool, flow, event func([]byte) error) error {
	for i := range m.flows {
		if keep != nil && !keep(m.flows[i].Device) {
			continue
		}
		b, err := json.Marshal(&m.flows[i])
		if err != nil {
			return err
		}
		if err := flow(b); err != nil {
			return err
		}
	}
	for i := range m.events {
		b, err := json.Marshal(m.events[i])
		if err != nil {
			return err
		}
		if err := event(b); err != nil {
			return err
		}
	}
	return nil
}

func (memRecords) Close() error { return nil }

// TestStreamedJSONMatchesDocument: with its records streamed (as from the
// engine's spools) and its devices encoded by any number of goroutines,
// the JSON and NDJSON outputs are the bytes of the report held in memory.
func TestStreamedJSONMatchesDocument(t *testing.T) {
	r := fixture()
	// Enough devices for every goroutine to hold several at once.
	base := r.Devices
	for i := range 40 {
		d := base[i%len(base)]
		d.ID = fmt.Sprintf("%s-%02d", d.ID, i)
		switch i % 4 {
		case 1:
			d.Destinations = nil
		case 2:
			d.Leaks, d.Findings = nil, nil
		case 3:
			d.Destinations, d.Leaks, d.Findings = nil, nil, nil
		}
		r.Devices = append(r.Devices, d)
	}
	for i := range r.Flows {
		r.Flows[i].First, r.Flows[i].Last = r.Flows[i].First.UTC(), r.Flows[i].Last.UTC()
	}
	for i := range r.Events {
		r.Events[i].Time = r.Events[i].Time.UTC()
	}
	streamed := *r
	streamed.Records = memRecords{r.Flows, r.Events}
	streamed.Flows, streamed.Events = nil, nil
	defer func(f func() int, n int) { jsonWorkers, listChunk = f, n }(jsonWorkers, listChunk)
	for _, format := range []string{"json", "ndjson"} {
		jsonWorkers = func() int { return 1 }
		want := render(t, r, Options{Format: format})
		for _, workers := range []int{1, 2, 7} {
			for _, chunk := range []int{1, 2, 64} {
				jsonWorkers, listChunk = func() int { return workers }, chunk
				if got := render(t, &streamed, Options{Format: format}); !bytes.Equal(got, want) {
					t.Errorf("%s, %d goroutines, lists in runs of %d: streamed output differs from the document (%d vs %d bytes)", format, workers, chunk, len(got), len(want))
				}
			}
		}
	}
}
