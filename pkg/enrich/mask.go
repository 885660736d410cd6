package enrich

import (
	"reflect"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
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

// Spelling is one text that carried a leaked value (a leak row's Value or
// one of its Spellings).
type Spelling struct {
	Identifier, Value, Form string
}

// NewMasker returns the masker for the spellings of the leaks found and
// the whole-token forms of the known identifiers, or nil when there is
// nothing to mask. Found spellings are sorted first, so that the
// replacement chosen for a text shared by two leaks does not depend on the
// order they were found in; found is sorted in place.
func NewMasker(found []Spelling, known []leak.KnownForm) *leak.Masker {
	slices.SortFunc(found, func(a, b Spelling) int {
		if c := strings.Compare(a.Form, b.Form); c != 0 {
			return c
		}
		if c := strings.Compare(a.Identifier, b.Identifier); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	m := leak.NewMasker()
	for _, x := range found {
		m.Add(x.Form, leak.MaskSpelling(x.Identifier, x.Value, x.Form))
	}
	for _, f := range known {
		m.Add(f.Form, leak.MaskSpelling(f.Identifier, f.Value, f.Form))
	}
	if m.Len() == 0 {
		return nil
	}
	return m
}

// MaskReport replaces the masker's spellings in the report model (r is
// changed in place); a nil masker changes nothing.
func MaskReport(r *audit.Report, m *leak.Masker) {
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
