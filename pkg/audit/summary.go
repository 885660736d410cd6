package audit

import (
	"cmp"
	"fmt"
	"slices"
)

// Summarize computes d.Summary from the device's rows, in their order:
// byte totals and shares per country and per network owner from the
// destinations, the plaintext share from their PlaintextUp, the third
// parties the destinations and leaks name (ThirdParty), the decryption
// counts of the destinations (when key logs were given), and the worst
// severity with the first leak or finding that has it (leaks first). The
// engine calls it once per device; report filters call it again on what
// they keep, so a filtered summary is the summary of the kept rows.
// Rows read back from JSON lack PlaintextUp and ThirdParty (not written).
func Summarize(d *Device) {
	s := DeviceSummary{}
	byCountry := map[string]*ByteShare{}
	byOwner := map[string]*ByteShare{}
	third := map[string]bool{}
	var plainUp uint64
	for i := range d.Destinations {
		x := &d.Destinations[i]
		s.BytesUp += x.BytesUp
		s.BytesDown += x.BytesDown
		s.Decryption = s.Decryption.Merge(x.Decryption)
		plainUp += x.PlaintextUp
		addShare(byCountry, x.Country, x.CountryName, x)
		if k, label, ok := Owner(x.Dest); ok {
			addShare(byOwner, k, label, x)
		}
		if x.ThirdParty != "" {
			third[x.ThirdParty] = true
		}
	}
	for i := range d.Leaks {
		if p := d.Leaks[i].ThirdParty; p != "" {
			third[p] = true
		}
	}
	s.ByCountry = sortedShares(byCountry)
	s.ByOwner = sortedShares(byOwner)
	s.ThirdParties = make([]string, 0, len(third))
	for p := range third {
		s.ThirdParties = append(s.ThirdParties, p)
	}
	slices.Sort(s.ThirdParties)
	if s.BytesUp > 0 {
		s.PlaintextShare = float64(plainUp) / float64(s.BytesUp)
	}
	for _, l := range d.Leaks {
		if l.Severity > s.WorstSeverity {
			s.WorstSeverity = l.Severity
			s.WorstFinding = fmt.Sprintf("%s leaked to %s (%s)", l.Identifier, l.Dest.Label(), l.Dest.Channel)
		}
	}
	for _, fi := range d.Findings {
		if fi.Severity > s.WorstSeverity {
			s.WorstSeverity = fi.Severity
			s.WorstFinding = fi.Message + " (" + fi.Dest.Label() + ")"
		}
	}
	d.Summary = s
}

// Tally recomputes the report-wide counts from the devices: devices,
// leaks, findings and the worst severity (flows, frames and warnings are
// the engine's).
func Tally(r *Report) {
	s := &r.Summary
	s.Devices, s.Leaks, s.Findings, s.WorstSeverity = len(r.Devices), 0, 0, None
	for i := range r.Devices {
		d := &r.Devices[i]
		s.Leaks += len(d.Leaks)
		s.Findings += len(d.Findings)
		s.WorstSeverity = max(s.WorstSeverity, d.Summary.WorstSeverity)
	}
}

// Owner is the by_owner key and label of a destination: its AS number
// ("AS45102", label the AS organisation), or for an address no AS
// announces its special-range tag ("lan", "multicast"; no label); ok is
// false when neither is known.
func Owner(d Dest) (key, label string, ok bool) {
	switch {
	case d.ASN != 0:
		return fmt.Sprintf("AS%d", d.ASN), d.ASOrg, true
	case len(d.Country) > 2:
		return d.Country, "", true
	}
	return "", "", false
}

// Label names a destination for a person: its name, else its address.
func (d Dest) Label() string {
	if d.Name != "" {
		return d.Name
	}
	return d.IP
}

func addShare(m map[string]*ByteShare, key, label string, d *Destination) {
	if key == "" {
		key = "unknown"
	}
	s := m[key]
	if s == nil {
		s = &ByteShare{Key: key, Label: label}
		m[key] = s
	}
	s.BytesUp += d.BytesUp
	s.BytesDown += d.BytesDown
	s.Flows += d.Flows
}

// sortedShares orders shares by bytes up, largest first, then key.
func sortedShares(m map[string]*ByteShare) []ByteShare {
	out := make([]ByteShare, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ByteShare) int {
		if c := cmp.Compare(b.BytesUp, a.BytesUp); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}
