package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/signature"
	"github.com/phonehome/phonehome/signatures"
)

// listFormats are the formats of signatures list and geoip lookup.
var listFormats = []string{"table", "json"}

// signaturesCommand groups the commands that inspect vendor signature packs.
func signaturesCommand() *cli.Command {
	userFlag := &cli.StringSliceFlag{
		Name:    "signatures",
		Aliases: []string{"s"},
		Usage:   "add the pack `DIR` (or YAML file) on top of the embedded one; repeatable, later wins",
	}
	return &cli.Command{
		Name:  "signatures",
		Usage: "inspect, lint and test vendor signature packs",
		Description: "A signature pack is a directory of YAML files, one per vendor, that says who is behind\n" +
			"a destination and why it matters. The pack in signatures/ is embedded in the binary;\n" +
			"--signatures DIR adds user packs that add services or override embedded ones.\n" +
			"Schema: docs/signatures.md.",
		Subcommands: []*cli.Command{
			{
				Name:      "lint",
				Usage:     "check packs: schema, duplicates, ties, redundant patterns, examples",
				ArgsUsage: "[DIR...]",
				Description: "With no DIR, lints the embedded pack. Each DIR is linted on top of the embedded pack\n" +
					"(use --only to lint it alone). Problems print as FILE:LINE:COL: LEVEL: MESSAGE.\n" +
					"Exit status is 2 when an error is found (or a warning, with --strict).\n\n" +
					"Examples:\n" +
					"   phonehome signatures lint\n" +
					"   phonehome signatures lint ./my-signatures\n" +
					"   phonehome signatures lint --only --strict ./my-signatures",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "only", Usage: "lint the given directories without the embedded pack"},
					&cli.BoolFlag{Name: "strict", Usage: "fail on warnings too"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors and warnings, no summary"},
				},
				Action: signaturesLint,
			},
			{
				Name:  "list",
				Usage: "list the signatures (services) of the loaded packs",
				Description: "Prints one row per service: ID, vendor, country, category, pattern count.\n\n" +
					"Examples:\n" +
					"   phonehome signatures list\n" +
					"   phonehome signatures list --category telemetry --vendor xiaomi\n" +
					"   phonehome signatures list --format json --signatures ./my-signatures",
				Flags: []cli.Flag{
					userFlag,
					&cli.StringFlag{Name: "category", Usage: "only services of this `CATEGORY`"},
					&cli.StringFlag{Name: "vendor", Usage: "only vendors whose id or name contains `TEXT`"},
					formatFlag(listFormats...),
					&cli.BoolFlag{Name: "json", Hidden: true, Usage: "same as --format json"},
				},
				Action: signaturesList,
			},
			{
				Name:      "test",
				Usage:     "run every signature's examples, or attribute the given names/addresses",
				ArgsUsage: "[QUERY...]",
				Description: "Without arguments, runs every example of every signature (match and no_match) and\n" +
					"exits 2 if one fails. With arguments, prints which signature each one matches. A QUERY\n" +
					"is a host name, an IP address, AS<number>, http(s)://host/path, ua:<User-Agent>,\n" +
					"cert:<subject>, ja3:<md5>, ja4:<fingerprint> or port:[tcp|udp/]<port>; join several\n" +
					"with ' + ' to describe one destination.\n\n" +
					"Examples:\n" +
					"   phonehome signatures test\n" +
					"   phonehome signatures test tracking.miui.com 170.114.0.1 AS45102\n" +
					"   phonehome signatures test 'port:udp/8801 + 206.247.1.1'",
				Flags:  []cli.Flag{userFlag, &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print passing examples too"}},
				Action: signaturesTest,
			},
		},
	}
}

func loadSignatures(c *cli.Context) (*signature.Set, error) {
	s, err := signature.Load(c.StringSlice("signatures")...)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return s, nil
}

func signaturesLint(c *cli.Context) error {
	var packs []signature.Pack
	version := signatures.Version
	if !c.Bool("only") || c.NArg() == 0 {
		if c.Bool("only") {
			return usageErr("signatures lint: --only needs at least one DIR")
		}
		packs = append(packs, signature.EmbeddedPack())
	}
	for _, d := range c.Args().Slice() {
		p, err := signature.DirPack(d)
		if err != nil {
			return withCode(exitUsage, err)
		}
		packs = append(packs, p)
		version += "+" + d
	}
	set, issues := signature.Lint(version, packs...)
	var errs, warns int
	w := c.App.Writer
	for _, is := range issues {
		switch is.Level {
		case signature.LevelError:
			errs++
		case signature.LevelWarning:
			warns++
		case signature.LevelInfo:
			if c.Bool("quiet") {
				continue
			}
		}
		fmt.Fprintln(w, escape.Terminal(is.String()))
	}
	if !c.Bool("quiet") && set != nil {
		v, s, d := set.Stats()
		fmt.Fprintf(w, "%d vendors, %d signatures, %d domain patterns: %d errors, %d warnings\n", v, s, d, errs, warns)
	}
	if errs > 0 || (c.Bool("strict") && warns > 0) {
		return withCode(exitUsage, fmt.Errorf("signatures lint: %d errors, %d warnings", errs, warns))
	}
	return nil
}

type listRow struct {
	ID         string   `json:"id"`
	Vendor     string   `json:"vendor"`
	VendorID   string   `json:"vendor_id"`
	Country    string   `json:"country"`
	Service    string   `json:"service"`
	Category   string   `json:"category"`
	Severity   string   `json:"severity,omitempty"`
	Domains    int      `json:"domains"`
	CIDRs      int      `json:"cidrs"`
	ASNs       int      `json:"asns"`
	Other      int      `json:"other_matchers"`
	File       string   `json:"file"`
	References []string `json:"references"`
}

func signaturesList(c *cli.Context) error {
	set, err := loadSignatures(c)
	if err != nil {
		return err
	}
	cat := c.String("category")
	vendor := strings.ToLower(c.String("vendor"))
	var rows []listRow
	for _, sv := range set.Services() {
		if cat != "" && sv.Category != cat {
			continue
		}
		if vendor != "" && !strings.Contains(strings.ToLower(sv.Vendor.ID), vendor) && !strings.Contains(strings.ToLower(sv.Vendor.Name), vendor) {
			continue
		}
		rows = append(rows, listRow{
			ID: sv.ID, Vendor: sv.Vendor.Name, VendorID: sv.Vendor.ID, Country: sv.Vendor.Country, Service: sv.Name,
			Category: sv.Category, Severity: sv.Severity, Domains: len(sv.Domains), CIDRs: len(sv.CIDRs), ASNs: len(sv.ASNs),
			Other: len(sv.Ports) + len(sv.JA3) + len(sv.JA4) + len(sv.CertSubjects) + len(sv.HTTP), File: sv.File, References: sv.References,
		})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].VendorID != rows[j].VendorID {
			return rows[i].VendorID < rows[j].VendorID
		}
		return rows[i].ID < rows[j].ID
	})
	format, err := chosenFormat(c, listFormats...)
	if err != nil {
		return err
	}
	if format == "json" {
		out := struct {
			Version    string    `json:"version"`
			Signatures []listRow `json:"signatures"`
		}{set.Version(), rows}
		if out.Signatures == nil {
			out.Signatures = []listRow{}
		}
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVENDOR\tCC\tCATEGORY\tDOMAINS\tCIDRS\tASNS\tSERVICE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.Vendor, r.Country, r.Category, r.Domains, r.CIDRs, r.ASNs, r.Service)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	v, s, d := set.Stats()
	fmt.Fprintf(c.App.Writer, "pack %s: %d vendors, %d signatures, %d domain patterns (%d listed)\n", set.Version(), v, s, d, len(rows))
	return nil
}

func signaturesTest(c *cli.Context) error {
	set, err := loadSignatures(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if c.NArg() > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUERY\tSIGNATURE\tVENDOR\tCATEGORY\tMATCHED BY")
		for _, a := range c.Args().Slice() {
			q, err := signature.ParseQuery(a)
			if err != nil {
				return usageErr("signatures test: %v", err)
			}
			m, ok := set.Match(q)
			if !ok {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\n", a)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s\t%s\n", a, m.SignatureID, m.Vendor, m.VendorCountry, m.Category, m.MatchedBy)
		}
		return tw.Flush()
	}
	var failed, passed int
	for _, r := range set.TestExamples() {
		if r.Pass {
			passed++
			if c.Bool("verbose") {
				fmt.Fprintf(w, "%s: ok: %s %q\n", r.Pos, r.Service, r.Example)
			}
			continue
		}
		failed++
		fmt.Fprintf(w, "%s: FAIL: %s\n", r.Pos, escape.Terminal(r.Detail))
	}
	fmt.Fprintf(w, "%d examples: %d passed, %d failed\n", passed+failed, passed, failed)
	if failed > 0 {
		return withCode(exitUsage, fmt.Errorf("signatures test: %d examples failed", failed))
	}
	return nil
}
