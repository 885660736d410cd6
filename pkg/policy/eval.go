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
		rules = append(rules, &Rule{ID: FailOnRuleID, Kind: FailOn, Check: &SeverityGate{Threshold: opt.FailOn},
			Severity: opt.FailOn, Pos: Pos{File: "--fail-on"}})
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
			r.Check.eval(&evaluation{c: c, dev: d, base: Violation{Rule: r.ID, Severity: r.Severity, Device: d.ID, DeviceName: d.Name}})
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
