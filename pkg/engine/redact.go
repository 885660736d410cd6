package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"

	"github.com/phonehome/phonehome/pkg/leak"
)

// redactor masks, in the JSON of protocol events, every identifier value
// the leak scan found, as the leaks themselves are masked (unless
// ShowEvidence): an HTTP event's URI, query and headers, a DNS name, an
// MQTT payload would otherwise repeat the IMEI in clear in the JSON and
// NDJSON reports. Only the spellings the scanner reported are replaced
// (the canonical value); other encodings of it stay as captured.
type redactor struct {
	olds, news [][]byte // the values as they appear inside JSON strings, longest first
}

// newRedactor returns the redactor for the leaks found, or nil when
// nothing is to be masked.
func (e *engine) newRedactor() *redactor {
	if e.cfg.ShowEvidence {
		return nil
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
		return nil
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
	r := &redactor{}
	for _, v := range values {
		q, _ := json.Marshal(v)
		m, _ := json.Marshal(masks[v])
		r.olds = append(r.olds, q[1:len(q)-1])
		r.news = append(r.news, m[1:len(m)-1])
	}
	return r
}

// apply returns body with the values masked, and whether it changed.
func (r *redactor) apply(body []byte) ([]byte, bool) {
	changed := false
	for j, old := range r.olds {
		if bytes.Contains(body, old) {
			body = bytes.ReplaceAll(body, old, r.news[j])
			changed = true
		}
	}
	return body, changed
}

// redactEvents masks the fields of the events kept in the report.
func (e *engine) redactEvents() {
	if len(e.report.Events) == 0 {
		return
	}
	r := e.newRedactor()
	if r == nil {
		return
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
		if body, changed := r.apply(body); changed {
			ev.Fields = json.RawMessage(body)
		}
	}
}
