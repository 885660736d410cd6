package engine

import (
	"reflect"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// Masking (unless ShowEvidence) works on the report model, never on
// serialized output. Every leak row carries the exact texts that carried
// its value (leak.Hit.Spellings: the bytes on the wire, the encoded blob
// holding the value, the value inside each decoded layer); with the
// whole-token forms of the --devices identifiers they make one
// leak.Masker. At the end of the run the masker replaces those texts
// where they stand as whole tokens in every string field of the model:
// device names, host names and user agents, destination and flow names,
// leak and finding destinations and messages, and every string field of
// every event. Numbers are never touched, and a spelling inside a longer
// word is not a match. Events and flow records spooled to disk as JSON
// (Config.SpoolRecords) get the same replacement in their string values
// as they are streamed (leak.Masker.JSON): keys, numbers and structure are
// copied as they are. Credentials in Authorization headers are masked in
// each HTTP event before it is kept or spooled, whether or not a leak
// was found in them.

// maxLeakSpellings bounds the spellings kept per leak row.
const maxLeakSpellings = 16

// addSpellings adds the spellings of add missing from have, up to the cap.
func addSpellings(have, add []string) []string {
	for _, s := range add {
		if len(have) >= maxLeakSpellings {
			break
		}
		if !slices.Contains(have, s) {
			have = append(have[:len(have):len(have)], s)
		}
	}
	return have
}

// newMasker returns the masker for the leaks found and the known
// identifiers, or nil when nothing is to be masked. It reads the leaks
// before buildDevices masks their values.
func (e *engine) newMasker() *leak.Masker {
	if e.cfg.ShowEvidence {
		return nil
	}
	type entry struct{ id, value, spelling string }
	var all []entry
	for _, d := range e.inv.devs {
		for _, l := range d.leaks {
			for _, sp := range l.Spellings {
				all = append(all, entry{l.Identifier, l.Value, sp})
			}
			all = append(all, entry{l.Identifier, l.Value, l.Value})
		}
	}
	// Devices are a map: sort, so that the replacement chosen for a
	// spelling shared by two leaks does not depend on map order.
	slices.SortFunc(all, func(a, b entry) int {
		if c := strings.Compare(a.spelling, b.spelling); c != 0 {
			return c
		}
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	m := leak.NewMasker()
	for _, x := range all {
		m.Add(x.spelling, leak.MaskSpelling(x.id, x.value, x.spelling))
	}
	if e.scanner != nil {
		for _, f := range e.scanner.KnownForms() {
			m.Add(f.Form, leak.MaskSpelling(f.Identifier, f.Value, f.Form))
		}
	}
	if m.Len() == 0 {
		return nil
	}
	return m
}

// maskReport masks the spellings in the report model built so far.
func (e *engine) maskReport(m *leak.Masker) {
	if m == nil {
		return
	}
	str := func(p *string) {
		if v, ok := m.String(*p); ok {
			*p = v
		}
	}
	strs := func(ps []string) {
		for i := range ps {
			str(&ps[i])
		}
	}
	dest := func(d *audit.Dest) {
		str(&d.Name)
		str(&d.Domain)
	}
	r := e.report
	for i := range r.Devices {
		d := &r.Devices[i]
		str(&d.Name)
		strs(d.Hostnames)
		strs(d.UserAgents)
		if d.DHCP != nil {
			str(&d.DHCP.Hostname)
			str(&d.DHCP.VendorClass)
		}
		for j := range d.Destinations {
			dest(&d.Destinations[j].Dest)
		}
		for j := range d.Leaks {
			l := &d.Leaks[j]
			dest(&l.Dest)
			str(&l.Location)
		}
		for j := range d.Findings {
			fi := &d.Findings[j]
			dest(&fi.Dest)
			str(&fi.Message)
		}
		str(&d.Summary.WorstFinding)
	}
	for i := range r.Flows {
		str(&r.Flows[i].Name)
	}
	for i := range r.Events {
		ev := &r.Events[i]
		if ev.Fields != nil {
			ev.Fields = maskFields(ev.Fields, m)
		}
	}
}

// maskFields masks every string reachable from an event's Fields (the
// decoders' typed event structs), returning the value to keep: the same
// pointer, or a masked copy of a struct held by value.
func maskFields(fields any, m *leak.Masker) any {
	v := reflect.ValueOf(fields)
	if v.Kind() == reflect.Pointer {
		maskValue(v, m, 0)
		return fields
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	if maskValue(c, m, 0) {
		return c.Interface()
	}
	return fields
}

// maskValue masks the strings in v (settable parts only); depth bounds
// the walk.
func maskValue(v reflect.Value, m *leak.Masker, depth int) bool {
	if depth > 12 {
		return false
	}
	changed := false
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			if s, ok := m.String(v.String()); ok {
				v.SetString(s)
				changed = true
			}
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return false
		}
		if v.Kind() == reflect.Interface {
			inner := v.Elem()
			if inner.Kind() == reflect.Pointer {
				return maskValue(inner, m, depth+1)
			}
			c := reflect.New(inner.Type()).Elem()
			c.Set(inner)
			if maskValue(c, m, depth+1) && v.CanSet() {
				v.Set(c)
				return true
			}
			return false
		}
		changed = maskValue(v.Elem(), m, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() && maskValue(v.Field(i), m, depth+1) {
				changed = true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false // bytes (json.RawMessage, payloads): not text fields
		}
		for i := 0; i < v.Len(); i++ {
			if maskValue(v.Index(i), m, depth+1) {
				changed = true
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
			return false
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var set []kv
		for iter.Next() {
			if s, ok := m.String(iter.Value().String()); ok {
				set = append(set, kv{iter.Key(), reflect.ValueOf(s).Convert(v.Type().Elem())})
			}
		}
		for _, x := range set {
			v.SetMapIndex(x.k, x.v)
		}
		changed = len(set) > 0
	}
	return changed
}

// onlyName selects the one string of a flow record that can carry a
// leaked text: its server name (addresses and the device ID are not
// masked).
func onlyName(key []byte) bool { return string(key) != "name" }

// maskSecrets masks the credentials of Basic Authorization headers in an HTTP
// event (unless ShowEvidence): "Basic dXNlcjpwYXNz" is one base64 decode
// away from the password. The event given is not modified; a changed copy
// is returned.
func (e *engine) maskSecrets(ev audit.Event) audit.Event {
	if e.cfg.ShowEvidence {
		return ev
	}
	he, ok := ev.Fields.(*phttp.Event)
	if !ok || he.Request == nil {
		return ev
	}
	idx := -1
	for i, h := range he.Request.Headers {
		if isBasicAuth(h) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return ev
	}
	rq := *he.Request
	rq.Headers = slices.Clone(rq.Headers)
	for i := idx; i < len(rq.Headers); i++ {
		if h := &rq.Headers[i]; isBasicAuth(*h) {
			h.Value = "Basic ********"
		}
	}
	c := *he
	c.Request = &rq
	ev.Fields = &c
	return ev
}

// isBasicAuth: an Authorization or Proxy-Authorization header with Basic
// credentials. Other schemes (Digest, Bearer...) carry no password in
// clear; bearer tokens are found by the leak scan as api_key.
func isBasicAuth(h phttp.Header) bool {
	if !strings.EqualFold(h.Name, "Authorization") && !strings.EqualFold(h.Name, "Proxy-Authorization") {
		return false
	}
	scheme, _, _ := strings.Cut(strings.TrimSpace(h.Value), " ")
	return strings.EqualFold(scheme, "basic")
}

// contentCodings returns the content codings the HTTP decoder undid on a
// body, outermost first ("gzip, br" was gzipped, then brotli-compressed:
// br, gzip), or nil when it could not undo them all.
func contentCodings(b *phttp.Body) []string {
	if b == nil || b.Encoding == "" || slices.Contains(b.Flags, "unknown-encoding") || slices.Contains(b.Flags, "decode-error") {
		return nil
	}
	var out []string
	for _, c := range strings.Split(b.Encoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
			continue
		case "x-gzip":
			c = "gzip"
		}
		out = append(out, c)
	}
	slices.Reverse(out)
	return out
}
