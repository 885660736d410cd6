// Package geo answers "where is this server and who runs its network"
// offline: the country the address is located in (geolocation), the
// country its block is registered to, whether it belongs to a well-known
// anycast network, and its autonomous system (number and organisation),
// for any IPv4 or IPv6 address, plus a name for special ranges (private,
// loopback, CGNAT, the lab LAN...).
//
// The default data is embedded in the binary (built by internal/gen from
// the open @ip-location-db packages: DB-IP Lite for location, RIR/whois
// data for registration; see NOTICE and docs/geo.md). Users may
// point to their own MaxMind-format databases (GeoLite2/GeoIP2 Country or
// City, GeoLite2-ASN, DB-IP lite, ipinfo lite); what they do not override
// still comes from the embedded data. The package never uses the network.
package geo

//go:generate go run ./internal/gen -version 2.3.2026061719 -dbip-version 2.3.2026060120 -out data/geo.bin.zst

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo/internal/geodata"
)

//go:embed data/geo.bin.zst
var embeddedData []byte

// ErrDB is wrapped by errors about a user-supplied database.
var ErrDB = errors.New("geo: unusable database")

// Info is what is known about one address. Special is non-empty for
// non-public addresses (see the Special* constants); the other fields are
// then empty. Region and City are only filled from a City database.
//
// Country is where the address is located: the geolocation data's answer,
// or Anycast ("anycast") for a well-known anycast network, whose servers
// answer from many countries under one address (AnycastNet names it).
// Registered is the country the block is registered to (RIR/whois data);
// for cloud and CDN blocks it is often the provider's home country, not
// the server's.
type Info struct {
	Country        string // ISO 3166-1 alpha-2, e.g. "SG", or "anycast"
	CountryName    string // English name, e.g. "Singapore"; "" for anycast
	Registered     string // ISO 3166-1 alpha-2 of the registration, e.g. "US"
	RegisteredName string // English name, e.g. "United States"
	AnycastNet     string // anycast network name, e.g. "Cloudflare"; "" if not anycast
	Region         string // first-level subdivision name (City databases only)
	City           string // city name (City databases only)
	ASN            uint32 // 0 if unknown
	ASOrg          string
	Special        string
}

// Anycast is the Country of an address in a well-known anycast network.
const Anycast = "anycast"

// Options configures New. Empty paths mean "use the embedded data".
type Options struct {
	CountryDB string         // MaxMind-format country or city database
	ASNDB     string         // MaxMind-format ASN database
	LAN       []netip.Prefix // the lab's own networks, reported as "lan"
}

// Resolver looks up addresses. It is immutable after construction and safe
// for concurrent use.
type Resolver struct {
	country *mmdb // nil: embedded
	asn     *mmdb // nil: embedded (or country, if it carries ASN data)
	lan     []netip.Prefix
	// countrySrc and asnSrc describe the user's databases (nil: embedded).
	countrySrc, asnSrc *audit.DataSet
}

var embeddedResolver = sync.OnceValues(func() (*Resolver, error) { return New(Options{}) })

// loaded is the decoded embedded data: decoded once on first use, until
// Release lets it go.
var loaded struct {
	sync.Mutex
	cur *embeddedLoad
}

type embeddedLoad struct {
	once sync.Once
	idx  *geodata.Index
	err  error
}

func embeddedIndex() (*geodata.Index, error) {
	loaded.Lock()
	e := loaded.cur
	if e == nil {
		e = &embeddedLoad{}
		loaded.cur = e
	}
	loaded.Unlock()
	e.once.Do(func() {
		t, err := geodata.Decode(embeddedData)
		if err != nil {
			e.err = fmt.Errorf("geo: embedded data: %w", err)
			return
		}
		e.idx = geodata.NewIndex(t)
	})
	return e.idx, e.err
}

// Release lets the decoded embedded data go (about 17 MB), for a command
// that has done its lookups and has more work to do; a later lookup
// decodes it again. The strings lookups returned stay valid.
func Release() {
	loaded.Lock()
	loaded.cur = nil
	loaded.Unlock()
}

// Embedded returns the resolver over the embedded data only. It is decoded
// once, on first use, and shared.
func Embedded() (*Resolver, error) { return embeddedResolver() }

// Preload starts decoding the embedded data in the background, so that a
// command can overlap it with reading its input; the first lookup waits
// for it (or decodes it if Preload was not called).
func Preload() { go embeddedIndex() }

// index is the embedded data, decoded once; nil if it is unusable (a
// broken build: the tests decode it).
func index() *geodata.Index {
	idx, err := embeddedIndex()
	if err != nil {
		return nil
	}
	return idx
}

// New builds a resolver. Databases named in opts are read whole into memory
// and checked; the embedded data fills in what they do not cover. New does
// not wait for the embedded data (see Preload): a command can start
// reading its input while it decodes.
func New(opts Options) (*Resolver, error) {
	var err error
	r := &Resolver{}
	for _, p := range opts.LAN {
		if !p.IsValid() {
			return nil, fmt.Errorf("geo: invalid LAN prefix %v", p)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		r.lan = append(r.lan, p.Masked())
	}
	var countrySrc, asnSrc *audit.DataSet // nil: embedded
	if opts.CountryDB != "" {
		if r.country, err = openMMDB(opts.CountryDB); err != nil {
			return nil, err
		}
		countrySrc = new(r.country.dataSet("geo-country"))
		if !r.country.hasCountry {
			return nil, fmt.Errorf("%w: %s: no country data (database type %q)", ErrDB, opts.CountryDB, r.country.typ)
		}
	}
	if opts.ASNDB != "" {
		if r.asn, err = openMMDB(opts.ASNDB); err != nil {
			return nil, err
		}
		if !r.asn.hasASN {
			return nil, fmt.Errorf("%w: %s: no ASN data (database type %q)", ErrDB, opts.ASNDB, r.asn.typ)
		}
		asnSrc = new(r.asn.dataSet("geo-asn"))
	} else if r.country != nil && r.country.hasASN {
		r.asn = r.country // e.g. ipinfo lite carries both
		asnSrc = new(r.country.dataSet("geo-asn"))
	}
	r.countrySrc, r.asnSrc = countrySrc, asnSrc
	return r, nil
}

// Sources says which data answers lookups, for the report.
func (r *Resolver) Sources() []audit.DataSet {
	var m geodata.Meta
	if idx := index(); idx != nil {
		m = idx.Table().Meta
	} else {
		_, err := embeddedIndex()
		m.CountrySource, m.ASNSource, m.RegisteredSource = fmt.Sprint("unusable: ", err), fmt.Sprint("unusable: ", err), fmt.Sprint("unusable: ", err)
	}
	country := audit.DataSet{Kind: "geo-country", Source: "embedded: " + m.CountrySource, Version: m.CountryDate, License: m.CountryLicense}
	registered := audit.DataSet{Kind: "geo-registered-country", Source: "embedded: " + m.RegisteredSource, Version: m.Date, License: m.RegisteredLicense}
	asn := audit.DataSet{Kind: "geo-asn", Source: "embedded: " + m.ASNSource, Version: m.Date, License: m.ASNLicense}
	if r.countrySrc != nil {
		country = *r.countrySrc
	}
	if r.asnSrc != nil {
		asn = *r.asnSrc
	}
	anycast := audit.DataSet{Kind: "geo-anycast", Source: fmt.Sprintf("embedded: %d well-known anycast prefixes (docs/geo.md)", len(anycastList)), Version: anycastVersion, License: "facts from the operators' own documentation (docs/geo.md)"}
	return []audit.DataSet{country, asn, registered, anycast}
}

// Lookup returns what is known about ip. IPv4-mapped IPv6 addresses and
// addresses in the NAT64 well-known prefix 64:ff9b::/96 are looked up as
// the IPv4 address they carry; zones are ignored. The embedded path does
// not allocate.
func (r *Resolver) Lookup(ip netip.Addr) Info {
	ip = normalize(ip)
	for _, p := range r.lan {
		if p.Contains(ip) {
			return Info{Special: SpecialLAN}
		}
	}
	if s := Special(ip); s != "" {
		return Info{Special: s}
	}
	var in Info
	cov := r.country != nil && r.country.covers(ip)
	asv := r.asn != nil && r.asn.covers(ip)
	if idx := index(); idx != nil {
		val, reg := find(idx, ip)
		c, a := geodata.Unpack(val)
		t := idx.Table()
		if !cov {
			in.Country, in.CountryName = t.Countries[c].Code, t.Countries[c].Name
		}
		// The registration comes from the embedded data unless the
		// user's database names one (MaxMind registered_country).
		in.Registered, in.RegisteredName = t.Countries[reg].Code, t.Countries[reg].Name
		if !asv {
			in.ASN, in.ASOrg = t.ASNum[a], t.Org(a)
		}
	}
	if cov {
		r.country.lookupCountry(ip, &in, r.countryName)
	}
	if asv {
		r.asn.lookupASN(ip, &in)
	}
	// A well-known anycast network has no single country. A user's
	// country database keeps its own answer (it may handle anycast its
	// own way); the flag is set all the same.
	if n := anycastNet(ip); n != "" {
		in.AnycastNet = n
		if !cov {
			in.Country, in.CountryName = Anycast, ""
		}
	}
	return in
}

func normalize(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		if ip.Zone() != "" {
			ip = ip.WithZone("")
		}
		if ip.Is4In6() {
			return ip.Unmap()
		}
		if nat64.Contains(ip) {
			b := ip.As16()
			return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		}
	}
	return ip
}

// find returns the packed value (located country, AS) and the registered
// country index of the row holding ip; zeros if none.
func find(idx *geodata.Index, ip netip.Addr) (uint32, uint8) {
	t := idx.Table()
	if ip.Is4() {
		b := ip.As4()
		if i := idx.Row4(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])); i >= 0 {
			return t.V4Val[i], t.V4Reg[i]
		}
		return 0, 0
	}
	b := ip.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	if i := idx.Row6(hi, lo); i >= 0 {
		return t.V6Val[i], t.V6Reg[i]
	}
	return 0, 0
}

// countryName returns the English name of an ISO code from the embedded
// table, or "".
func (r *Resolver) countryName(code string) string {
	idx := index()
	if idx == nil {
		return ""
	}
	cs := idx.Table().Countries
	lo, hi := 1, len(cs)
	for lo < hi {
		m := (lo + hi) / 2
		if cs[m].Code < code {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(cs) && cs[lo].Code == code {
		return cs[lo].Name
	}
	return ""
}

// RegisteredElsewhere reports whether the registration country is known and
// differs from the located country (an anycast address counts whenever its
// registration is known).
func (in Info) RegisteredElsewhere() bool {
	return in.Registered != "" && in.Registered != in.Country
}
