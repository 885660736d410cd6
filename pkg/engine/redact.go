package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"

	"github.com/phonehome/phonehome/pkg/leak"
)

// redactEvents masks, in the protocol events kept for the report, every
// identifier value the leak scan found, as the leaks themselves are masked
// (unless ShowEvidence): an HTTP event's URI, query and headers, a DNS
// name, an MQTT payload would otherwise repeat the IMEI in clear in the
// JSON and NDJSON reports. Only the spellings the scanner reported are
// replaced (the canonical value); other encodings of it stay as captured.
func (e *engine) redactEvents() {
	if e.cfg.ShowEvidence || len(e.report.Events) == 0 {
		return
	}
	masks := map[string]string{}
	for _, d := range e.inv.devs {
		for _, l := range d.leaks {
			if len(l.Value) >= 4 {
				masks[l.Value] = leak.Mask(l.Identifier, l.Value)
			}
		}
	}
	if len(masks) == 0 {
		return
	}
	values := make([]string, 0, len(masks))
	for v := range masks {
		values = append(values, v)
	}
	// Longest first, so that a value inside a longer one does not win.
	slices.SortFunc(values, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	var olds [][]byte
	for _, v := range values {
		// The value as it appears inside a JSON string.
		q, _ := json.Marshal(v)
		olds = append(olds, q[1:len(q)-1])
	}
	for i := range e.report.Events {
		ev := &e.report.Events[i]
		if ev.Fields == nil {
			continue
		}
		body, err := json.Marshal(ev.Fields)
		if err != nil {
			continue
		}
		changed := false
		for j, old := range olds {
			if bytes.Contains(body, old) {
				m, _ := json.Marshal(masks[values[j]])
				body = bytes.ReplaceAll(body, old, m[1:len(m)-1])
				changed = true
			}
		}
		if changed {
			ev.Fields = json.RawMessage(body)
		}
	}
}
