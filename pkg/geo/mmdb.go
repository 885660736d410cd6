package geo

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/phonehome/phonehome/pkg/audit"
)

// maxDBSize bounds how much of a user database is read into memory.
const maxDBSize = 1 << 30

// mmdb is a user-supplied MaxMind-format database.
type mmdb struct {
	path       string
	typ        string
	built      string // YYYY-MM-DD
	v4only     bool
	r          *maxminddb.Reader
	hasCountry bool
	hasASN     bool
}

// names is the "names" map of MaxMind records; only English is used.
type names struct {
	EN string `maxminddb:"en"`
}

type place struct {
	ISO   string `maxminddb:"iso_code"`
	Names names  `maxminddb:"names"`
}

// record covers the fields of the supported schemas:
//   - MaxMind GeoIP2/GeoLite2 Country and City, DB-IP lite: country{iso_code,
//     names}, registered_country, subdivisions[], city{names};
//   - GeoLite2-ASN, DB-IP ASN lite, @ip-location-db mmdb: autonomous_system_*;
//   - ipinfo lite and @ip-location-db country mmdb: country_code, country
//     (a plain name), asn ("AS15169"), as_name.
type record struct {
	Country      any     `maxminddb:"country"` // map (MaxMind) or string (ipinfo)
	Registered   place   `maxminddb:"registered_country"`
	Subdivisions []place `maxminddb:"subdivisions"`
	City         struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	CountryCode string `maxminddb:"country_code"`
	ASNumber    any    `maxminddb:"autonomous_system_number"`
	ASOrg       string `maxminddb:"autonomous_system_organization"`
	ASN         any    `maxminddb:"asn"`
	ASName      string `maxminddb:"as_name"`
}

func openMMDB(path string) (*mmdb, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDB, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDBSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDB, path, err)
	}
	if len(b) > maxDBSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrDB, path, maxDBSize)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDB, path, err)
	}
	md := r.Metadata
	m := &mmdb{path: path, typ: md.DatabaseType, r: r, v4only: md.IPVersion == 4}
	if md.BuildEpoch > 0 {
		m.built = md.BuildTime().UTC().Format("2006-01-02")
	}
	// Decide what the database holds from its records (type names vary:
	// "GeoLite2-City", "DBIP-ASN-Lite (compat=GeoLite2-ASN)", "ipinfo
	// lite"...), probing well-known addresses; fall back to the type name.
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "9.9.9.9", "17.253.144.10", "2001:4860:4860::8888", "2606:4700:4700::1111"} {
		var in Info
		ip := netip.MustParseAddr(s)
		if !m.covers(ip) {
			continue
		}
		m.lookupCountry(ip, &in, func(string) string { return "" })
		m.lookupASN(ip, &in)
		m.hasCountry = m.hasCountry || in.Country != ""
		m.hasASN = m.hasASN || in.ASN != 0
	}
	if !m.hasASN && !m.hasCountry {
		t := strings.ToLower(md.DatabaseType)
		m.hasCountry = strings.Contains(t, "country") || strings.Contains(t, "city")
		m.hasASN = !m.hasCountry && strings.Contains(t, "asn")
	}
	return m, nil
}

func (m *mmdb) dataSet(kind string) audit.DataSet {
	src := "file: " + m.path
	if m.typ != "" {
		src += " (" + m.typ + ")"
	}
	return audit.DataSet{Kind: kind, Source: src, Version: m.built}
}

// covers reports whether the database can answer for ip's family.
func (m *mmdb) covers(ip netip.Addr) bool { return !(m.v4only && ip.Is6()) }

func (m *mmdb) decode(ip netip.Addr) (record, bool) {
	var rec record
	res := m.r.Lookup(ip)
	if !res.Found() {
		return rec, false
	}
	if err := res.Decode(&rec); err != nil {
		// A record of an unexpected shape counts as "no data"; the
		// embedded data is not mixed in, so the source stays clear.
		return record{}, false
	}
	return rec, true
}

func (m *mmdb) lookupCountry(ip netip.Addr, in *Info, nameOf func(string) string) {
	rec, ok := m.decode(ip)
	if !ok {
		return
	}
	code, name := "", ""
	switch c := rec.Country.(type) {
	case map[string]any:
		code, _ = c["iso_code"].(string)
		if n, ok := c["names"].(map[string]any); ok {
			name, _ = n["en"].(string)
		}
	case string:
		name = c
	}
	if code == "" {
		code = rec.CountryCode
	}
	if code == "" && rec.Registered.ISO != "" {
		code, name = rec.Registered.ISO, rec.Registered.Names.EN
	}
	code = strings.ToUpper(code)
	if n := nameOf(code); n != "" {
		name = n // same names as the embedded data, whatever the source
	}
	in.Country, in.CountryName = code, name
	if reg := strings.ToUpper(rec.Registered.ISO); reg != "" {
		in.Registered, in.RegisteredName = reg, rec.Registered.Names.EN
		if n := nameOf(reg); n != "" {
			in.RegisteredName = n
		}
	}
	if len(rec.Subdivisions) > 0 {
		in.Region = rec.Subdivisions[0].Names.EN
		if in.Region == "" {
			in.Region = rec.Subdivisions[0].ISO
		}
	}
	in.City = rec.City.Names.EN
}

func (m *mmdb) lookupASN(ip netip.Addr, in *Info) {
	rec, ok := m.decode(ip)
	if !ok {
		return
	}
	n, ok := asNumber(rec.ASNumber)
	if !ok {
		n, ok = asNumber(rec.ASN)
	}
	if !ok {
		return
	}
	in.ASN = n
	in.ASOrg = rec.ASOrg
	if in.ASOrg == "" {
		in.ASOrg = rec.ASName
	}
}

// asNumber accepts the integer encodings of MaxMind and the "AS123" strings
// of ipinfo.
func asNumber(v any) (uint32, bool) {
	var u uint64
	switch x := v.(type) {
	case uint64:
		u = x
	case uint32:
		u = uint64(x)
	case uint16:
		u = uint64(x)
	case int32:
		if x < 0 {
			return 0, false
		}
		u = uint64(x)
	case string:
		s := strings.TrimPrefix(strings.TrimPrefix(x, "AS"), "as")
		p, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, false
		}
		u = p
	default:
		return 0, false
	}
	if u == 0 || u > 0xffffffff {
		return 0, false
	}
	return uint32(u), true
}
