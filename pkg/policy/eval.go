package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
)

// FailOnRuleID is the id of the rule that --fail-on adds.
const FailOnRuleID = "cli-fail-on"

// Baseline rule ids: a check with a baseline fails on each new item.
const (
	RuleNewDestination = "baseline-new-destination"
	RuleNewCountry     = "baseline-new-country"
	RuleNewVendor      = "baseline-new-vendor"
	RuleNewLeak        = "baseline-new-leak"
)

// Options tune Evaluate.
type Options struct {
	// FailOn adds a fail_on rule (id FailOnRuleID) when not None.
	FailOn audit.Severity
	// Baseline, when set, fails on destinations, countries, vendors and
	// leaks that it does not have. BaselineFile names it in output.
	Baseline     *Baseline
	BaselineFile string
	// Ignore suppresses violations; entries expire against Now.
	Ignore *Ignore
	Now    time.Time
	// Aliases are extra names for devices in rule scopes, e.g. the ids
	// of a --devices file mapped to their MAC addresses (lower case keys).
	Aliases map[string]string
}

// Result is the outcome of a check, ready for pkg/cireport.
type Result struct {
	Tool       audit.Tool   `json:"tool"`
	Policy     string       `json:"policy,omitempty"`
	Baseline   string       `json:"baseline,omitempty"`
	Inputs     []string     `json:"inputs"`
	Rules      []RuleInfo   `json:"rules"`
	Devices    []DeviceInfo `json:"devices"`
	Violations []Violation  `json:"violations"`
	Warnings   []Warning    `json:"warnings"`
	Incomplete bool         `json:"incomplete"`
}

// RuleInfo describes one evaluated rule.
type RuleInfo struct {
	ID          string         `json:"id"`
	Kind        string         `json:"kind"`
	Description string         `json:"description"`
	Message     string         `json:"message,omitempty"`
	Severity    audit.Severity `json:"severity"`
	Pos         Pos            `json:"position"`
	Scoped      bool           `json:"scoped,omitempty"`  // has a devices: scope
	Devices     []string       `json:"devices,omitempty"` // devices in the scope
}

// Text is the rule's message, or its description when it has none.
func (r RuleInfo) Text() string {
	if r.Message != "" {
		return r.Message
	}
	return r.Description
}

// AppliesTo reports whether the rule was evaluated for the device.
func (r RuleInfo) AppliesTo(d DeviceInfo) bool {
	return !r.Scoped || slices.Contains(r.Devices, d.ID)
}

// DeviceInfo names one device of the report.
type DeviceInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	MAC  string `json:"mac,omitempty"`
}

// Violation is one rule broken by one device about one subject.
type Violation struct {
	Rule       string         `json:"rule"`
	Severity   audit.Severity `json:"severity"`
	Device     string         `json:"device"`
	DeviceName string         `json:"device_name"`
	// Subject is what broke the rule (a host, "imei to host over HTTP",
	// a country...). It never holds identifier values, so the
	// fingerprint does not change with --show-evidence.
	Subject     string       `json:"subject"`
	Detail      string       `json:"detail"`
	Dest        *audit.Dest  `json:"destination,omitempty"`
	Identifier  string       `json:"identifier,omitempty"`
	Frame       uint64       `json:"frame,omitempty"`
	Count       int          `json:"count"`
	Fingerprint string       `json:"fingerprint"`
	Suppressed  *Suppression `json:"suppressed,omitempty"`
}

// Suppression says which ignore entry silenced a violation. Until is the
// expiry as written; Expires is the first instant it no longer applies.
type Suppression struct {
	Reason  string    `json:"reason"`
	Until   string    `json:"until"`
	Expires time.Time `json:"expires"`
	Pos     Pos       `json:"position"`
}

// Warning is a problem that does not fail the check by itself: an expired
// or unused suppression, a scope that named no device, an incomplete report.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Pos     Pos    `json:"position,omitzero"`
}

// Failed reports whether any violation is not suppressed.
func (r *Result) Failed() bool { return r.Open() > 0 }

// Open counts unsuppressed violations.
func (r *Result) Open() int {
	n := 0
	for i := range r.Violations {
		if r.Violations[i].Suppressed == nil {
			n++
		}
	}
	return n
}

// Rule returns the rule with the id.
func (r *Result) Rule(id string) (RuleInfo, bool) {
	for _, ri := range r.Rules {
		if ri.ID == id {
			return ri, true
		}
	}
	return RuleInfo{}, false
}

// Fingerprint is the stable id of a violation: SHA-256 of rule|device|subject, in hex.
func Fingerprint(rule, device, subject string) string {
	h := sha256.Sum256([]byte(rule + "|" + device + "|" + subject))
	return hex.EncodeToString(h[:])
}

// Evaluate checks a report against a policy (nil: only the options' rules).
func Evaluate(rep *audit.Report, p *Policy, opt Options) *Result {
	res := &Result{Tool: rep.Tool, Incomplete: rep.Incomplete, Baseline: opt.BaselineFile,
		Rules: []RuleInfo{}, Devices: []DeviceInfo{}, Violations: []Violation{}, Warnings: []Warning{}}
	for _, in := range rep.Inputs {
		res.Inputs = append(res.Inputs, in.Path)
	}
	for i := range rep.Devices {
		d := &rep.Devices[i]
		res.Devices = append(res.Devices, DeviceInfo{ID: d.ID, Name: d.Name, MAC: d.MAC})
	}
	var rules []*Rule
	if p != nil {
		res.Policy = p.File
		rules = append(rules, p.Rules...)
	}
	if opt.FailOn != audit.None {
		rules = append(rules, &Rule{ID: FailOnRuleID, Kind: FailOn, Threshold: opt.FailOn, Severity: opt.FailOn,
			Pos: Pos{File: "--fail-on"}, Direction: Up})
	}
	c := &collector{idx: map[string]int{}}
	for _, r := range rules {
		info := RuleInfo{ID: r.ID, Kind: string(r.Kind), Description: r.Describe(), Message: r.Message,
			Severity: r.Severity, Pos: r.Pos, Scoped: len(r.Devices) > 0}
		matched := make([]bool, len(r.Devices))
		for i := range rep.Devices {
			d := &rep.Devices[i]
			if len(r.Devices) > 0 {
				in := false
				for j, e := range r.Devices {
					if matchDevice(e, d, opt.Aliases) {
						in, matched[j] = true, true
					}
				}
				if !in {
					continue
				}
				info.Devices = append(info.Devices, d.ID)
			}
			evalRule(c, r, d)
		}
		for j, ok := range matched {
			if !ok {
				res.Warnings = append(res.Warnings, Warning{Code: "scope-no-device", Pos: r.Pos,
					Message: fmt.Sprintf("rule %s: devices entry %q matched no device in the capture", r.ID, r.Devices[j])})
			}
		}
		res.Rules = append(res.Rules, info)
	}
	if opt.Baseline != nil {
		baselineViolations(c, res, opt, rep)
	}
	res.Violations = c.out
	sortViolations(res.Violations)
	if opt.Ignore != nil {
		res.Warnings = append(res.Warnings, opt.Ignore.Apply(res.Violations, opt.Now)...)
	}
	if rep.Incomplete {
		res.Warnings = append(res.Warnings, Warning{Code: "incomplete-report",
			Message: "the analysis stopped early; the check covers only what was read"})
	}
	return res
}

func sortViolations(vs []Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := &vs[i], &vs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Device != b.Device {
			return a.Device < b.Device
		}
		return a.Subject < b.Subject
	})
}

// collector merges violations with the same fingerprint.
type collector struct {
	idx map[string]int
	out []Violation
}

func (c *collector) add(v Violation) {
	if v.Count == 0 {
		v.Count = 1
	}
	v.Fingerprint = Fingerprint(v.Rule, v.Device, v.Subject)
	if i, ok := c.idx[v.Fingerprint]; ok {
		o := &c.out[i]
		o.Count += v.Count
		if v.Frame != 0 && (o.Frame == 0 || v.Frame < o.Frame) {
			o.Frame = v.Frame
		}
		return
	}
	c.idx[v.Fingerprint] = len(c.out)
	c.out = append(c.out, v)
}

// host is the stable name of a destination: its name, else its address.
func host(d audit.Dest) string {
	if d.Name != "" {
		return d.Name
	}
	return d.IP
}

// label names a destination for people: "name (ip:port/tcp)".
func label(d audit.Dest) string {
	ep := fmt.Sprintf("%s:%d/%s", d.IP, d.Port, d.Transport)
	if strings.Contains(d.IP, ":") {
		ep = fmt.Sprintf("[%s]:%d/%s", d.IP, d.Port, d.Transport)
	}
	if d.Name != "" && d.Name != d.IP {
		return d.Name + " (" + ep + ")"
	}
	return ep
}

// local reports destinations inside special-purpose ranges (LAN, private,
// multicast...): country, ASN and destination lists do not apply to them.
func local(d audit.Dest) bool {
	switch d.Country {
	case geo.SpecialLAN, geo.SpecialPrivate, geo.SpecialULA, geo.SpecialLoopback, geo.SpecialLinkLocal,
		geo.SpecialCGNAT, geo.SpecialMulticast, geo.SpecialBroadcast, geo.SpecialDocumentation,
		geo.SpecialUnspecified, geo.SpecialBenchmarking, geo.SpecialProtocol, geo.SpecialDiscard,
		geo.SpecialReserved, geo.SpecialInvalid:
		return true
	}
	return false
}

func countryLabel(d audit.Dest) string {
	switch {
	case d.Country == "":
		return "an unknown country"
	case d.Country == geo.Anycast && d.Anycast != "":
		return "anycast (" + d.Anycast + ")"
	case d.CountryName != "":
		return d.Country + " (" + d.CountryName + ")"
	}
	return d.Country
}

func registeredLabel(d audit.Dest) string {
	if d.RegisteredCountry == "" {
		return "an unknown country"
	}
	return d.RegisteredCountry
}

func asLabel(d audit.Dest) string {
	if d.ASN == 0 {
		return "an unknown network"
	}
	if d.ASOrg != "" {
		return fmt.Sprintf("AS%d %s", d.ASN, d.ASOrg)
	}
	return fmt.Sprintf("AS%d", d.ASN)
}

func (r *Rule) bytes(up, down uint64) uint64 {
	switch r.Direction {
	case Down:
		return down
	case Both:
		return up + down
	}
	return up
}

// evalRule adds the violations of one rule by one device.
func evalRule(c *collector, r *Rule, d *audit.Device) {
	base := Violation{Rule: r.ID, Severity: r.Severity, Device: d.ID, DeviceName: d.Name}
	destV := func(dst audit.Dest, subject, detail string, frame uint64) {
		v := base
		v.Subject, v.Detail, v.Frame = subject, detail, frame
		dc := dst
		v.Dest = &dc
		c.add(v)
	}
	remote := func(dst *audit.Destination) bool { return dst.IP != "" && !local(dst.Dest) }
	switch r.Kind {
	case AllowCountries, DenyCountries:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if !remote(dst) {
				continue
			}
			listed := slices.Contains(r.Countries, r.countryOf(dst.Dest))
			if listed == (r.Kind == DenyCountries) {
				what := "is in " + countryLabel(dst.Dest)
				if r.CountryField == Registered {
					what = "is registered in " + registeredLabel(dst.Dest)
				}
				if r.Kind == AllowCountries {
					what += ", not an allowed country"
				}
				destV(dst.Dest, host(dst.Dest), label(dst.Dest)+" "+what, dst.FirstFrame)
			}
		}
	case AllowASNs, DenyASNs:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if !remote(dst) {
				continue
			}
			listed := dst.ASN != 0 && slices.Contains(r.ASNs, dst.ASN)
			if listed == (r.Kind == DenyASNs) {
				what := "is in " + asLabel(dst.Dest)
				if r.Kind == AllowASNs {
					what += ", not an allowed network"
				}
				destV(dst.Dest, host(dst.Dest), label(dst.Dest)+" "+what, dst.FirstFrame)
			}
		}
	case AllowDestinations, DenyDestinations:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if !remote(dst) {
				continue
			}
			var hit *Pattern
			for j := range r.Destinations {
				if r.Destinations[j].Match(dst.Dest) {
					hit = &r.Destinations[j]
					break
				}
			}
			switch {
			case r.Kind == AllowDestinations && hit == nil:
				destV(dst.Dest, host(dst.Dest), "unexpected destination "+label(dst.Dest), dst.FirstFrame)
			case r.Kind == DenyDestinations && hit != nil:
				destV(dst.Dest, host(dst.Dest), label(dst.Dest)+" matches denied "+hit.Text, dst.FirstFrame)
			}
		}
	case DenyCategories:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if dst.Category == "" || !slices.Contains(r.Categories, strings.ToLower(dst.Category)) {
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
			destV(dst.Dest, host(dst.Dest), detail, dst.FirstFrame)
		}
	case DenyIdentifiers, DenyPlaintextIdentifiers:
		for i := range d.Leaks {
			l := &d.Leaks[i]
			if !slices.Contains(r.Identifiers, "any") && !slices.Contains(r.Identifiers, strings.ToLower(l.Identifier)) {
				continue
			}
			if r.Known && !l.Known {
				continue
			}
			if r.Kind == DenyPlaintextIdentifiers && !leakInClear(l) {
				continue
			}
			v := base
			v.Identifier = l.Identifier
			v.Subject = fmt.Sprintf("%s to %s over %s", l.Identifier, host(l.Dest), l.Dest.Channel)
			v.Detail = fmt.Sprintf("%s sent to %s over %s (%s, %s)", l.Identifier, label(l.Dest), l.Dest.Channel, l.Location, l.Encoding)
			v.Frame, v.Count = l.Frame, max(l.Count, 1)
			dc := l.Dest
			v.Dest = &dc
			c.add(v)
		}
	case MinTLSVersion:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			ver, ok := channelTLS(dst.Channel)
			if !ok || ver >= r.MinTLS {
				continue
			}
			destV(dst.Dest, host(dst.Dest)+" "+dst.Channel,
				fmt.Sprintf("%s uses %s, older than TLS %s", label(dst.Dest), dst.Channel, r.MinTLS), dst.FirstFrame)
		}
	case DenyChannels:
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			for _, ch := range r.Channels {
				// "cleartext" means readable traffic that leaves the lab:
				// the lab's own DHCP, DNS to the gateway, mDNS and SSDP
				// are plaintext by design and stay on the LAN. A channel
				// named explicitly (deny_channels: [DNS]) applies to LAN
				// destinations too.
				if audit.Channel(ch).Same(audit.Channel(dst.Channel)) || strings.EqualFold(ch, Cleartext) && audit.Channel(dst.Channel).Plaintext() && remote(dst) {
					destV(dst.Dest, host(dst.Dest)+" "+dst.Channel, fmt.Sprintf("%s uses %s", label(dst.Dest), dst.Channel), dst.FirstFrame)
					break
				}
			}
		}
	case MaxBytesPerDestination:
		type agg struct {
			dest  audit.Dest
			bytes uint64
			frame uint64
		}
		var order []string
		sums := map[string]*agg{}
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if !remote(dst) {
				continue
			}
			h := host(dst.Dest)
			a := sums[h]
			if a == nil {
				a = &agg{dest: dst.Dest, frame: dst.FirstFrame}
				sums[h] = a
				order = append(order, h)
			}
			a.bytes += r.bytes(dst.BytesUp, dst.BytesDown)
			a.frame = min(a.frame, dst.FirstFrame)
		}
		for _, h := range order {
			a := sums[h]
			if a.bytes > r.MaxBytes {
				destV(a.dest, h, fmt.Sprintf("%s: %s %s, budget %s", h, formatSize(a.bytes), r.dirWord(), formatSize(r.MaxBytes)), a.frame)
			}
		}
	case MaxBytesPerCountry:
		var order []string
		sums := map[string]uint64{}
		frames := map[string]uint64{}
		for i := range d.Destinations {
			dst := &d.Destinations[i]
			if !remote(dst) {
				continue
			}
			cc := r.countryOf(dst.Dest)
			if _, ok := sums[cc]; !ok {
				order = append(order, cc)
				frames[cc] = dst.FirstFrame
			}
			sums[cc] += r.bytes(dst.BytesUp, dst.BytesDown)
			frames[cc] = min(frames[cc], dst.FirstFrame)
		}
		sort.Strings(order)
		for _, cc := range order {
			limit, ok := r.countryLimit(cc)
			if !ok || sums[cc] <= limit {
				continue
			}
			name := cc
			if name == "" {
				name = "unknown country"
			}
			v := base
			v.Subject = "country " + name
			v.Detail = fmt.Sprintf("%s %s to %s, budget %s", formatSize(sums[cc]), r.dirWord(), name, formatSize(limit))
			v.Frame = frames[cc]
			c.add(v)
		}
	case FailOn:
		for i := range d.Leaks {
			l := &d.Leaks[i]
			if l.Severity < r.Threshold {
				continue
			}
			v := base
			v.Severity, v.Identifier = l.Severity, l.Identifier
			v.Subject = fmt.Sprintf("leak %s to %s over %s at %s", l.Identifier, host(l.Dest), l.Dest.Channel, l.Location)
			v.Detail = fmt.Sprintf("%s leak: %s sent to %s over %s (%s)", l.Severity, l.Identifier, label(l.Dest), l.Dest.Channel, l.Location)
			v.Frame, v.Count = l.Frame, max(l.Count, 1)
			dc := l.Dest
			v.Dest = &dc
			c.add(v)
		}
		for i := range d.Findings {
			f := &d.Findings[i]
			if f.Severity < r.Threshold {
				continue
			}
			v := base
			v.Severity = f.Severity
			v.Subject = fmt.Sprintf("finding %s at %s", f.Kind, host(f.Dest))
			v.Detail = fmt.Sprintf("%s finding %s: %s (%s)", f.Severity, f.Kind, f.Message, label(f.Dest))
			v.Frame = f.Frame
			dc := f.Dest
			v.Dest = &dc
			c.add(v)
		}
	}
}

// countryLimit returns the budget of a country: its own entry, else "*".
func (r *Rule) countryLimit(cc string) (uint64, bool) {
	var star *CountryLimit
	for i := range r.CountryBytes {
		l := &r.CountryBytes[i]
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

// baselineViolations fails on every item the baseline does not have.
func baselineViolations(c *collector, res *Result, opt Options, rep *audit.Report) {
	pos := Pos{File: opt.BaselineFile}
	for _, r := range []struct{ id, desc string }{
		{RuleNewDestination, "no destination that the baseline does not have"},
		{RuleNewCountry, "no country that the baseline does not have"},
		{RuleNewVendor, "no vendor that the baseline does not have"},
		{RuleNewLeak, "no identifier leak that the baseline does not have"},
	} {
		sev := audit.Medium
		if r.id == RuleNewLeak {
			sev = audit.High
		}
		res.Rules = append(res.Rules, RuleInfo{ID: r.id, Kind: "baseline", Description: r.desc, Severity: sev, Pos: pos})
	}
	names := map[string]string{}
	for _, d := range rep.Devices {
		names[d.ID] = d.Name
	}
	for _, ch := range Compare(opt.Baseline, NewBaseline(rep)) {
		if ch.Op != Added {
			continue
		}
		v := Violation{Device: ch.Device, DeviceName: names[ch.Device], Subject: ch.Subject, Detail: "new " + ch.Kind + ": " + ch.Detail}
		switch ch.Kind {
		case "destination":
			v.Rule, v.Severity = RuleNewDestination, audit.Medium
		case "country":
			v.Rule, v.Severity = RuleNewCountry, audit.Medium
		case "vendor":
			v.Rule, v.Severity = RuleNewVendor, audit.Medium
		case "leak":
			v.Rule, v.Severity, v.Identifier = RuleNewLeak, audit.High, ch.Identifier
		default:
			continue
		}
		v.Dest = ch.Dest
		c.add(v)
	}
}
