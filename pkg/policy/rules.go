package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/signature"
)

// Check is what one rule checks. Each rule kind is its own type
// (AllowedCountries, DeniedIdentifiers, ...) that decodes the value of its
// YAML key, describes itself, lints itself and evaluates a device; adding a
// kind is one type here and one line in kinds.
type Check interface {
	// Kind is the rule's YAML key.
	Kind() Kind
	// Describe says in words what the check requires (shown when the rule
	// has no message).
	Describe() string

	decode(d *decoder, v *yaml.Node)
	lint(r *Rule) []Issue
	eval(e *evaluation)
}

// Options some kinds take besides their value (keys direction, country and
// known of a rule); a kind has an option when its type has the method.
type (
	directed      interface{ setDirection(Direction) }
	countryScoped interface{ setCountryField(CountryField) }
	knownScoped   interface{ setKnown(bool) }
)

// kinds lists every rule kind, in documentation order, with the
// constructor of its check (defaults set).
var kinds = []struct {
	kind Kind
	new  func() Check
}{
	{AllowCountries, func() Check { return &AllowedCountries{countrySet{Field: Located}} }},
	{DenyCountries, func() Check { return &DeniedCountries{countrySet{Field: Located}} }},
	{AllowASNs, func() Check { return &AllowedASNs{} }},
	{DenyASNs, func() Check { return &DeniedASNs{} }},
	{AllowDestinations, func() Check { return &AllowedDestinations{} }},
	{DenyDestinations, func() Check { return &DeniedDestinations{} }},
	{DenyCategories, func() Check { return &DeniedCategories{} }},
	{DenyIdentifiers, func() Check { return &DeniedIdentifiers{} }},
	{DenyPlaintextIdentifiers, func() Check { return &DeniedPlaintextIdentifiers{} }},
	{DenyBehaviour, func() Check { return &DeniedBehaviour{} }},
	{MinTLSVersion, func() Check { return &MinTLS{} }},
	{DenyChannels, func() Check { return &DeniedChannels{} }},
	{MaxBytesPerDestination, func() Check { return &DestinationBudget{Direction: Up} }},
	{MaxBytesPerCountry, func() Check { return &CountryBudget{Direction: Up, Field: Located} }},
	{FailOn, func() Check { return &SeverityGate{} }},
}

// checkFor returns the constructor of a kind's check, nil for an unknown kind.
func checkFor(k Kind) func() Check {
	for _, e := range kinds {
		if e.kind == k {
			return e.new
		}
	}
	return nil
}

// Kinds lists every rule kind in documentation order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, e := range kinds {
		out[i] = e.kind
	}
	return out
}

// evaluation is one rule applied to one device.
type evaluation struct {
	c    *collector
	base Violation
	dev  *audit.Device
}

// dest adds a violation about a destination.
func (e *evaluation) dest(dst audit.Dest, subject, detail string, frame uint64) {
	v := e.base
	v.Subject, v.Detail, v.Frame = subject, detail, frame
	dc := dst
	v.Dest = &dc
	e.c.add(v)
}

// remotes calls fn for each destination outside special-purpose ranges.
func (e *evaluation) remotes(fn func(dst *audit.Destination)) {
	for i := range e.dev.Destinations {
		if dst := &e.dev.Destinations[i]; remote(dst) {
			fn(dst)
		}
	}
}

func remote(dst *audit.Destination) bool { return dst.IP != "" && !local(dst.Dest) }

// countrySet is the value of allow_countries and deny_countries.
type countrySet struct {
	Countries []string     // upper case
	Field     CountryField // which country of a destination
}

func (c *countrySet) decode(d *decoder, v *yaml.Node) { c.Countries = d.countries(v, "countries") }
func (c *countrySet) setCountryField(f CountryField)  { c.Field = f }

func (c *countrySet) lint(r *Rule) []Issue {
	if dup := firstDup(c.Countries); dup != "" {
		return []Issue{{r.Pos, fmt.Sprintf("rule %s: %s listed twice", r.ID, dup)}}
	}
	return nil
}

// eval adds a violation for each destination whose country is listed
// (deny) or not listed (allow).
func (c *countrySet) eval(e *evaluation, deny bool) {
	e.remotes(func(dst *audit.Destination) {
		if slices.Contains(c.Countries, countryOf(c.Field, dst.Dest)) != deny {
			return
		}
		what := "is in " + countryLabel(dst.Dest)
		if c.Field == Registered {
			what = "is registered in " + registeredLabel(dst.Dest)
		}
		if !deny {
			what += ", not an allowed country"
		}
		e.dest(dst.Dest, host(dst.Dest), label(dst.Dest)+" "+what, dst.FirstFrame)
	})
}

// describe is prefix, then where the listed countries are.
func (c *countrySet) describe(prefix string) string {
	where := "in "
	if c.Field == Registered {
		where = "on blocks registered in "
	}
	return prefix + where + strings.Join(c.Countries, ", ")
}

// AllowedCountries (allow_countries) fails on destinations in any other country.
type AllowedCountries struct{ countrySet }

func (*AllowedCountries) Kind() Kind           { return AllowCountries }
func (c *AllowedCountries) Describe() string   { return c.describe("destinations only ") }
func (c *AllowedCountries) eval(e *evaluation) { c.countrySet.eval(e, false) }

// DeniedCountries (deny_countries) fails on destinations in the listed countries.
type DeniedCountries struct{ countrySet }

func (*DeniedCountries) Kind() Kind           { return DenyCountries }
func (c *DeniedCountries) Describe() string   { return c.describe("no destinations ") }
func (c *DeniedCountries) eval(e *evaluation) { c.countrySet.eval(e, true) }

// asnSet is the value of allow_asns and deny_asns.
type asnSet struct{ ASNs []uint32 }

func (a *asnSet) decode(d *decoder, v *yaml.Node) { a.ASNs = d.asns(v, "networks") }
func (*asnSet) lint(*Rule) []Issue                { return nil }

func (a *asnSet) eval(e *evaluation, deny bool) {
	e.remotes(func(dst *audit.Destination) {
		if (dst.ASN != 0 && slices.Contains(a.ASNs, dst.ASN)) != deny {
			return
		}
		what := "is in " + asLabel(dst.Dest)
		if !deny {
			what += ", not an allowed network"
		}
		e.dest(dst.Dest, host(dst.Dest), label(dst.Dest)+" "+what, dst.FirstFrame)
	})
}

// AllowedASNs (allow_asns) fails on destinations in any other network.
type AllowedASNs struct{ asnSet }

func (*AllowedASNs) Kind() Kind           { return AllowASNs }
func (a *AllowedASNs) Describe() string   { return "destinations only in networks " + asnList(a.ASNs) }
func (a *AllowedASNs) eval(e *evaluation) { a.asnSet.eval(e, false) }

// DeniedASNs (deny_asns) fails on destinations in the listed networks.
type DeniedASNs struct{ asnSet }

func (*DeniedASNs) Kind() Kind           { return DenyASNs }
func (a *DeniedASNs) Describe() string   { return "no destinations in networks " + asnList(a.ASNs) }
func (a *DeniedASNs) eval(e *evaluation) { a.asnSet.eval(e, true) }

// patternSet is the value of allow_destinations and deny_destinations.
type patternSet struct{ Destinations []Pattern }

func (p *patternSet) decode(d *decoder, v *yaml.Node) { p.Destinations = d.patterns(v, "destinations") }
func (*patternSet) lint(*Rule) []Issue                { return nil }

// match returns the first pattern matching dst, or nil.
func (p *patternSet) match(dst audit.Dest) *Pattern {
	for j := range p.Destinations {
		if p.Destinations[j].Match(dst) {
			return &p.Destinations[j]
		}
	}
	return nil
}

// AllowedDestinations (allow_destinations) fails on every other destination.
type AllowedDestinations struct{ patternSet }

func (*AllowedDestinations) Kind() Kind       { return AllowDestinations }
func (*AllowedDestinations) Describe() string { return "only the allowed destinations" }
func (p *AllowedDestinations) eval(e *evaluation) {
	e.remotes(func(dst *audit.Destination) {
		if p.match(dst.Dest) == nil {
			e.dest(dst.Dest, host(dst.Dest), "unexpected destination "+label(dst.Dest), dst.FirstFrame)
		}
	})
}

// DeniedDestinations (deny_destinations) fails on the listed destinations.
type DeniedDestinations struct{ patternSet }

func (*DeniedDestinations) Kind() Kind       { return DenyDestinations }
func (*DeniedDestinations) Describe() string { return "none of the denied destinations" }
func (p *DeniedDestinations) eval(e *evaluation) {
	e.remotes(func(dst *audit.Destination) {
		if hit := p.match(dst.Dest); hit != nil {
			e.dest(dst.Dest, host(dst.Dest), label(dst.Dest)+" matches denied "+hit.Text, dst.FirstFrame)
		}
	})
}

// DeniedCategories (deny_categories) fails on destinations whose signature
// has one of the categories.
type DeniedCategories struct {
	Categories []string // lower case
	at         []Pos
}

func (*DeniedCategories) Kind() Kind { return DenyCategories }
func (c *DeniedCategories) Describe() string {
	return "no " + strings.Join(c.Categories, ", ") + " destinations"
}
func (c *DeniedCategories) decode(d *decoder, v *yaml.Node) {
	c.Categories, c.at = d.words(v, "categories", "category", true)
}

func (c *DeniedCategories) lint(r *Rule) []Issue {
	var out []Issue
	cats := signature.Categories()
	for i, cat := range c.Categories {
		if !slices.Contains(cats, cat) {
			out = append(out, Issue{c.at[i], fmt.Sprintf("rule %s: no signature has category %q (known: %s)", r.ID, cat, strings.Join(cats, ", "))})
		}
	}
	return out
}

func (c *DeniedCategories) eval(e *evaluation) {
	for i := range e.dev.Destinations {
		dst := &e.dev.Destinations[i]
		if dst.Category == "" || !slices.Contains(c.Categories, strings.ToLower(dst.Category)) {
			continue
		}
		who := dst.Vendor
		if dst.Service != "" {
			who = strings.TrimSpace(who + " " + dst.Service)
		}
		detail := fmt.Sprintf("%s is %s", label(dst.Dest), dst.Category)
		if who != "" {
			detail += " (" + who + ")"
		}
		e.dest(dst.Dest, host(dst.Dest), detail, dst.FirstFrame)
	}
}

// identifierSet is the value of deny_identifiers and deny_plaintext_identifiers.
type identifierSet struct {
	Identifiers []string // lower case; "any" matches all
	Known       bool     // only values from --devices
	at          []Pos
}

func (s *identifierSet) decode(d *decoder, v *yaml.Node) {
	s.Identifiers, s.at = d.words(v, "identifiers", "identifier type", true)
}
func (s *identifierSet) setKnown(k bool) { s.Known = k }

func (s *identifierSet) list() string {
	out := strings.Join(s.Identifiers, ", ")
	if s.Known {
		out += " (values from --devices)"
	}
	return out
}

func (s *identifierSet) lint(r *Rule) []Issue {
	var out []Issue
	for i, c := range s.Identifiers {
		if c != "any" && !slices.Contains(knownIdentifiers, c) {
			out = append(out, Issue{s.at[i], fmt.Sprintf("rule %s: no detector reports identifier %q (known: any, %s)", r.ID, c, strings.Join(knownIdentifiers, ", "))})
		}
	}
	return out
}

// eval adds a violation per leak of a listed identifier (in clear only, if
// inClear).
func (s *identifierSet) eval(e *evaluation, inClear bool) {
	for i := range e.dev.Leaks {
		l := &e.dev.Leaks[i]
		if !slices.Contains(s.Identifiers, "any") && !slices.Contains(s.Identifiers, strings.ToLower(l.Identifier)) {
			continue
		}
		if audit.IsBehaviour(l.Identifier) && !slices.Contains(s.Identifiers, l.Identifier) {
			continue // "any" means identifiers; behaviour has deny_behaviour
		}
		if s.Known && !l.Known || inClear && !leakInClear(l) {
			continue
		}
		v := e.base
		v.Identifier = l.Identifier
		v.Subject = fmt.Sprintf("%s to %s over %s", l.Identifier, host(l.Dest), l.Dest.Channel)
		v.Detail = fmt.Sprintf("%s sent to %s over %s (%s, %s)", l.Identifier, label(l.Dest), l.Dest.Channel, l.Location, l.Encoding)
		v.Frame, v.Count = l.Frame, max(l.Count, 1)
		dc := l.Dest
		v.Dest = &dc
		e.c.add(v)
	}
}

// DeniedIdentifiers (deny_identifiers) fails on every leak of the listed identifiers.
type DeniedIdentifiers struct{ identifierSet }

func (*DeniedIdentifiers) Kind() Kind { return DenyIdentifiers }
func (s *DeniedIdentifiers) Describe() string {
	return "identifiers never leave the device: " + s.list()
}
func (s *DeniedIdentifiers) eval(e *evaluation) { s.identifierSet.eval(e, false) }

// DeniedPlaintextIdentifiers (deny_plaintext_identifiers) fails on leaks of
// the listed identifiers that anyone on the path could read.
type DeniedPlaintextIdentifiers struct{ identifierSet }

func (*DeniedPlaintextIdentifiers) Kind() Kind { return DenyPlaintextIdentifiers }
func (s *DeniedPlaintextIdentifiers) Describe() string {
	return "identifiers never leave in clear: " + s.list()
}
func (s *DeniedPlaintextIdentifiers) eval(e *evaluation) { s.identifierSet.eval(e, true) }

// DeniedBehaviour (deny_behaviour) fails on every behavioural row
// (browsing_history, search_query, app_usage; "any" for all three) the
// device sent, in clear or not (docs/leaks.md, "Behavioural data").
type DeniedBehaviour struct {
	Classes []string // lower case; "any" matches all
	at      []Pos
}

func (*DeniedBehaviour) Kind() Kind { return DenyBehaviour }
func (b *DeniedBehaviour) Describe() string {
	return "no behavioural data leaves the device: " + strings.Join(b.Classes, ", ")
}
func (b *DeniedBehaviour) decode(d *decoder, v *yaml.Node) {
	b.Classes, b.at = d.words(v, "behavioural classes", "behavioural class", true)
}
func (b *DeniedBehaviour) lint(r *Rule) []Issue {
	var out []Issue
	for i, c := range b.Classes {
		if c != "any" && !audit.IsBehaviour(c) {
			out = append(out, Issue{b.at[i], fmt.Sprintf("rule %s: %q is not a behavioural class (known: any, %s)", r.ID, c, strings.Join(audit.BehaviourClasses(), ", "))})
		}
	}
	return out
}
func (b *DeniedBehaviour) eval(e *evaluation) {
	for i := range e.dev.Leaks {
		l := &e.dev.Leaks[i]
		if !audit.IsBehaviour(l.Identifier) || !slices.Contains(b.Classes, "any") && !slices.Contains(b.Classes, l.Identifier) {
			continue
		}
		v := e.base
		v.Identifier = l.Identifier
		v.Subject = fmt.Sprintf("%s to %s over %s", l.Identifier, host(l.Dest), l.Dest.Channel)
		v.Detail = fmt.Sprintf("%s sent to %s over %s (%s, %s)", l.Identifier, label(l.Dest), l.Dest.Channel, l.Location, l.Encoding)
		v.Frame, v.Count = l.Frame, max(l.Count, 1)
		dc := l.Dest
		v.Dest = &dc
		e.c.add(v)
	}
}

// MinTLS (min_tls_version) fails on TLS destinations older than Version.
type MinTLS struct{ Version TLSVersion }

func (*MinTLS) Kind() Kind         { return MinTLSVersion }
func (m *MinTLS) Describe() string { return "TLS " + m.Version.String() + " or newer" }
func (m *MinTLS) decode(d *decoder, v *yaml.Node) {
	s, ok := d.String(v, "min_tls_version")
	if !ok {
		return
	}
	ver, ok := ParseTLSVersion(s)
	if !ok {
		d.Errf(v, "TLS version %q: want 1.0, 1.1, 1.2 or 1.3 (quote it: \"1.2\")", s)
	}
	m.Version = ver
}

func (m *MinTLS) lint(r *Rule) []Issue {
	if m.Version <= SSL2 {
		return []Issue{{r.Pos, fmt.Sprintf("rule %s: min_tls_version %s allows every TLS version", r.ID, m.Version)}}
	}
	return nil
}

func (m *MinTLS) eval(e *evaluation) {
	for i := range e.dev.Destinations {
		dst := &e.dev.Destinations[i]
		ver, ok := channelTLS(dst.Channel)
		if !ok || ver >= m.Version {
			continue
		}
		e.dest(dst.Dest, host(dst.Dest)+" "+dst.Channel,
			fmt.Sprintf("%s uses %s, older than TLS %s", label(dst.Dest), dst.Channel, m.Version), dst.FirstFrame)
	}
}

// DeniedChannels (deny_channels) fails on destinations reached over the
// listed channels; "cleartext" stands for every readable channel.
type DeniedChannels struct {
	Channels []string // as written
	at       []Pos
}

func (*DeniedChannels) Kind() Kind { return DenyChannels }
func (c *DeniedChannels) Describe() string {
	return "no traffic over " + strings.Join(c.Channels, ", ")
}
func (c *DeniedChannels) decode(d *decoder, v *yaml.Node) {
	c.Channels, c.at = d.words(v, "channels", "channel", false)
}

func (c *DeniedChannels) lint(r *Rule) []Issue {
	var out []Issue
	for i, ch := range c.Channels {
		if !knownChannel(ch) {
			out = append(out, Issue{c.at[i], fmt.Sprintf("rule %s: unknown channel %q (known: %s)", r.ID, ch, knownChannels())})
		}
	}
	return out
}

func (c *DeniedChannels) eval(e *evaluation) {
	for i := range e.dev.Destinations {
		dst := &e.dev.Destinations[i]
		for _, ch := range c.Channels {
			// "cleartext" means readable traffic that leaves the lab:
			// the lab's own DHCP, DNS to the gateway, mDNS and SSDP
			// are plaintext by design and stay on the LAN. A channel
			// named explicitly (deny_channels: [DNS]) applies to LAN
			// destinations too.
			if audit.Channel(ch).Same(audit.Channel(dst.Channel)) || strings.EqualFold(ch, Cleartext) && audit.Channel(dst.Channel).Plaintext() && remote(dst) {
				e.dest(dst.Dest, host(dst.Dest)+" "+dst.Channel, fmt.Sprintf("%s uses %s", label(dst.Dest), dst.Channel), dst.FirstFrame)
				break
			}
		}
	}
}

// DestinationBudget (max_bytes_per_destination) fails on a host that got
// more than Max bytes in Direction.
type DestinationBudget struct {
	Max       uint64
	Direction Direction
}

func (*DestinationBudget) Kind() Kind                        { return MaxBytesPerDestination }
func (b *DestinationBudget) setDirection(dir Direction)      { b.Direction = dir }
func (b *DestinationBudget) decode(d *decoder, v *yaml.Node) { b.Max = d.size(v) }
func (b *DestinationBudget) Describe() string {
	return fmt.Sprintf("at most %s %s per destination", formatSize(b.Max), dirWord(b.Direction))
}

func (b *DestinationBudget) lint(r *Rule) []Issue {
	if b.Max == 0 {
		return []Issue{{r.Pos, fmt.Sprintf("rule %s: a budget of 0 bytes fails on every destination", r.ID)}}
	}
	return nil
}

func (b *DestinationBudget) eval(e *evaluation) {
	type agg struct {
		dest  audit.Dest
		bytes uint64
		frame uint64
	}
	var order []string
	sums := map[string]*agg{}
	e.remotes(func(dst *audit.Destination) {
		h := host(dst.Dest)
		a := sums[h]
		if a == nil {
			a = &agg{dest: dst.Dest, frame: dst.FirstFrame}
			sums[h] = a
			order = append(order, h)
		}
		a.bytes += countBytes(b.Direction, dst.BytesUp, dst.BytesDown)
		a.frame = min(a.frame, dst.FirstFrame)
	})
	for _, h := range order {
		a := sums[h]
		if a.bytes > b.Max {
			e.dest(a.dest, h, fmt.Sprintf("%s: %s %s, budget %s", h, formatSize(a.bytes), dirWord(b.Direction), formatSize(b.Max)), a.frame)
		}
	}
}

// CountryBudget (max_bytes_per_country) fails on a country that got more
// bytes in Direction than its limit.
type CountryBudget struct {
	Limits    []CountryLimit // "*" last
	Direction Direction
	Field     CountryField
}

func (*CountryBudget) Kind() Kind                       { return MaxBytesPerCountry }
func (b *CountryBudget) setDirection(dir Direction)     { b.Direction = dir }
func (b *CountryBudget) setCountryField(f CountryField) { b.Field = f }
func (*CountryBudget) lint(*Rule) []Issue               { return nil }

func (b *CountryBudget) Describe() string {
	var parts []string
	for _, c := range b.Limits {
		parts = append(parts, c.Country+" "+formatSize(c.Bytes))
	}
	return fmt.Sprintf("byte budget %s per country: %s", dirWord(b.Direction), strings.Join(parts, ", "))
}

func (b *CountryBudget) decode(d *decoder, v *yaml.Node) {
	var star *CountryLimit
	if v.Kind != yaml.MappingNode {
		if d.Plain(v) {
			d.Errf(v, "want a mapping of country code (or \"*\") to a size, e.g. {CN: 0, \"*\": 10MiB}")
		}
		return
	}
	d.Fields(v, "a mapping", func(key string, k, val *yaml.Node) {
		n := d.size(val)
		if key == "*" {
			star = &CountryLimit{Country: "*", Bytes: n}
			return
		}
		c, ok := countryCode(key)
		if !ok {
			d.Errf(k, "country %q: want an ISO 3166 alpha-2 code or \"*\"", key)
			return
		}
		b.Limits = append(b.Limits, CountryLimit{Country: c, Bytes: n})
	})
	if star != nil {
		b.Limits = append(b.Limits, *star)
	}
	if len(b.Limits) == 0 && len(v.Content) == 0 {
		d.Errf(v, "empty mapping")
	}
}

// limit returns the budget of a country: its own entry, else "*".
func (b *CountryBudget) limit(cc string) (uint64, bool) {
	var star *CountryLimit
	for i := range b.Limits {
		l := &b.Limits[i]
		if l.Country == cc && cc != "" {
			return l.Bytes, true
		}
		if l.Country == "*" {
			star = l
		}
	}
	if star != nil {
		return star.Bytes, true
	}
	return 0, false
}

func (b *CountryBudget) eval(e *evaluation) {
	var order []string
	sums := map[string]uint64{}
	frames := map[string]uint64{}
	e.remotes(func(dst *audit.Destination) {
		cc := countryOf(b.Field, dst.Dest)
		if _, ok := sums[cc]; !ok {
			order = append(order, cc)
			frames[cc] = dst.FirstFrame
		}
		sums[cc] += countBytes(b.Direction, dst.BytesUp, dst.BytesDown)
		frames[cc] = min(frames[cc], dst.FirstFrame)
	})
	sort.Strings(order)
	for _, cc := range order {
		limit, ok := b.limit(cc)
		if !ok || sums[cc] <= limit {
			continue
		}
		name := cc
		if name == "" {
			name = "unknown country"
		}
		v := e.base
		v.Subject = "country " + name
		v.Detail = fmt.Sprintf("%s %s to %s, budget %s", formatSize(sums[cc]), dirWord(b.Direction), name, formatSize(limit))
		v.Frame = frames[cc]
		e.c.add(v)
	}
}

// SeverityGate (fail_on) fails on every leak and finding of Threshold or
// higher; violations take the leak's or finding's severity.
type SeverityGate struct{ Threshold audit.Severity }

func (*SeverityGate) Kind() Kind         { return FailOn }
func (*SeverityGate) lint(*Rule) []Issue { return nil }
func (g *SeverityGate) Describe() string {
	return "no leak or finding of severity " + g.Threshold.String() + " or higher"
}

func (g *SeverityGate) decode(d *decoder, v *yaml.Node) {
	g.Threshold = d.severity(v, "fail_on")
	if g.Threshold == audit.None && v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "none") {
		d.Errf(v, "fail_on none would fail on nothing: want info, low, medium, high or critical")
	}
}

func (g *SeverityGate) eval(e *evaluation) {
	for i := range e.dev.Leaks {
		l := &e.dev.Leaks[i]
		if l.Severity < g.Threshold {
			continue
		}
		v := e.base
		v.Severity, v.Identifier = l.Severity, l.Identifier
		v.Subject = fmt.Sprintf("leak %s to %s over %s at %s", l.Identifier, host(l.Dest), l.Dest.Channel, l.Location)
		v.Detail = fmt.Sprintf("%s leak: %s sent to %s over %s (%s)", l.Severity, l.Identifier, label(l.Dest), l.Dest.Channel, l.Location)
		v.Frame, v.Count = l.Frame, max(l.Count, 1)
		dc := l.Dest
		v.Dest = &dc
		e.c.add(v)
	}
	for i := range e.dev.Findings {
		f := &e.dev.Findings[i]
		if f.Severity < g.Threshold {
			continue
		}
		v := e.base
		v.Severity = f.Severity
		v.Subject = fmt.Sprintf("finding %s at %s", f.Kind, host(f.Dest))
		v.Detail = fmt.Sprintf("%s finding %s: %s (%s)", f.Severity, f.Kind, f.Message, label(f.Dest))
		v.Frame = f.Frame
		dc := f.Dest
		v.Dest = &dc
		e.c.add(v)
	}
}

// countBytes is what a budget in direction dir counts.
func countBytes(dir Direction, up, down uint64) uint64 {
	switch dir {
	case Down:
		return down
	case Both:
		return up + down
	}
	return up
}

func dirWord(dir Direction) string {
	switch dir {
	case Down:
		return "received"
	case Both:
		return "sent and received"
	}
	return "sent"
}

// countryOf is the country of d that field means.
func countryOf(field CountryField, d audit.Dest) string {
	if field == Registered {
		return d.RegisteredCountry
	}
	return d.Country
}
