package policy

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/internal/strictyaml"
)

// Ignore is a loaded suppression file.
type Ignore struct {
	File    string
	Entries []IgnoreEntry
}

// IgnoreEntry suppresses the violations it matches until it expires. Every
// field that is set must match; at least one of Rule, Fingerprint,
// Destination and Identifier is set.
type IgnoreEntry struct {
	Rule        string
	Fingerprint string // full hex or a prefix of at least 8 digits
	Destination *Pattern
	Identifier  string
	Device      string // device id, name or MAC
	Reason      string
	// Expires is the first instant the entry no longer applies: the day
	// after a date-only "expires: 2026-06-30" (UTC), or the exact time.
	Expires     time.Time
	ExpiresText string
	Pos         Pos
}

// LoadIgnore reads and checks an ignore file.
func LoadIgnore(path string) (*Ignore, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	return ParseIgnore(path, data)
}

// ParseIgnore checks an ignore file:
//
//	version: 1
//	ignore:
//	  - rule: no-china
//	    destination: "*.example.cn"
//	    reason: vendor ticket 123, fixed in 2.1
//	    expires: 2026-06-30
func ParseIgnore(file string, data []byte) (*Ignore, error) {
	d := newDecoder(file)
	root := d.document(data)
	if root == nil {
		return nil, d.err()
	}
	ig := &Ignore{File: file}
	var list *yaml.Node
	d.Fields(root, "a mapping with version and ignore", func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			if n, ok := d.Int(v, "version"); ok && n != Version {
				d.Errf(v, "unsupported version %d (want %d)", n, Version)
			}
		case "ignore":
			list = v
		default:
			d.Errf(k, "unknown key %q (want version or ignore)", key)
		}
	})
	if root.Kind != yaml.MappingNode {
		return nil, d.err()
	}
	switch {
	case list == nil:
		d.Errf(root, "missing ignore: a list of entries")
	case strictyaml.Null(list):
	case list.Kind != yaml.SequenceNode:
		d.Errf(list, "ignore: want a list of entries, found %s", strictyaml.KindName(list))
	default:
		for i, n := range list.Content {
			if i >= maxRules {
				d.Errf(n, "more than %d entries", maxRules)
				break
			}
			if e, ok := d.ignoreEntry(n); ok {
				ig.Entries = append(ig.Entries, e)
			}
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return ig, nil
}

func (d *decoder) ignoreEntry(n *yaml.Node) (IgnoreEntry, bool) {
	e := IgnoreEntry{Pos: d.pos(n)}
	before := d.Len()
	ok := d.Fields(n, "an entry with rule (or fingerprint, destination, identifier), reason and expires", func(key string, k, v *yaml.Node) {
		switch key {
		case "rule":
			e.Rule = d.str(v, key)
		case "fingerprint":
			s, ok := d.String(v, key)
			e.Fingerprint = strings.ToLower(s)
			if ok && (len(e.Fingerprint) < 8 || len(e.Fingerprint) > 64 || strings.Trim(e.Fingerprint, "0123456789abcdef") != "") {
				d.Errf(v, "fingerprint: want 8 to 64 hex digits")
			}
		case "destination":
			s, ok := d.String(v, key)
			if !ok {
				return
			}
			p, err := ParsePattern(s)
			if err != nil {
				d.Errf(v, "%v", err)
			}
			e.Destination = &p
		case "identifier":
			e.Identifier = strings.ToLower(d.str(v, key))
		case "device":
			e.Device = d.str(v, key)
		case "reason":
			e.Reason = strings.TrimSpace(d.str(v, key))
		case "expires":
			s, ok := d.String(v, key)
			if !ok {
				return
			}
			e.ExpiresText = s
			t, err := parseExpiry(s)
			if err != nil {
				d.Errf(v, "%v", err)
			}
			e.Expires = t
		default:
			d.Errf(k, "unknown key %q (want rule, fingerprint, destination, identifier, device, reason, expires)", key)
		}
	})
	if !ok || d.Len() > before {
		return e, false
	}
	if e.Rule == "" && e.Fingerprint == "" && e.Destination == nil && e.Identifier == "" {
		d.Errf(n, "entry matches everything: set rule, fingerprint, destination or identifier")
	}
	if e.Reason == "" {
		d.Errf(n, "entry without reason: say why the violation is accepted")
	}
	if e.ExpiresText == "" {
		d.Errf(n, "entry without expires: give a date such as 2026-06-30")
	}
	return e, d.Len() == before
}

// parseExpiry reads a date (valid through that day, UTC) or an RFC 3339 time.
func parseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("expires %q: want a date such as 2026-06-30 or an RFC 3339 time", s)
}

// Expired reports whether the entry no longer applies at now.
func (e *IgnoreEntry) Expired(now time.Time) bool { return !now.Before(e.Expires) }

// Matches reports whether the entry covers a violation (expiry aside).
func (e *IgnoreEntry) Matches(v *Violation) bool {
	if e.Rule != "" && e.Rule != v.Rule {
		return false
	}
	if e.Fingerprint != "" && !strings.HasPrefix(v.Fingerprint, e.Fingerprint) {
		return false
	}
	if e.Identifier != "" && !strings.EqualFold(e.Identifier, v.Identifier) {
		return false
	}
	if e.Destination != nil && (v.Dest == nil || !e.Destination.Match(*v.Dest)) {
		return false
	}
	if e.Device != "" && !strings.EqualFold(e.Device, v.Device) && !strings.EqualFold(e.Device, v.DeviceName) &&
		!strings.EqualFold("mac:"+e.Device, v.Device) && !strings.EqualFold("ip:"+e.Device, v.Device) {
		return false
	}
	return true
}

func (e *IgnoreEntry) what() string {
	var parts []string
	if e.Rule != "" {
		parts = append(parts, "rule "+e.Rule)
	}
	if e.Fingerprint != "" {
		parts = append(parts, "fingerprint "+e.Fingerprint)
	}
	if e.Destination != nil {
		parts = append(parts, "destination "+e.Destination.Text)
	}
	if e.Identifier != "" {
		parts = append(parts, "identifier "+e.Identifier)
	}
	if e.Device != "" {
		parts = append(parts, "device "+e.Device)
	}
	return strings.Join(parts, ", ")
}

// Apply marks the violations that an unexpired entry matches (the first
// such entry wins) and returns warnings for expired entries, which no
// longer suppress anything, and for entries that matched nothing.
func (ig *Ignore) Apply(vs []Violation, now time.Time) []Warning {
	var warns []Warning
	for i := range ig.Entries {
		e := &ig.Entries[i]
		n := 0
		for j := range vs {
			if !e.Matches(&vs[j]) {
				continue
			}
			n++
			if !e.Expired(now) && vs[j].Suppressed == nil {
				vs[j].Suppressed = &Suppression{Reason: e.Reason, Until: e.ExpiresText, Expires: e.Expires, Pos: e.Pos}
			}
		}
		switch {
		case e.Expired(now):
			msg := fmt.Sprintf("suppression of %s expired on %s (reason was: %s); it no longer suppresses", e.what(), e.ExpiresText, e.Reason)
			if n > 0 {
				msg += fmt.Sprintf(" (%d violation(s) match it)", n)
			}
			warns = append(warns, Warning{Code: "expired-suppression", Message: msg, Pos: e.Pos})
		case n == 0:
			warns = append(warns, Warning{Code: "unused-suppression", Pos: e.Pos,
				Message: fmt.Sprintf("suppression of %s matched no violation; remove it when the fix is confirmed", e.what())})
		}
	}
	return warns
}
