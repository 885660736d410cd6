package geo

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// buildDB writes a small MaxMind DB with mmdbwriter and returns its path.
func buildDB(t *testing.T, typ string, ipVersion int, recs map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: typ,
		IPVersion:    ipVersion,
		RecordSize:   24,
		BuildEpoch:   time.Date(2024, 5, 7, 12, 0, 0, 0, time.UTC).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, v := range recs {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, v); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(typ, " ", "_")+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func en(s string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(s), "de": mmdbtype.String(s + "-de")}
}

func cityDB(t *testing.T) string {
	gb := mmdbtype.Map{
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("GB"), "names": en("Britain")},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("ENG"), "names": en("England")}},
		"city":         mmdbtype.Map{"names": en("London")},
	}
	return buildDB(t, "GeoLite2-City", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24":  gb,
		"2a02:c7f::/32": gb,
		// Registered country only (e.g. anycast): used as the country.
		"9.9.9.0/24": {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("CH"), "names": en("Switzerland")}},
	})
}

func asnDB(t *testing.T) string {
	return buildDB(t, "GeoLite2-ASN", 6, map[string]mmdbtype.Map{
		"8.8.8.0/24":     {"autonomous_system_number": mmdbtype.Uint32(64500), "autonomous_system_organization": mmdbtype.String("Test Net")},
		"2001:4860::/32": {"autonomous_system_number": mmdbtype.Uint32(64501), "autonomous_system_organization": mmdbtype.String("Test Net 6")},
	})
}

func TestOverrideCity(t *testing.T) {
	path := cityDB(t)
	r, err := New(Options{CountryDB: path})
	if err != nil {
		t.Fatal(err)
	}
	emb := embedded(t)
	tests := []struct {
		ip   string
		want Info
	}{
		// Country names come from the embedded table when it knows the code.
		{"81.2.69.142", Info{Country: "GB", CountryName: "United Kingdom", Region: "England", City: "London",
			ASN: emb.Lookup(netip.MustParseAddr("81.2.69.142")).ASN, ASOrg: emb.Lookup(netip.MustParseAddr("81.2.69.142")).ASOrg}},
		{"2a02:c7f::1", Info{Country: "GB", CountryName: "United Kingdom", Region: "England", City: "London",
			ASN: emb.Lookup(netip.MustParseAddr("2a02:c7f::1")).ASN, ASOrg: emb.Lookup(netip.MustParseAddr("2a02:c7f::1")).ASOrg}},
		{"9.9.9.9", Info{Country: "CH", CountryName: "Switzerland", ASN: 19281, ASOrg: "Quad9"}},
		// Not in the user's database: no country (sources are not mixed),
		// ASN still from the embedded data.
		{"8.8.8.8", Info{ASN: 15169, ASOrg: "Google LLC"}},
		{"10.0.0.1", Info{Special: SpecialPrivate}},
	}
	for _, tc := range tests {
		if got := located(r.Lookup(netip.MustParseAddr(tc.ip))); got != tc.want {
			t.Errorf("%s: got %+v\nwant %+v", tc.ip, got, tc.want)
		}
	}
	// The database's registered_country is the registration; 9.9.9.9 is
	// anycast, flagged, but the user's country is kept.
	if got := r.Lookup(netip.MustParseAddr("9.9.9.9")); got.Registered != "CH" || got.RegisteredName != "Switzerland" || got.AnycastNet != "Quad9" {
		t.Errorf("9.9.9.9 registration/anycast: %+v", got)
	}
	// Without registered_country in the database, the embedded
	// registration fills that field.
	if got, emb := r.Lookup(netip.MustParseAddr("81.2.69.142")), emb.Lookup(netip.MustParseAddr("81.2.69.142")); got.Registered != emb.Registered {
		t.Errorf("81.2.69.142 registered = %q, embedded %q", got.Registered, emb.Registered)
	}
	if tests[0].want.ASN == 0 {
		t.Error("embedded data has no ASN for 81.2.69.142")
	}
	src := r.Sources()
	if src[0].Source != "file: "+path+" (GeoLite2-City)" || src[0].Version != "2024-05-07" {
		t.Errorf("country source = %+v", src[0])
	}
	if !strings.HasPrefix(src[1].Source, "embedded: ") {
		t.Errorf("asn source = %+v", src[1])
	}
}

func TestOverrideASN(t *testing.T) {
	r, err := New(Options{ASNDB: asnDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		want Info
	}{
		// Embedded country data: the resolvers are anycast.
		{"8.8.8.8", Info{Country: Anycast, ASN: 64500, ASOrg: "Test Net"}},
		{"2001:4860:4860::8888", Info{Country: Anycast, ASN: 64501, ASOrg: "Test Net 6"}},
		{"81.2.69.142", Info{Country: embedded(t).Lookup(netip.MustParseAddr("81.2.69.142")).Country,
			CountryName: embedded(t).Lookup(netip.MustParseAddr("81.2.69.142")).CountryName}},
	}
	for _, tc := range tests {
		if got := located(r.Lookup(netip.MustParseAddr(tc.ip))); got != tc.want {
			t.Errorf("%s: got %+v\nwant %+v", tc.ip, got, tc.want)
		}
	}
	if src := r.Sources(); !strings.HasSuffix(src[1].Source, "(GeoLite2-ASN)") || !strings.HasPrefix(src[0].Source, "embedded: ") {
		t.Errorf("sources = %+v", src)
	}
}

// TestOverrideIPinfo covers the ipinfo lite schema: one database with
// country_code, a plain-string country and "AS123" ASNs.
func TestOverrideIPinfo(t *testing.T) {
	path := buildDB(t, "ipinfo lite.mmdb", 6, map[string]mmdbtype.Map{
		"8.219.0.0/16": {
			"country_code": mmdbtype.String("SG"), "country": mmdbtype.String("Singapore"),
			"asn": mmdbtype.String("AS45102"), "as_name": mmdbtype.String("Alibaba US Technology Co., Ltd."),
		},
		"8.8.8.0/24": {"country_code": mmdbtype.String("US"), "country": mmdbtype.String("United States"),
			"asn": mmdbtype.String("AS15169"), "as_name": mmdbtype.String("Google LLC")},
	})
	r, err := New(Options{CountryDB: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Country: "SG", CountryName: "Singapore", ASN: 45102, ASOrg: "Alibaba US Technology Co., Ltd."}
	if got := located(r.Lookup(netip.MustParseAddr("8.219.1.2"))); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if src := r.Sources(); !strings.HasPrefix(src[1].Source, "file: ") {
		t.Errorf("ipinfo database not used for ASN: %+v", src)
	}
}

func TestOverrideIPv4Only(t *testing.T) {
	path := buildDB(t, "DBIP-Country-Lite", 4, map[string]mmdbtype.Map{
		"8.8.8.0/24": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}},
	})
	r, err := New(Options{CountryDB: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Lookup(netip.MustParseAddr("8.8.8.8")); got.Country != "DE" || got.CountryName != "Germany" {
		t.Errorf("IPv4: %+v", got)
	}
	// IPv6 is outside an IPv4-only database: embedded data answers
	// (anycast for Google Public DNS).
	if got := r.Lookup(netip.MustParseAddr("2001:4860:4860::8888")); got.Country != Anycast {
		t.Errorf("IPv6 fallback: %+v", got)
	}
}

func TestOverrideErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a maxmind db at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	asn, city := asnDB(t), cityDB(t)
	tests := []struct {
		name string
		opts Options
	}{
		{"missing", Options{CountryDB: filepath.Join(dir, "nope.mmdb")}},
		{"garbage", Options{ASNDB: garbage}},
		{"asn as country", Options{CountryDB: asn}},
		{"city as asn", Options{ASNDB: city}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if !errors.Is(err, ErrDB) {
				t.Fatalf("err = %v, want ErrDB", err)
			}
		})
	}
}

func TestASNumber(t *testing.T) {
	tests := []struct {
		in   any
		want uint32
		ok   bool
	}{
		{uint64(15169), 15169, true},
		{uint32(7), 7, true},
		{uint16(7), 7, true},
		{int32(-1), 0, false},
		{"AS45102", 45102, true},
		{"as45102", 45102, true},
		{"45102", 45102, true},
		{"ASX", 0, false},
		{uint64(1 << 33), 0, false},
		{uint64(0), 0, false},
		{nil, 0, false},
		{3.5, 0, false},
	}
	for _, tc := range tests {
		got, ok := asNumber(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("asNumber(%#v) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// located drops the registration and anycast fields, for comparing the
// located country, ASN and place fields alone.
func located(in Info) Info {
	in.Registered, in.RegisteredName, in.AnycastNet = "", "", ""
	return in
}
