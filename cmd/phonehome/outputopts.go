package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/policy"
	"github.com/phonehome/phonehome/pkg/report"
)

// formatByExt maps an --output file's extension to the report format it
// implies.
var formatByExt = map[string]string{
	".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv",
	".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "table",
}

// outputFormat is the report format of an analyze run: --format when given,
// else the one the --output file's extension names, else table. A --format
// that contradicts the extension is refused rather than written under a
// misleading name.
func outputFormat(c *cli.Context) (string, error) {
	format := strings.ToLower(c.String("format"))
	out := c.String("output")
	if out == "" || out == "-" || isDirTarget(out) {
		return format, nil
	}
	implied, known := formatByExt[strings.ToLower(filepath.Ext(out))]
	switch {
	case !known:
		return format, nil
	case !c.IsSet("format"):
		return implied, nil
	case implied != format:
		return "", usageErr("--output %s looks like %s but --format is %s: rename the file or drop --format", out, implied, format)
	}
	return format, nil
}

// isDirTarget says whether --output names a directory: an existing one, or
// a path ending in a separator.
func isDirTarget(p string) bool {
	if strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(os.PathSeparator)) {
		return true
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// csvTargets says where each CSV table goes. One table goes to --output (or
// standard output); several need --output DIR and get one file each,
// DIR/<table>.csv. Several tables into one stream would be one CSV file
// with several headers, which no spreadsheet reads, so that is refused.
func csvTargets(c *cli.Context) (map[string]string, []string, error) {
	tables := c.StringSlice("table")
	out := c.String("output")
	if len(tables) <= 1 {
		if out != "" && isDirTarget(out) {
			t := report.TableDestinations
			if len(tables) == 1 {
				t = tables[0]
			}
			return map[string]string{t: filepath.Join(out, t+".csv")}, []string{t}, nil
		}
		return nil, tables, nil
	}
	if out == "" || out == "-" || !isDirTarget(out) {
		return nil, nil, usageErr("csv holds one table per file: with %d --table values give --output DIR (one DIR/<table>.csv each), or one --table", len(tables))
	}
	paths := map[string]string{}
	for _, t := range tables {
		paths[t] = filepath.Join(out, strings.ToLower(t)+".csv")
	}
	return paths, tables, nil
}

// colorMode reads --color (auto, always, never) and the environment: auto
// colours a terminal unless NO_COLOR is set or TERM is dumb; --no-color is
// the same as --color never.
func colorMode(c *cli.Context, isTerminal bool) (bool, error) {
	mode := strings.ToLower(c.String("color"))
	if c.Bool("no-color") {
		mode = "never"
	}
	switch mode {
	case "", "auto":
		return isTerminal && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb", nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, usageErr("--color %q: want auto, always or never", c.String("color"))
}

// parseCountry reads an ISO 3166-1 alpha-2 country code such as DE; names
// ("germany"), private-use codes (XX) and unknown codes are refused.
func parseCountry(s string) (string, error) {
	if len(strings.TrimSpace(s)) != 2 {
		return "", fmt.Errorf("%q is not a two-letter ISO 3166 country code (e.g. DE, US, SG)", s)
	}
	code, ok := policy.CountryCode(s)
	if !ok {
		return "", fmt.Errorf("%q is not an ISO 3166 country code (e.g. DE, US, SG)", s)
	}
	return code, nil
}

// formatFlag is the --format (-f) flag of a command that writes one of
// formats, the first being the default.
func formatFlag(formats ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: formats[0], Usage: "output format: " + strings.Join(formats, ", ")}
}

// chosenFormat reads the --format of a command made with formatFlag(valid...)
// (the hidden --json is the older spelling of --format json) and checks it.
func chosenFormat(c *cli.Context, valid ...string) (string, error) {
	format := strings.ToLower(c.String("format"))
	if c.Bool("json") {
		format = "json"
	}
	if slices.Contains(valid, format) {
		return format, nil
	}
	return "", usageErr("--format %q: want %s", c.String("format"), strings.Join(valid, " or "))
}

// reportPaths are the files an analyze run will write: --output, or one
// per CSV table when several tables go to a directory.
func reportPaths(c *cli.Context) ([]string, error) {
	format, err := outputFormat(c)
	if err != nil {
		return nil, err
	}
	if format != "csv" {
		return []string{c.String("output")}, nil
	}
	paths, tables, err := csvTargets(c)
	if err != nil || paths == nil {
		return []string{c.String("output")}, err
	}
	var out []string
	for _, t := range tables {
		out = append(out, paths[t])
	}
	return out, nil
}
