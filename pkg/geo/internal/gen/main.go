// Command gen rebuilds pkg/geo/data/geo.bin.zst, the embedded geo-IP/ASN
// table, from three npm packages: @ip-location-db/dbip-country (DB-IP
// Lite, CC BY 4.0: where the address is located), geo-whois-asn-country
// (CC0, with NRO data under CC BY 4.0: where the block is registered) and
// @ip-location-db/asn (CC BY 4.0: RouteViews, DB-IP, NRO). It runs `npm
// pack` (or reads tarballs already downloaded with -from), merges the CSV
// ranges and writes the compressed table. DB-IP's country is used only
// inside address space that the registration or ASN data knows (DB-IP also
// places undelegated space); where DB-IP has no row, the located country
// is the registration country. Country names come from
// CLDR (golang.org/x/text) at build time. The output depends only on the
// tarballs: the same inputs give the same bytes.
//
//	go run ./internal/gen -version 2.3.2026061719 -dbip-version 2.3.2026060120 -out data/geo.bin.zst
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/phonehome/phonehome/pkg/geo/internal/geodata"
)

const (
	countryPkg = "@ip-location-db/geo-whois-asn-country"
	asnPkg     = "@ip-location-db/asn"
	dbipPkg    = "@ip-location-db/dbip-country"
)

func main() {
	version := flag.String("version", "latest", "npm version of the registration-country and ASN packages")
	dbipVersion := flag.String("dbip-version", "latest", "npm version of "+dbipPkg)
	from := flag.String("from", "", "directory holding the npm tarballs (default: run npm pack into a temp dir)")
	out := flag.String("out", "data/geo.bin.zst", "output file")
	flag.Parse()
	if err := run(*version, *dbipVersion, *from, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(version, dbipVersion, from, out string) error {
	if from == "" {
		dir, err := os.MkdirTemp("", "geo-gen")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		for _, p := range []string{countryPkg + "@" + version, asnPkg + "@" + version, dbipPkg + "@" + dbipVersion} {
			cmd := exec.Command("npm", "pack", "--silent", p)
			cmd.Dir, cmd.Stderr = dir, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("npm pack %s: %w", p, err)
			}
		}
		from = dir
	}
	cfiles, cver, err := readTarball(from, "ip-location-db-geo-whois-asn-country-")
	if err != nil {
		return err
	}
	afiles, aver, err := readTarball(from, "ip-location-db-asn-")
	if err != nil {
		return err
	}
	dfiles, dver, err := readTarball(from, "ip-location-db-dbip-country-")
	if err != nil {
		return err
	}
	if cver != aver {
		fmt.Fprintf(os.Stderr, "gen: warning: country %s and asn %s versions differ\n", cver, aver)
	}
	t := &geodata.Table{Meta: geodata.Meta{
		Version:           aver + "+dbip." + dver,
		Date:              dateOf(aver),
		CountrySource:     dbipPkg + "@" + dver + " (DB-IP IP to Country Lite)",
		CountryLicense:    "CC-BY-4.0 (IP Geolocation by DB-IP, https://db-ip.com)",
		CountryDate:       dateOf(dver),
		RegisteredSource:  countryPkg + "@" + cver + " (GeoFeed, RIR whois, ASN; NRO data)",
		RegisteredLicense: "CC0-1.0; NRO statistics data CC-BY-4.0",
		ASNSource:         asnPkg + "@" + aver + " (RouteViews, NRO/RIR, DB-IP ASN Lite)",
		ASNLicense:        "CC-BY-4.0 (RouteViews, DB-IP, NRO)",
	}}

	// Countries: registration (whois) and location (DB-IP).
	cc := map[string]bool{}
	var c4, c6, d4, d6 [][3]string
	for _, f := range []struct {
		files map[string][]byte
		name  string
		dst   *[][3]string
	}{
		{cfiles, "geo-whois-asn-country-ipv4.csv", &c4}, {cfiles, "geo-whois-asn-country-ipv6.csv", &c6},
		{dfiles, "dbip-country-ipv4.csv", &d4}, {dfiles, "dbip-country-ipv6.csv", &d6},
	} {
		recs, err := readCSV(f.files, f.name, 3)
		if err != nil {
			return err
		}
		for _, r := range recs {
			cc[r[2]] = true
			*f.dst = append(*f.dst, [3]string{r[0], r[1], r[2]})
		}
	}
	codes := sortedKeys(cc)
	t.Countries = []geodata.Country{{}}
	cidx := map[string]uint32{}
	for _, c := range codes {
		cidx[c] = uint32(len(t.Countries))
		t.Countries = append(t.Countries, geodata.Country{Code: c, Name: countryName(c)})
	}

	// ASes.
	orgs := map[uint32]string{}
	var a4, a6 [][3]string
	for _, f := range []struct {
		name string
		dst  *[][3]string
	}{{"asn-ipv4.csv", &a4}, {"asn-ipv6.csv", &a6}} {
		recs, err := readCSV(afiles, f.name, 4)
		if err != nil {
			return err
		}
		for _, r := range recs {
			n, err := strconv.ParseUint(r[2], 10, 32)
			if err != nil {
				return fmt.Errorf("%s: bad ASN %q", f.name, r[2])
			}
			if _, ok := orgs[uint32(n)]; !ok || orgs[uint32(n)] == "" {
				orgs[uint32(n)] = r[3]
			}
			*f.dst = append(*f.dst, [3]string{r[0], r[1], r[2]})
		}
	}
	nums := make([]uint32, 0, len(orgs))
	for n := range orgs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	as := []geodata.AS{{}}
	aidx := map[string]uint32{}
	for _, n := range nums {
		aidx[strconv.FormatUint(uint64(n), 10)] = uint32(len(as))
		as = append(as, geodata.AS{Number: n, Org: orgs[n]})
	}
	t.SetASes(as)

	max4 := geodata.U128{Lo: 0xffffffff}
	max6 := geodata.U128{Hi: ^uint64(0), Lo: ^uint64(0)}
	r4c, err := ranges(c4, cidx, true)
	if err != nil {
		return err
	}
	r4a, err := ranges(a4, aidx, true)
	if err != nil {
		return err
	}
	r6c, err := ranges(c6, cidx, false)
	if err != nil {
		return err
	}
	r6a, err := ranges(a6, aidx, false)
	if err != nil {
		return err
	}
	r4d, err := ranges(d4, cidx, true)
	if err != nil {
		return err
	}
	r6d, err := ranges(d6, cidx, false)
	if err != nil {
		return err
	}
	var fixed [6]int
	r4c, fixed[0] = geodata.Flatten(r4c, max4)
	r4a, fixed[1] = geodata.Flatten(r4a, max4)
	r6c, fixed[2] = geodata.Flatten(r6c, max6)
	r6a, fixed[3] = geodata.Flatten(r6a, max6)
	r4d, fixed[4] = geodata.Flatten(r4d, max4)
	r6d, fixed[5] = geodata.Flatten(r6d, max6)
	// Located: DB-IP where registration or routing data knows the
	// space (DB-IP also places undelegated space), else the registration.
	known4, _ := geodata.Flatten(append(slices.Clone(r4c), r4a...), max4)
	known6, _ := geodata.Flatten(append(slices.Clone(r6c), r6a...), max6)
	loc4 := geodata.Fill(geodata.Within(r4d, known4, max4), r4c, max4)
	loc6 := geodata.Fill(geodata.Within(r6d, known6, max6), r6c, max6)
	t.SetV4(geodata.Merge3(loc4, r4c, r4a, max4))
	t.SetV6(geodata.Merge3(loc6, r6c, r6a, max6))
	data, err := geodata.Encode(t)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %s: version %s, %d countries, %d ASes, %d IPv4 rows, %d IPv6 rows, %d bytes (overlapping input ranges, narrowest won: %v)\n",
		out, aver, len(t.Countries)-1, len(as)-1, len(t.V4Start), len(t.V6Hi), len(data), fixed)
	return nil
}

// readTarball finds the tarball whose name starts with prefix in dir and
// returns its files (below package/) and its package.json version.
func readTarball(dir, prefix string) (map[string][]byte, string, error) {
	ms, _ := filepath.Glob(filepath.Join(dir, prefix+"[0-9]*.tgz"))
	if len(ms) != 1 {
		return nil, "", fmt.Errorf("want exactly one %s*.tgz in %s, found %d", prefix, dir, len(ms))
	}
	f, err := os.Open(ms[0])
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", ms[0], err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", ms[0], err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".csv") && !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 512<<20))
		if err != nil {
			return nil, "", err
		}
		files[strings.TrimPrefix(h.Name, "package/")] = b
	}
	var pj struct{ Version string }
	if err := json.Unmarshal(files["package.json"], &pj); err != nil || pj.Version == "" {
		return nil, "", fmt.Errorf("%s: no version in package.json", ms[0])
	}
	return files, pj.Version, nil
}

func readCSV(files map[string][]byte, name string, fields int) ([][]string, error) {
	b, ok := files[name]
	if !ok {
		return nil, fmt.Errorf("%s missing from the package", name)
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = fields
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return recs, nil
}

func ranges(recs [][3]string, idx map[string]uint32, v4 bool) ([]geodata.Range, error) {
	out := make([]geodata.Range, 0, len(recs))
	for _, r := range recs {
		s, err1 := netip.ParseAddr(r[0])
		e, err2 := netip.ParseAddr(r[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if s.Is4() != v4 || e.Is4() != v4 {
			return nil, fmt.Errorf("range %s-%s in the wrong family file", s, e)
		}
		out = append(out, geodata.Range{Start: u128(s), End: u128(e), Val: idx[r[2]]})
	}
	return out, nil
}

func u128(a netip.Addr) geodata.U128 {
	if a.Is4() {
		b := a.As4()
		return geodata.U128{Lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u geodata.U128
	for i := 0; i < 8; i++ {
		u.Hi = u.Hi<<8 | uint64(b[i])
		u.Lo = u.Lo<<8 | uint64(b[8+i])
	}
	return u
}

var verDate = regexp.MustCompile(`\.(\d{4})(\d{2})(\d{2})\d*$`)

// dateOf turns the package version (2.3.YYYYMMDDHH) into YYYY-MM-DD.
func dateOf(v string) string {
	m := verDate.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	return m[1] + "-" + m[2] + "-" + m[3]
}

func countryName(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	n := display.English.Regions().Name(r)
	if n == "" || n == "Unknown Region" {
		return code
	}
	return n
}

func sortedKeys(m map[string]bool) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}
