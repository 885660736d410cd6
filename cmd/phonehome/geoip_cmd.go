package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/oui"
)

// geoFlags select the geo data; analyze and check can share them.
func geoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "geoip-db", Usage: "read countries (and regions, cities) from `FILE`, a MaxMind-format database: GeoLite2/GeoIP2 Country or City, DB-IP lite, ipinfo lite (default: embedded data)"},
		&cli.StringFlag{Name: "asn-db", Usage: "read network owners (ASN) from `FILE`, a MaxMind-format database: GeoLite2-ASN, DB-IP ASN lite (default: embedded data)"},
		&cli.StringSliceFlag{Name: "lan", Usage: "report addresses in `CIDR` (the lab's own network) as \"lan\"; repeatable or comma-separated"},
	}
}

// newGeoResolver builds the resolver selected by geoFlags. Without flags it
// is the shared embedded resolver.
func newGeoResolver(c *cli.Context) (*geo.Resolver, error) {
	opts := geo.Options{CountryDB: c.String("geoip-db"), ASNDB: c.String("asn-db")}
	for _, v := range c.StringSlice("lan") {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return nil, usageErr("--lan %q: not a CIDR prefix", s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			opts.LAN = append(opts.LAN, p)
		}
	}
	if opts.CountryDB == "" && opts.ASNDB == "" && len(opts.LAN) == 0 {
		r, err := geo.Embedded()
		return r, withCode(exitUsage, err)
	}
	r, err := geo.New(opts)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return r, nil
}

func geoipCommand() *cli.Command {
	return &cli.Command{
		Name:  "geoip",
		Usage: "look up addresses in the geo/ASN data",
		Description: `Answers offline, from data embedded in phonehome (or your own MaxMind-format
databases), what the analyzer says about a server address: the country it is
located in ("anycast" for a well-known anycast network), the country its
block is registered to, network owner (ASN and organisation) or, for
non-public addresses, the kind of range.`,
		Subcommands: []*cli.Command{geoipLookupCommand(), geoipInfoCommand()},
	}
}

func geoipLookupCommand() *cli.Command {
	return &cli.Command{
		Name:      "lookup",
		Usage:     "print located and registered country, anycast network and network owner of each address",
		ArgsUsage: "IP...",
		Description: `Prints one line per address, as the analyzer would describe it.

Examples:
   phonehome geoip lookup 8.219.0.1 2001:4860:4860::8888
   phonehome geoip lookup --lan 192.168.1.0/24 192.168.1.20 10.0.0.1
   phonehome geoip lookup --geoip-db GeoLite2-City.mmdb --asn-db GeoLite2-ASN.mmdb 81.2.69.142
   phonehome geoip lookup --format json 1.1.1.1

An argument that is not an address gets an error line on stderr; the others
are still looked up, and the exit status is 2.`,
		Flags: append(geoFlags(),
			formatFlag(listFormats...),
			&cli.BoolFlag{Name: "json", Hidden: true, Usage: "same as --format json"},
		),
		Action: runGeoipLookup,
	}
}

func geoipInfoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "print which geo, ASN and OUI data is used, its date and licence",
		Description: `Examples:
   phonehome geoip info
   phonehome geoip info --asn-db GeoLite2-ASN.mmdb`,
		Flags:  geoFlags(),
		Action: runGeoipInfo,
	}
}

// geoRow is one lookup result as printed.
type geoRow struct {
	IP          string `json:"ip"`
	Country     string `json:"country,omitempty"` // located; "anycast" for a well-known anycast network
	CountryName string `json:"country_name,omitempty"`
	Registered  string `json:"registered_country,omitempty"`
	RegName     string `json:"registered_country_name,omitempty"`
	Anycast     string `json:"anycast,omitempty"` // anycast network name
	Region      string `json:"region,omitempty"`
	City        string `json:"city,omitempty"`
	ASN         uint32 `json:"asn,omitempty"`
	ASOrg       string `json:"as_org,omitempty"`
	Special     string `json:"special,omitempty"`
}

func runGeoipLookup(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr("no address given (see --help)")
	}
	format, err := chosenFormat(c, listFormats...)
	if err != nil {
		return err
	}
	// Bad arguments are named on stderr; the good ones are still
	// answered, so one typo in a list of fifty costs one line.
	var ips []netip.Addr
	var bad []string
	for _, a := range c.Args().Slice() {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "phonehome: geoip lookup: %q is not an IP address\n", a)
			bad = append(bad, a)
			continue
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 {
		return usageErr("no valid address given")
	}
	if err := lookupAndPrint(c, ips, format); err != nil {
		return err
	}
	if len(bad) > 0 {
		return usageErr("%d of %d arguments are not IP addresses", len(bad), c.NArg())
	}
	return nil
}

// lookupAndPrint writes the lookup of every address in format.
func lookupAndPrint(c *cli.Context, ips []netip.Addr, format string) error {
	r, err := newGeoResolver(c)
	if err != nil {
		return err
	}
	rows := make([]geoRow, len(ips))
	location := false
	for i, ip := range ips {
		in := r.Lookup(ip)
		rows[i] = geoRow{IP: ip.String(), Country: in.Country, CountryName: in.CountryName, Registered: in.Registered,
			RegName: in.RegisteredName, Anycast: in.AnycastNet, Region: in.Region, City: in.City, ASN: in.ASN,
			ASOrg: in.ASOrg, Special: in.Special}
		location = location || in.Region != "" || in.City != ""
	}
	w := c.App.Writer
	if format == "json" {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "ADDRESS\tCOUNTRY\tREGISTERED\tANYCAST\t"
	if location {
		head += "REGION\tCITY\t"
	}
	fmt.Fprintln(tw, head+"ASN\tNETWORK OWNER\tRANGE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range rows {
		country := dash(strings.TrimSpace(r.Country + " " + r.CountryName))
		asn := "-"
		if r.ASN != 0 {
			asn = fmt.Sprintf("AS%d", r.ASN)
		}
		line := r.IP + "\t" + country + "\t" + dash(r.Registered) + "\t" + dash(r.Anycast) + "\t"
		if location {
			line += dash(r.Region) + "\t" + dash(r.City) + "\t"
		}
		special := r.Special
		if special == "" {
			special = "public"
		}
		fmt.Fprintln(tw, line+asn+"\t"+dash(r.ASOrg)+"\t"+special)
	}
	return tw.Flush()
}

// geoAttribution is printed by geoip info; the full text is in NOTICE.
const geoAttribution = `Embedded geo data: @ip-location-db (github.com/sapics/ip-location-db).
Located country: DB-IP IP to Country Lite, CC BY 4.0, "IP Geolocation by DB-IP" (https://db-ip.com).
Registered country: CC0 1.0, with NRO statistics data (CC BY 4.0).
ASN data: CC BY 4.0, RouteViews (routeviews.org), DB-IP (db-ip.com), NRO (nro.net).
Anycast networks: operators' own statements (docs/geo.md).
MAC vendors: IEEE registries via the oui-data package (BSD-2-Clause). See NOTICE.`

func runGeoipInfo(c *cli.Context) error {
	r, err := newGeoResolver(c)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tVERSION\tSOURCE\tLICENCE")
	for _, d := range append(r.Sources(), oui.Version()) {
		lic := d.License
		if lic == "" {
			lic = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Kind, d.Version, d.Source, lic)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, "\n"+geoAttribution)
	return err
}
