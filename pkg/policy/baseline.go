package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// BaselineVersion is the schema version of baseline files; its key,
// "phonehome_baseline", comes first so that files can be sniffed.
const BaselineVersion = 1

// MaxBaselineSize caps baseline files.
const MaxBaselineSize = 64 << 20

// Baseline records what an approved firmware does: per device, its
// destinations, countries, vendors and leaks. It holds no identifier
// values, only their types.
type Baseline struct {
	Version int              `json:"phonehome_baseline"`
	Tool    audit.Tool       `json:"tool"`
	Inputs  []string         `json:"inputs"`
	Devices []BaselineDevice `json:"devices"`
}

// BaselineDevice is one device of a baseline.
type BaselineDevice struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	MAC          string         `json:"mac,omitempty"`
	Destinations []BaselineDest `json:"destinations"`
	Countries    []string       `json:"countries"`
	Vendors      []string       `json:"vendors"`
	Leaks        []BaselineLeak `json:"leaks"`
}

// BaselineDest is a destination: one per host, port, transport and channel.
type BaselineDest struct {
	Name      string   `json:"name,omitempty"`
	Domain    string   `json:"domain,omitempty"`
	IPs       []string `json:"ips"`
	Port      uint16   `json:"port"`
	Transport string   `json:"transport"`
	Country   string   `json:"country,omitempty"`
	ASN       uint32   `json:"asn,omitempty"`
	ASOrg     string   `json:"as_org,omitempty"`
	Vendor    string   `json:"vendor,omitempty"`
	Category  string   `json:"category,omitempty"`
	Channel   string   `json:"channel"`
}

// Host is the destination's name, else its first address.
func (d BaselineDest) Host() string {
	if d.Name != "" || len(d.IPs) == 0 {
		return d.Name
	}
	return d.IPs[0]
}

// Key identifies the destination across captures: addresses of a named
// host may change (CDNs), so they are not part of it.
func (d BaselineDest) Key() string {
	return fmt.Sprintf("%s:%d/%s %s", d.Host(), d.Port, d.Transport, d.Channel)
}

func (d BaselineDest) dest() *audit.Dest {
	out := &audit.Dest{Name: d.Name, Domain: d.Domain, Port: d.Port, Transport: d.Transport, Country: d.Country,
		ASN: d.ASN, ASOrg: d.ASOrg, Vendor: d.Vendor, Category: d.Category, Channel: d.Channel}
	if len(d.IPs) > 0 {
		out.IP = d.IPs[0]
	}
	return out
}

func (d BaselineDest) detail() string {
	var parts []string
	if d.Country != "" {
		parts = append(parts, d.Country)
	}
	if d.ASN != 0 {
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("AS%d %s", d.ASN, d.ASOrg)))
	}
	if d.Vendor != "" {
		v := d.Vendor
		if d.Category != "" {
			v += " (" + d.Category + ")"
		}
		parts = append(parts, v)
	}
	s := d.Key()
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// BaselineLeak is an identifier type sent to a destination over a channel.
type BaselineLeak struct {
	Identifier  string `json:"identifier"`
	Known       bool   `json:"known"`
	Destination string `json:"destination"` // host
	Channel     string `json:"channel"`
}

// Key identifies the leak across captures.
func (l BaselineLeak) Key() string {
	return fmt.Sprintf("%s to %s over %s", l.Identifier, l.Destination, l.Channel)
}

// NewBaseline records a report.
func NewBaseline(rep *audit.Report) *Baseline {
	b := &Baseline{Version: BaselineVersion, Tool: rep.Tool, Inputs: []string{}, Devices: []BaselineDevice{}}
	for _, in := range rep.Inputs {
		b.Inputs = append(b.Inputs, in.Path)
	}
	for i := range rep.Devices {
		d := &rep.Devices[i]
		bd := BaselineDevice{ID: d.ID, Name: d.Name, MAC: d.MAC, Destinations: []BaselineDest{},
			Countries: []string{}, Vendors: []string{}, Leaks: []BaselineLeak{}}
		dests := map[string]int{}
		for _, dst := range d.Destinations {
			bdst := BaselineDest{Name: dst.Name, Domain: dst.Domain, Port: dst.Port, Transport: dst.Transport,
				Country: dst.Country, ASN: dst.ASN, ASOrg: dst.ASOrg, Vendor: dst.Vendor, Category: dst.Category, Channel: dst.Channel}
			if dst.IP != "" {
				bdst.IPs = []string{dst.IP}
			}
			k := bdst.Key()
			if j, ok := dests[k]; ok {
				if dst.IP != "" && !slices.Contains(bd.Destinations[j].IPs, dst.IP) {
					bd.Destinations[j].IPs = append(bd.Destinations[j].IPs, dst.IP)
					slices.Sort(bd.Destinations[j].IPs)
				}
			} else {
				if bdst.IPs == nil {
					bdst.IPs = []string{}
				}
				dests[k] = len(bd.Destinations)
				bd.Destinations = append(bd.Destinations, bdst)
			}
			if dst.Country != "" && !local(dst.Dest) && !slices.Contains(bd.Countries, dst.Country) {
				bd.Countries = append(bd.Countries, dst.Country)
			}
			if dst.Vendor != "" && !slices.Contains(bd.Vendors, dst.Vendor) {
				bd.Vendors = append(bd.Vendors, dst.Vendor)
			}
		}
		leaks := map[string]int{}
		for _, l := range d.Leaks {
			bl := BaselineLeak{Identifier: l.Identifier, Known: l.Known, Destination: host(l.Dest), Channel: l.Dest.Channel}
			if j, ok := leaks[bl.Key()]; ok {
				bd.Leaks[j].Known = bd.Leaks[j].Known || bl.Known
				continue
			}
			leaks[bl.Key()] = len(bd.Leaks)
			bd.Leaks = append(bd.Leaks, bl)
		}
		sort.Slice(bd.Destinations, func(i, j int) bool { return bd.Destinations[i].Key() < bd.Destinations[j].Key() })
		sort.Slice(bd.Leaks, func(i, j int) bool { return bd.Leaks[i].Key() < bd.Leaks[j].Key() })
		sort.Strings(bd.Countries)
		sort.Strings(bd.Vendors)
		b.Devices = append(b.Devices, bd)
	}
	sort.SliceStable(b.Devices, func(i, j int) bool { return b.Devices[i].ID < b.Devices[j].ID })
	return b
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// IsBaseline reports whether data starts like a baseline file (a JSON
// object whose first key is "phonehome_baseline"); captures never do.
func IsBaseline(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	return err == nil && t == "phonehome_baseline"
}

// SniffBaseline reports whether the file at path is a baseline (by its
// first bytes); directories and unreadable files are not.
func SniffBaseline(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		return false
	}
	head, _ := bufio.NewReader(f).Peek(256)
	return IsBaseline(head)
}

// ReadBaseline decodes a baseline; name is used in errors.
func ReadBaseline(r io.Reader, name string) (*Baseline, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBaselineSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: baseline %s: %w", name, err)
	}
	if len(data) > MaxBaselineSize {
		return nil, fmt.Errorf("%w: baseline %s: larger than %d bytes", ErrInvalid, name, MaxBaselineSize)
	}
	if !IsBaseline(data) {
		return nil, fmt.Errorf("%w: %s is not a phonehome baseline (want a JSON object starting with \"phonehome_baseline\")", ErrInvalid, name)
	}
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: baseline %s: %v", ErrInvalid, name, err)
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("%w: baseline %s: version %d (want %d)", ErrInvalid, name, b.Version, BaselineVersion)
	}
	return &b, nil
}

// LoadBaseline reads a baseline file.
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	return ReadBaseline(f, path)
}

// Op says whether a Change adds or removes an item.
type Op string

// Change operations.
const (
	Added   Op = "added"
	Removed Op = "removed"
)

// Change is one difference between two baselines.
type Change struct {
	Op         Op          `json:"op"`
	Kind       string      `json:"kind"` // destination, country, vendor, leak
	Device     string      `json:"device"`
	DeviceName string      `json:"device_name"`
	Subject    string      `json:"subject"`
	Detail     string      `json:"detail"`
	Identifier string      `json:"identifier,omitempty"`
	Dest       *audit.Dest `json:"destination,omitempty"`
}

// Pairing says which old device a new device was compared with, and on
// what grounds: "id" (the same device id, normally its MAC), "name" (ids
// differ, names agree) or "only-remaining" (one device was left on each
// side). Pairings other than by id are guesses and worth saying.
type Pairing struct {
	Old   string `json:"old"`
	New   string `json:"new"`
	By    string `json:"by"`
	Guess bool   `json:"guess"`
}

// PairDevices pairs the devices of old and new: by ID, then by name, then
// (if one of each is left) with each other, so that two captures of one
// device on different lab MACs still compare. pair[i] is the index into
// old.Devices of new.Devices[i]'s partner, or -1.
func PairDevices(old, new *Baseline) (pair []int, pairings []Pairing) {
	used := make([]bool, len(old.Devices))
	pair = make([]int, len(new.Devices))
	for i := range pair {
		pair[i] = -1
	}
	match := func(by string, eq func(a, b *BaselineDevice) bool) {
		for i := range new.Devices {
			if pair[i] >= 0 {
				continue
			}
			for j := range old.Devices {
				if !used[j] && eq(&old.Devices[j], &new.Devices[i]) {
					pair[i], used[j] = j, true
					pairings = append(pairings, Pairing{Old: old.Devices[j].ID, New: new.Devices[i].ID, By: by, Guess: by != "id"})
					break
				}
			}
		}
	}
	match("id", func(a, b *BaselineDevice) bool { return a.ID == b.ID })
	match("name", func(a, b *BaselineDevice) bool { return a.Name != "" && strings.EqualFold(a.Name, b.Name) })
	var freeNew, freeOld []int
	for i, p := range pair {
		if p < 0 {
			freeNew = append(freeNew, i)
		}
	}
	for j, u := range used {
		if !u {
			freeOld = append(freeOld, j)
		}
	}
	if len(freeNew) == 1 && len(freeOld) == 1 {
		pair[freeNew[0]] = freeOld[0]
		pairings = append(pairings, Pairing{Old: old.Devices[freeOld[0]].ID, New: new.Devices[freeNew[0]].ID, By: "only-remaining", Guess: true})
	}
	return pair, pairings
}

// Compare lists what changed from old to new, per device, with devices
// paired by PairDevices. Changes are sorted by device, then kind, op and
// subject.
func Compare(old, new *Baseline) []Change {
	var out []Change
	pair, _ := PairDevices(old, new)
	used := make([]bool, len(old.Devices))
	for _, j := range pair {
		if j >= 0 {
			used[j] = true
		}
	}
	empty := &BaselineDevice{}
	for i := range new.Devices {
		o := empty
		if pair[i] >= 0 {
			o = &old.Devices[pair[i]]
		}
		out = append(out, compareDevice(o, &new.Devices[i], &new.Devices[i])...)
	}
	for j := range old.Devices {
		if !used[j] {
			out = append(out, compareDevice(&old.Devices[j], empty, &old.Devices[j])...)
		}
	}
	kindOrder := map[string]int{"destination": 0, "country": 1, "vendor": 2, "leak": 3}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Device != b.Device {
			return a.Device < b.Device
		}
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.Op != b.Op {
			return a.Op == Added
		}
		return a.Subject < b.Subject
	})
	return out
}

func compareDevice(o, n, who *BaselineDevice) []Change {
	var out []Change
	add := func(op Op, kind, subject, detail string) *Change {
		out = append(out, Change{Op: op, Kind: kind, Device: who.ID, DeviceName: who.Name, Subject: subject, Detail: detail})
		return &out[len(out)-1]
	}
	diffKeys(o.Destinations, n.Destinations, BaselineDest.Key, func(op Op, d BaselineDest) {
		add(op, "destination", d.Key(), d.detail()).Dest = d.dest()
	})
	diffKeys(o.Countries, n.Countries, func(s string) string { return s }, func(op Op, c string) {
		add(op, "country", c, c)
	})
	diffKeys(o.Vendors, n.Vendors, func(s string) string { return s }, func(op Op, v string) {
		add(op, "vendor", v, v)
	})
	diffKeys(o.Leaks, n.Leaks, BaselineLeak.Key, func(op Op, l BaselineLeak) {
		detail := l.Key()
		if l.Known {
			detail += " (a --devices value)"
		}
		c := add(op, "leak", l.Key(), detail)
		c.Identifier = l.Identifier
		c.Dest = &audit.Dest{Name: l.Destination, Channel: l.Channel}
	})
	return out
}

// diffKeys calls fn for items of b missing in a (Added) and of a missing in b (Removed).
func diffKeys[T any](a, b []T, key func(T) string, fn func(Op, T)) {
	in := func(s []T) map[string]bool {
		m := make(map[string]bool, len(s))
		for _, x := range s {
			m[key(x)] = true
		}
		return m
	}
	ka, kb := in(a), in(b)
	for _, x := range b {
		if !ka[key(x)] {
			fn(Added, x)
		}
	}
	for _, x := range a {
		if !kb[key(x)] {
			fn(Removed, x)
		}
	}
}
