// Package enrich is the stage after decoding and merging: it turns each
// device's merged aggregate into the report's audit.Device. Destinations
// get their country, network owner, registrable domain and signature;
// leaks and findings get their destination's; each leak gets a severity
// (pkg/leak) from where it went and how, and its value masked unless the
// run shows evidence; rows are put in report order and the summary is
// audit.Summarize's. It reads no packets and knows no protocol.
package enrich

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/oui"
	"github.com/phonehome/phonehome/pkg/signature"
)

// Config says what the stage enriches with.
type Config struct {
	// Geo names the country and network owner of addresses (nil: none).
	Geo *geo.Resolver
	// Signatures name the vendor and purpose behind destinations (nil: none).
	Signatures *signature.Set
	// HomeCountry is the lab's country (ISO code): leaks to servers
	// located elsewhere rate higher. Empty: no such rule.
	HomeCountry string
	// ShowEvidence keeps leak values unmasked.
	ShowEvidence bool
}

// Device is one device's merged aggregate.
type Device struct {
	// Device holds what the inventory knows of the device itself (ID,
	// names, MAC, addresses, DHCP, times); its rows and summary are
	// filled by the stage.
	Device audit.Device
	// Dests are the destination rows, in any order; each one's
	// PlaintextUp is already counted, and its IP is the server address
	// it was keyed by. They become the device's Destinations (enriched
	// in place, not copied).
	Dests []audit.Destination
	// Leaks and Findings are the merged rows, with the destination as the
	// flow saw it (name and channel, not yet enriched).
	Leaks    []audit.Leak
	Findings []audit.Finding
	// UserAgents are the distinct HTTP User-Agents the device sent.
	UserAgents []string
}

// maxUserAgents caps the User-Agents listed per device.
const maxUserAgents = 32

// thirdPartyCategories are the signature categories whose vendors count
// as third parties when they are not the device's own vendor.
var thirdPartyCategories = map[string]bool{"advertising": true, "analytics": true, "telemetry": true, "crash-reporting": true, "social": true}

// Stage enriches the devices of one run. It caches the enrichment of each
// endpoint and name, so it is not safe for concurrent use.
type Stage struct {
	cfg   Config
	cache map[destKey]audit.Dest
}

type destKey struct {
	ip, name, transport string
	port                uint16
}

// New returns a stage for one run.
func New(cfg Config) *Stage {
	return &Stage{cfg: cfg, cache: map[destKey]audit.Dest{}}
}

// Device builds the report's device from its aggregate; in is consumed
// (its slices become the device's).
func (s *Stage) Device(in Device) audit.Device {
	dev := in.Device
	slices.Sort(in.UserAgents)
	dev.UserAgents = in.UserAgents[:min(len(in.UserAgents), maxUserAgents)]
	if dev.IPs == nil {
		dev.IPs = []string{}
	}
	// The device's own maker: OUI vendor, or what the devices file says.
	ownVendor := func(v string) bool {
		return firstParty(dev.Vendor, v) || firstParty(dev.Name, v) || firstParty(dev.Model, v)
	}
	ownDomainOf := func(domain string) bool {
		return ownDomain(dev.Vendor, domain) || ownDomain(dev.Name, domain) || ownDomain(dev.Model, domain)
	}

	dev.Destinations = in.Dests
	if dev.Destinations == nil {
		dev.Destinations = []audit.Destination{}
	}
	eachChunk(len(dev.Destinations), func(from, to int) {
		for i := from; i < to; i++ {
			x := &dev.Destinations[i]
			ip, _ := netip.ParseAddr(x.IP) // invalid for the "(other destinations)" row
			s.Dest(&x.Dest, ip)
			slices.Sort(x.Protocols)
			if x.Protocols == nil {
				x.Protocols = []string{}
			}
			if x.Vendor != "" && thirdPartyCategories[x.Category] && !ownVendor(x.Vendor) {
				x.ThirdParty = x.Vendor
			}
		}
	})
	sortDestinations(dev.Destinations)

	// Leaks and findings get the enriched destination; leaks a severity.
	dev.Leaks = make([]audit.Leak, 0, len(in.Leaks))
	for _, l := range in.Leaks {
		full := s.rowDest(l.Dest)
		l.Dest = full
		// Third party: a tracker (advertising, analytics, telemetry...)
		// that is not the device's maker; clouds and CDNs serving the
		// device are its own backend.
		tp := full.Vendor != "" && thirdPartyCategories[full.Category] && !ownVendor(full.Vendor)
		// A server no signature knows that receives an identifier is
		// a third party too, unless its domain is the device maker's:
		// an unlisted ad SDK must not leave "Third parties: none".
		if full.Vendor == "" && full.Domain != "" && !geo.IsSpecialName(full.Country) && !ownDomainOf(full.Domain) {
			tp = true
			l.ThirdParty = full.Domain
		}
		abroad := s.cfg.HomeCountry != "" && len(full.Country) == 2 && !strings.EqualFold(full.Country, s.cfg.HomeCountry)
		l.Severity = leak.Severity(l.Identifier, leak.Exposure{
			Plaintext:  audit.Channel(full.Channel).Plaintext(),
			ThirdParty: tp, Abroad: abroad, Private: l.Private,
			Local: full.Country != "" && geo.IsSpecialName(full.Country)})
		if !s.cfg.ShowEvidence {
			l.Value = leak.Mask(l.Identifier, l.Value)
		}
		dev.Leaks = append(dev.Leaks, l)
	}
	slices.SortFunc(dev.Leaks, compareLeaks)
	dev.Findings = make([]audit.Finding, 0, len(in.Findings))
	for _, fi := range in.Findings {
		fi.Dest = s.rowDest(fi.Dest)
		leak.LocateFinding(&fi)
		dev.Findings = append(dev.Findings, fi)
	}
	slices.SortFunc(dev.Findings, compareFindings)
	audit.Summarize(&dev)
	return dev
}

// chunkRows is the fewest destinations a device must have for their
// enrichment to be split over goroutines.
const chunkRows = 4096

// eachChunk calls f on consecutive ranges covering [0, n), on up to
// GOMAXPROCS goroutines when n is at least chunkRows, and returns when all
// calls have. Each row is enriched on its own (Dest reads only the
// stage's configuration), so the result does not depend on the split: a
// device with tens of thousands of destinations (the real bench's
// "other-devices") is not left to one core.
func eachChunk(n int, f func(from, to int)) {
	parts := min(runtime.GOMAXPROCS(0), n/(chunkRows/2))
	if n < chunkRows || parts < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(p*n/parts, (p+1)*n/parts)
		}()
	}
	wg.Wait()
}

// rowDest is a leak's or finding's destination enriched for its own name
// and endpoint, with its own name source and channel.
func (s *Stage) rowDest(d audit.Dest) audit.Dest {
	k := destKey{d.IP, d.Name, d.Transport, d.Port}
	out, ok := s.cache[k]
	if !ok {
		out = d
		ip, _ := netip.ParseAddr(d.IP)
		s.Dest(&out, ip)
		s.cache[k] = out
	}
	out.NameSource, out.Channel = d.NameSource, d.Channel
	return out
}

// Dest fills country, network owner, registrable domain and signature
// fields of a destination with server address ip (invalid: none).
func (s *Stage) Dest(d *audit.Dest, ip netip.Addr) {
	if d.Name != "" {
		if dom, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(strings.ToLower(d.Name), ".")); err == nil {
			d.Domain = dom
		}
	}
	var asn uint32
	if s.cfg.Geo != nil && ip.IsValid() {
		info := s.cfg.Geo.Lookup(ip)
		if info.Special != "" {
			d.Country, d.CountryName = info.Special, ""
		} else {
			d.Country, d.CountryName = info.Country, info.CountryName
			d.RegisteredCountry, d.Anycast = info.Registered, info.AnycastNet
		}
		d.ASN, d.ASOrg = info.ASN, info.ASOrg
		asn = info.ASN
	}
	if s.cfg.Signatures != nil {
		q := signature.Query{Domain: d.Name, IP: ip, ASN: asn, Port: d.Port, Transport: d.Transport}
		if m, ok := s.cfg.Signatures.Match(q); ok {
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

// DataSets lists the data the stage used (geo, signatures, the OUI
// registry), with a warning when the geo data is much newer than the
// capture's first frame (zero: unknown).
func (s *Stage) DataSets(firstFrame time.Time) ([]audit.DataSet, *audit.Warning) {
	var ds []audit.DataSet
	if s.cfg.Geo != nil {
		ds = append(ds, s.cfg.Geo.Sources()...)
	}
	if s.cfg.Signatures != nil {
		v, sv, p := s.cfg.Signatures.Stats()
		ds = append(ds, audit.DataSet{Kind: "signatures", Source: fmt.Sprintf("%d vendors, %d services, %d domain patterns", v, sv, p), Version: s.cfg.Signatures.Version()})
	}
	ds = append(ds, oui.Version())
	if w, ok := geo.MarkStale(ds, firstFrame); ok {
		return ds, &w
	}
	return ds, nil
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

// sortDestinations sorts rows by compareDestinations. The rows are large
// (over 400 bytes) and a device may have tens of thousands, so the order
// is found on a list of small entries, each with the row's first keys
// (bytes, the first 16 bytes of its address, port), and then each row is
// moved once into its place.
func sortDestinations(rows []audit.Destination) {
	type entry struct {
		bytes uint64
		ip    [2]uint64 // the address's first 16 bytes, big-endian, zero-padded
		port  uint16
		i     int32
	}
	order := make([]entry, len(rows))
	for i := range rows {
		r := &rows[i]
		var b [16]byte
		copy(b[:], r.IP)
		order[i] = entry{r.BytesUp + r.BytesDown, [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, r.Port, int32(i)}
	}
	slices.SortFunc(order, func(a, b entry) int {
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		// A zero byte sorts before any other, as a shorter string does
		// before a longer one it begins (addresses hold no zero byte).
		if c := cmp.Compare(a.ip[0], b.ip[0]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ip[1], b.ip[1]); c != 0 {
			return c
		}
		if len(rows[a.i].IP) <= 16 && len(rows[b.i].IP) <= 16 {
			// The same address: only port, transport and name are left.
			if c := cmp.Compare(a.port, b.port); c != 0 {
				return c
			}
		}
		return compareDestinations(rows[a.i], rows[b.i])
	})
	// Row order[k].i goes to place k: follow each cycle of the
	// permutation with one row held aside.
	for k := range order {
		if int(order[k].i) == k {
			continue
		}
		held := rows[k]
		j := k
		for int(order[j].i) != k {
			next := int(order[j].i)
			rows[j] = rows[next]
			order[j].i = int32(j)
			j = next
		}
		rows[j] = held
		order[j].i = int32(j)
	}
}

// compareDestinations: most bytes first, then by endpoint and name (rows
// of one endpoint under several names).
func compareDestinations(a, b audit.Destination) int {
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
	return cmp.Compare(a.Name, b.Name)
}

// compareLeaks: worst first, then identifier, frame and the rest of the row.
func compareLeaks(a, b audit.Leak) int {
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
}

// compareFindings: worst first, then kind, frame and the rest of the row.
func compareFindings(a, b audit.Finding) int {
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
}
