package engine

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/oui"
	"github.com/phonehome/phonehome/pkg/signature"
)

// thirdPartyCategories are the signature categories whose vendors count
// as third parties when they are not the device's own vendor.
var thirdPartyCategories = map[string]bool{"advertising": true, "analytics": true, "telemetry": true, "crash-reporting": true, "social": true}

// enrich fills country, network owner, registrable domain and signature
// fields of a destination.
func (e *engine) enrich(d *audit.Dest, ip netip.Addr, httpHost string) {
	if d.Name != "" {
		if dom, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(strings.ToLower(d.Name), ".")); err == nil {
			d.Domain = dom
		}
	}
	var asn uint32
	if e.cfg.Geo != nil && ip.IsValid() {
		info := e.cfg.Geo.Lookup(ip)
		if info.Special != "" {
			d.Country, d.CountryName = info.Special, ""
		} else {
			d.Country, d.CountryName = info.Country, info.CountryName
			d.RegisteredCountry, d.Anycast = info.Registered, info.AnycastNet
		}
		d.ASN, d.ASOrg = info.ASN, info.ASOrg
		asn = info.ASN
	}
	if e.cfg.Signatures != nil {
		q := signature.Query{Domain: d.Name, IP: ip, ASN: asn, Port: d.Port, Transport: d.Transport, HTTPHost: httpHost}
		if m, ok := e.cfg.Signatures.Match(q); ok {
			if hostingOnly(m) && d.Domain != "" {
				// The name is not in any signature; its address is in a
				// cloud's or CDN's block. That network hosts the service,
				// it does not own it: api.dch.dlink.com on AWS is D-Link's.
				d.Hosting = m.Vendor
				if svc := strings.TrimSuffix(m.Service, " (network)"); svc != "" {
					d.Hosting = svc
				}
			} else {
				d.Vendor, d.Service, d.Category, d.SignatureID = m.Vendor, m.Service, m.Category, m.SignatureID
			}
		}
	}
}

// ownDomain reports whether a registrable domain is the maker's, by the
// maker's first word inside the domain's first label ("D-Link
// International" ~ dlink.com, "Withings" ~ withings.net).
func ownDomain(maker, domain string) bool {
	w := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, leadingWord(maker, " ,/(")) // "D-Link International" gives "d-link"
	label, _, _ := strings.Cut(domain, ".")
	return len(w) >= 3 && strings.Contains(label, w)
}

// hostingOnly says whether a signature match describes only the network a
// server is on: a cloud or CDN matched by address block or AS number.
func hostingOnly(m signature.Match) bool {
	byNetwork := strings.HasPrefix(m.MatchedBy, "cidr:") || strings.HasPrefix(m.MatchedBy, "asn:")
	return byNetwork && (m.Category == "cloud" || m.Category == "cdn")
}

// firstParty reports whether a destination vendor is the device's maker,
// comparing the first word of each name ("Xiaomi Communications" ~ "Xiaomi").
func firstParty(deviceVendor, destVendor string) bool {
	a, b := firstWord(deviceVendor), firstWord(destVendor)
	return a != "" && a == b
}

func firstWord(s string) string { return leadingWord(s, " ,-/(") }

// leadingWord is s in lower case up to the first of seps.
func leadingWord(s, seps string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, seps); i > 0 {
		s = s[:i]
	}
	return s
}

func (e *engine) buildDevices() {
	type enrKey struct {
		ip, name, transport string
		port                uint16
	}
	enrCache := map[enrKey]audit.Dest{}
	// full returns d enriched for its own name and endpoint; a leak or
	// finding without a name takes the one of its destination row.
	full := func(d audit.Dest, dests map[destKey]*destAgg) audit.Dest {
		ip, _ := netip.ParseAddr(d.IP)
		if d.Name == "" {
			if da := dests[destKey{ip: ip, port: d.Port, transport: d.Transport}]; da != nil {
				d.Name, d.NameSource = da.d.Name, da.d.NameSource
			}
		}
		k := enrKey{d.IP, d.Name, d.Transport, d.Port}
		out, ok := enrCache[k]
		if !ok {
			out = d
			e.enrich(&out, ip, "")
			enrCache[k] = out
		}
		out.NameSource, out.Channel = d.NameSource, d.Channel
		return out
	}
	renamed := map[string]string{}
	for _, d := range e.inv.devices() {
		oldID := d.d.ID
		e.inv.name(d)
		if d.d.ID != oldID {
			renamed[oldID] = d.d.ID
		}
		dev := d.d
		slices.Sort(d.uas)
		dev.UserAgents = d.uas[:min(len(d.uas), 32)]
		// The device's own maker: OUI vendor, or what the devices file says.
		ownVendor := func(v string) bool {
			return firstParty(dev.Vendor, v) || firstParty(dev.Name, v) || firstParty(dev.Model, v)
		}
		var dests []audit.Destination
		var plainUp, totalUp uint64
		byCountry := map[string]*audit.ByteShare{}
		byOwner := map[string]*audit.ByteShare{}
		third := map[string]bool{}
		list := make([]*destAgg, 0, len(d.dests)+1)
		for _, da := range d.dests {
			list = append(list, da)
		}
		if d.other != nil {
			list = append(list, d.other)
		}
		for _, da := range list {
			e.enrich(&da.d.Dest, da.ip, "")
			slices.Sort(da.protocols)
			da.d.Protocols = da.protocols
			if da.d.Protocols == nil {
				da.d.Protocols = []string{}
			}
			dests = append(dests, da.d)
			plainUp += da.plainUp
			totalUp += da.d.BytesUp
			share(byCountry, da.d.Country, da.d.CountryName, &da.d)
			if da.d.ASN != 0 {
				share(byOwner, fmt.Sprintf("AS%d", da.d.ASN), da.d.ASOrg, &da.d)
			} else if da.d.Country != "" && len(da.d.Country) > 2 {
				share(byOwner, da.d.Country, "", &da.d)
			}
			if da.d.Vendor != "" && thirdPartyCategories[da.d.Category] && !ownVendor(da.d.Vendor) {
				third[da.d.Vendor] = true
			}
		}
		slices.SortFunc(dests, func(a, b audit.Destination) int {
			if c := cmp.Compare(b.BytesUp+b.BytesDown, a.BytesUp+a.BytesDown); c != 0 {
				return c
			}
			if c := cmp.Compare(a.IP, b.IP); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Port, b.Port); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Transport, b.Transport); c != 0 {
				return c
			}
			return cmp.Compare(a.Name, b.Name) // rows of one endpoint under several names
		})
		dev.Destinations = dests
		if dev.Destinations == nil {
			dev.Destinations = []audit.Destination{}
		}
		// Leaks and findings get the enriched destination and a severity.
		dev.Leaks = make([]audit.Leak, 0, len(d.leaks))
		for _, l := range d.leaks {
			full := full(l.Dest, d.dests)
			l.Dest = full
			plain := audit.Channel(full.Channel).Plaintext()
			// Third party: a tracker (advertising, analytics, telemetry...)
			// that is not the device's maker; clouds and CDNs serving the
			// device are its own backend.
			tp := full.Vendor != "" && thirdPartyCategories[full.Category] && !ownVendor(full.Vendor)
			// A server no signature knows that receives an identifier is
			// a third party too, unless its domain is the device maker's:
			// an unlisted ad SDK must not leave "Third parties: none".
			if full.Vendor == "" && full.Domain != "" && !geo.IsSpecialName(full.Country) &&
				!ownDomain(dev.Vendor, full.Domain) && !ownDomain(dev.Name, full.Domain) && !ownDomain(dev.Model, full.Domain) {
				tp = true
				third[full.Domain] = true
			}
			abroad := e.cfg.HomeCountry != "" && len(full.Country) == 2 && !strings.EqualFold(full.Country, e.cfg.HomeCountry)
			l.Severity = leak.Severity(l.Identifier, leak.Exposure{Plaintext: plain, ThirdParty: tp, Abroad: abroad, Private: l.Private,
				Local: full.Country != "" && geo.IsSpecialName(full.Country)})
			if !e.cfg.ShowEvidence {
				l.Value = leak.Mask(l.Identifier, l.Value)
			}
			dev.Leaks = append(dev.Leaks, l)
		}
		slices.SortFunc(dev.Leaks, func(a, b audit.Leak) int {
			if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Identifier, b.Identifier); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Frame, b.Frame); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Location, b.Location); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Dest.IP, b.Dest.IP); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Dest.Port, b.Dest.Port); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Encoding, b.Encoding); c != 0 {
				return c
			}
			return cmp.Compare(a.Value, b.Value)
		})
		dev.Findings = make([]audit.Finding, 0, len(d.findings))
		for _, fi := range d.findings {
			fi.Dest = full(fi.Dest, d.dests)
			leak.LocateFinding(&fi)
			dev.Findings = append(dev.Findings, fi)
		}
		slices.SortFunc(dev.Findings, func(a, b audit.Finding) int {
			if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Frame, b.Frame); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Dest.IP, b.Dest.IP); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Dest.Port, b.Dest.Port); c != 0 {
				return c
			}
			return cmp.Compare(a.Message, b.Message)
		})
		// Summary.
		sum := &dev.Summary
		for _, ds := range dests {
			sum.BytesUp += ds.BytesUp
			sum.BytesDown += ds.BytesDown
		}
		sum.ByCountry = sortedShares(byCountry)
		sum.ByOwner = sortedShares(byOwner)
		for v := range third {
			sum.ThirdParties = append(sum.ThirdParties, v)
		}
		slices.Sort(sum.ThirdParties)
		if sum.ThirdParties == nil {
			sum.ThirdParties = []string{}
		}
		if totalUp > 0 {
			sum.PlaintextShare = float64(plainUp) / float64(totalUp)
		}
		for _, l := range dev.Leaks {
			if l.Severity > sum.WorstSeverity {
				sum.WorstSeverity = l.Severity
				sum.WorstFinding = fmt.Sprintf("%s leaked to %s (%s)", l.Identifier, destLabel(l.Dest), l.Dest.Channel)
			}
		}
		for _, fi := range dev.Findings {
			if fi.Severity > sum.WorstSeverity {
				sum.WorstSeverity = fi.Severity
				sum.WorstFinding = fi.Message + " (" + destLabel(fi.Dest) + ")"
			}
		}
		if dev.IPs == nil {
			dev.IPs = []string{}
		}
		e.report.Devices = append(e.report.Devices, dev)
		rs := &e.report.Summary
		rs.Leaks += len(dev.Leaks)
		rs.Findings += len(dev.Findings)
		if sum.WorstSeverity > rs.WorstSeverity {
			rs.WorstSeverity = sum.WorstSeverity
		}
	}
	if e.report.Devices == nil {
		e.report.Devices = []audit.Device{}
	}
	e.renamed = renamed
	if len(renamed) > 0 {
		for i := range e.flows {
			if id, ok := renamed[e.flows[i].Device]; ok {
				e.flows[i].Device = id
			}
		}
	}
	slices.SortFunc(e.report.Devices, func(a, b audit.Device) int { return cmp.Compare(a.ID, b.ID) })
	// Data sources used.
	var ds []audit.DataSet
	if e.cfg.Geo != nil {
		ds = append(ds, e.cfg.Geo.Sources()...)
	}
	if e.cfg.Signatures != nil {
		v, s, p := e.cfg.Signatures.Stats()
		ds = append(ds, audit.DataSet{Kind: "signatures", Source: fmt.Sprintf("%d vendors, %d services, %d domain patterns", v, s, p), Version: e.cfg.Signatures.Version()})
	}
	ds = append(ds, oui.Version())
	e.report.Data = ds
	if w, ok := geo.MarkStale(e.report.Data, firstFrameTime(e.report.Inputs)); ok {
		e.warn(w)
	}
}

// firstFrameTime is the earliest first-frame time of the inputs, or zero.
func firstFrameTime(in []audit.Input) time.Time {
	var t time.Time
	for _, i := range in {
		if !i.First.IsZero() && (t.IsZero() || i.First.Before(t)) {
			t = i.First
		}
	}
	return t
}

func destLabel(d audit.Dest) string {
	if d.Name != "" {
		return d.Name
	}
	return d.IP
}

func share(m map[string]*audit.ByteShare, key, label string, d *audit.Destination) {
	if key == "" {
		key = "unknown"
	}
	s := m[key]
	if s == nil {
		s = &audit.ByteShare{Key: key, Label: label}
		m[key] = s
	}
	s.BytesUp += d.BytesUp
	s.BytesDown += d.BytesDown
	s.Flows += d.Flows
}

func sortedShares(m map[string]*audit.ByteShare) []audit.ByteShare {
	out := make([]audit.ByteShare, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b audit.ByteShare) int {
		if c := cmp.Compare(b.BytesUp, a.BytesUp); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}
