package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/engine"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/oui"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/report"
	"github.com/phonehome/phonehome/pkg/report/parquet"
	"github.com/phonehome/phonehome/pkg/signature"
)

// analysisFlags are shared by every command that analyses captures
// (analyze, check, baseline).
func analysisFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "devices", Usage: "YAML `FILE` listing lab devices and their true identifiers (IMEI, phone, ...), searched in every encoding"},
		&cli.StringSliceFlag{Name: "signatures", Usage: "signature pack `DIR` added to the embedded pack (its entries win); repeatable"},
		&cli.StringFlag{Name: "geoip-db", Usage: "MaxMind-format country or city database `FILE` instead of the embedded data"},
		&cli.StringFlag{Name: "asn-db", Usage: "MaxMind-format ASN database `FILE` instead of the embedded data"},
		&cli.StringSliceFlag{Name: "lan", Usage: "`CIDR` of the lab network beyond the private ranges; repeatable"},
		&cli.StringSliceFlag{Name: "keylog", Usage: "TLS key log `FILE` (SSLKEYLOGFILE / NSS format) to decrypt TLS and QUIC sessions with; repeatable (pcapng Decryption Secrets Blocks are read without it); see docs/decryption.md"},
		&cli.StringFlag{Name: "home-country", Usage: "the lab's country `CODE` (e.g. DE): identifiers sent to other countries rate higher"},
		&cli.StringSliceFlag{Name: "keys", Usage: "YAML `FILE` of extra key names that make weak identifier patterns count (see docs/leaks.md)"},
		&cli.BoolFlag{Name: "show-evidence", Usage: "print full identifier values (default: masked, because reports get shared)"},
		&cli.StringFlag{Name: "max-body", Value: "1MiB", Usage: "HTTP body bytes kept per message for leak scanning (decoded bodies: 4x)"},
		&cli.IntFlag{Name: "max-flows", Value: flow.DefaultMaxFlows, Usage: "live flows kept at once; the least recently active flow is ended (and still reported) beyond it"},
		&cli.StringFlag{Name: "max-buffer", Value: "1MiB", Usage: "out-of-order TCP bytes buffered per connection direction before a hole is given up"},
		&cli.StringFlag{Name: "max-total-buffer", Value: "256MiB", Usage: "out-of-order TCP bytes buffered in all connections together"},
		&cli.StringFlag{Name: "max-record-size", Value: "256KiB", Usage: "longest capture record kept; a longer one is cut there (the rest skipped, with a warning) and reading goes on"},
		&cli.StringFlag{Name: "max-zstd-window", Value: "1GiB", Usage: "largest zstd window decoded (zstd --long=30 writes 1GiB); the decoder reserves the window a file declares"},
		&cli.IntFlag{Name: "max-records", Value: engine.DefaultMaxRecords, Usage: "flow records kept for the flows table and HTML; the rest are counted (json and ndjson list every flow and event, spooled through temporary files in $TMPDIR)"},
		&cli.StringFlag{Name: "spool-memory", Value: "256MiB", Usage: "json/ndjson: memory for flow records and events when temporary files in $TMPDIR fail (0: none); beyond it records are lost, the report is marked incomplete and the exit code is 5"},
		&cli.DurationFlag{Name: "idle-timeout", Value: flow.DefaultIdleTimeout, Usage: "a TCP connection idle this long (in capture time) is ended"},
		&cli.DurationFlag{Name: "udp-idle-timeout", Value: flow.DefaultUDPIdleTimeout, Usage: "a UDP or ICMP flow idle this long (in capture time) is ended"},
		&cli.StringFlag{Name: "max-memory", Usage: "soft memory limit for the Go runtime, e.g. 512MiB (default: 160MiB, raised to 1.5 times the live heap when that is more)"},
		&cli.BoolFlag{Name: "no-progress", Usage: "never show the progress bar (it is shown on a terminal for large inputs)"},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile to `FILE` (for bug reports)"},
		&cli.StringFlag{Name: "memprofile", Usage: "write a heap profile to `FILE` at the end"},
	}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(append(report.Formats(), formatParquet), ", ") + " (parquet: tables in the -o directory, docs/scale.md)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output; its extension (.json, .ndjson, .csv, .md, .html) sets the format when --format is not given; a DIR for several csv tables"},
		&cli.StringSliceFlag{Name: "table", Usage: "tables to print (table/markdown: devices, destinations, leaks, findings, behaviour, summary, flows; csv: one per file, several with --output DIR)"},
		&cli.StringFlag{Name: "group-by", Value: "name", Usage: "group destinations by name, domain, vendor, country or endpoint"},
		&cli.StringFlag{Name: "color", Value: "auto", Usage: "colours: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always, never"},
		&cli.BoolFlag{Name: "no-color", Usage: "same as --color never"},
		&cli.StringSliceFlag{Name: "device", Usage: "only this device (id, name or MAC); repeatable"},
		&cli.StringFlag{Name: "min-severity", Usage: "hide leaks and findings below this severity (info, low, medium, high, critical)"},
		&cli.StringSliceFlag{Name: "category", Usage: "only destinations of this category (telemetry, analytics, advertising, ...); repeatable"},
	}
}

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Aliases:   []string{"a"},
		Usage:     "report per device whom it talks to, how, and what it gives away",
		ArgsUsage: "CAPTURE... (pcap, pcapng or snoop; gzip/zstd compressed; a directory; - for stdin)",
		Description: `Reads the captures as one recording (files in the order given; a directory is
walked recursively in sorted path order, skipping files that are not captures with
a warning; flows continue across files) and prints per-device tables.

Examples:
   phonehome analyze lab.pcapng
   phonehome analyze --devices devices.yaml --format html -o report.html lab.pcapng
   phonehome analyze --format ndjson captures/ > events.ndjson
   tcpdump -w - -i eth0 | phonehome analyze -

Exit codes: 0 done; 2 usage error or unreadable input; 3 some input was damaged
(everything before the damage is in the report); 4 the output could not be written (nothing left
under its name); 5 records lost or interrupted (the report is marked incomplete).`,
		Flags:  append(append(outputFlags(), analysisFlags()...), batchFlags()...),
		Action: runAnalyze,
	}
}

func runAnalyze(c *cli.Context) error {
	if c.Bool("per-file") || c.IsSet("jobs") || c.IsSet("shard") || strings.EqualFold(c.String("format"), formatParquet) {
		return runBatch(c)
	}
	outs, err := reportPaths(c)
	if err != nil {
		return err
	}
	if err := checkOutputs(outs...); err != nil {
		return err
	}
	rep, runErr := buildReport(c)
	if rep == nil {
		return runErr
	}
	geo.Release() // the report is enriched: writing it looks nothing up
	if rep.Records != nil {
		defer rep.Records.Close()
		if o, ok := rep.Records.(audit.OnceRecords); ok {
			o.StreamOnce() // one report is written from them
		}
	}
	if err := writeReport(c, rep); err != nil {
		return err
	}
	return runErr
}

// buildReport runs the engine with the flags of analysisFlags. It returns a
// report whenever one was produced, and an error carrying the exit code.
func buildReport(c *cli.Context) (*audit.Report, error) {
	if c.NArg() == 0 {
		return nil, usageErr("no capture given (see --help)")
	}
	geo.Preload() // decode the embedded geo data while the rest starts up
	cfg, err := engineConfig(c)
	if err != nil {
		return nil, err
	}
	inputs, skipped, err := engine.ExpandInputs(c.Args().Slice())
	cfg.InputWarnings = append(cfg.InputWarnings, skipped...)
	if err != nil {
		return nil, withCode(exitUsage, errors.New(strings.TrimPrefix(err.Error(), "input error: ")))
	}
	if err := startProfiles(c); err != nil {
		return nil, err
	}
	bar := newProgress(c, inputs)
	if bar != nil {
		cfg.Progress = bar.update
	}
	rep, err := engine.Run(c.Context, cfg, inputs)
	if bar != nil {
		bar.finish()
	}
	return runOutcome(c, rep, err)
}

// startProfiles begins --cpuprofile and arranges --memprofile; both are
// ended by endProfiles (the App's After), once the command has written
// its report, so that they cover the writing too (for json on real-1G,
// the merge of the spools and the formatting are about a sixth of the
// CPU).
func startProfiles(c *cli.Context) error {
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return withCode(exitUsage, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return withCode(exitUsage, err)
		}
		atEnd(c, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if p := c.String("memprofile"); p != "" {
		atEnd(c, func() {
			if f, err := os.Create(p); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		})
	}
	return nil
}

// atEnd registers f to run when the command has returned (endProfiles).
func atEnd(c *cli.Context, f func()) {
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	fs, _ := c.App.Metadata[atEndKey].([]func())
	c.App.Metadata[atEndKey] = append(fs, f)
}

const atEndKey = "phonehome.atEnd"

// endProfiles runs what atEnd registered, last first.
func endProfiles(c *cli.Context) error {
	fs, _ := c.App.Metadata[atEndKey].([]func())
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	delete(c.App.Metadata, atEndKey)
	return nil
}

// runOutcome turns what engine.Run returned into the report to write and
// the error that says how complete it is: damaged input and lost records
// are printed on stderr (they are also warnings in the report).
func runOutcome(c *cli.Context, rep *audit.Report, err error) (*audit.Report, error) {
	kind := runKind(rep, err)
	switch {
	case kind == nil:
		return rep, nil
	case errors.Is(err, engine.ErrInput):
		return nil, withKind(kind, errors.New(strings.TrimPrefix(err.Error(), "input error: ")))
	case rep == nil:
		return nil, withKind(kind, err)
	}
	var errs []error
	if errors.Is(err, engine.ErrDamaged) {
		stderrWarnings(c, rep, "damaged-input")
		errs = append(errs, withKind(errDamaged, errors.New("some input was damaged; the report covers everything read before the damage")))
	}
	if errors.Is(err, engine.ErrIncomplete) {
		stderrWarnings(c, rep, "spool-error")
		errs = append(errs, withKind(errIncomplete, errors.New("flow records or events were lost; the report lists the rest and is marked incomplete")))
	}
	if len(errs) == 0 {
		errs = append(errs, withKind(kind, fmt.Errorf("the run stopped early (%v); the report is marked incomplete", err)))
	}
	return rep, errors.Join(errs...)
}

func stderrWarnings(c *cli.Context, rep *audit.Report, code string) {
	for _, w := range rep.Warnings {
		if w.Code == code {
			fmt.Fprintln(c.App.ErrWriter, "phonehome: warning:", escape.Terminal(w.Message))
		}
	}
}

func engineConfig(c *cli.Context) (engine.Config, error) {
	cfg := engine.Config{ToolVersion: version}
	format := c.String("format")
	if c.Command != nil && c.Command.Name == "analyze" {
		var err error
		if format, err = outputFormat(c); err != nil {
			return cfg, err
		}
	}
	// Formats that write every record stream them from temporary files;
	// the others keep up to --max-records in memory.
	needs := recordsNeeded(c, format)
	cfg.KeepFlows, cfg.KeepEvents, cfg.SpoolRecords = needs.Flows, needs.Events, needs.Every
	cfg.Flow.MaxFlows = c.Int("max-flows")
	cfg.Flow.IdleTimeout = c.Duration("idle-timeout")
	cfg.Flow.UDPIdleTimeout = c.Duration("udp-idle-timeout")
	cfg.MaxRecords = c.Int("max-records")
	var err error
	if cfg.Flow.MaxFlowBuffer, err = parseSize(c.String("max-buffer")); err != nil {
		return cfg, usageErr("--max-buffer: %v", err)
	}
	total, err := parseSize(c.String("max-total-buffer"))
	if err != nil {
		return cfg, usageErr("--max-total-buffer: %v", err)
	}
	cfg.Flow.MaxTotalBuffer = int64(total)
	body, err := parseSize(c.String("max-body"))
	if err != nil {
		return cfg, usageErr("--max-body: %v", err)
	}
	rec, err := parseSize(c.String("max-record-size"))
	if err != nil || rec < 64 {
		return cfg, usageErr("--max-record-size: want a size of at least 64 bytes, e.g. 256KiB")
	}
	win, err := parseSize(c.String("max-zstd-window"))
	if err != nil || win < 1<<10 {
		return cfg, usageErr("--max-zstd-window: want a size of at least 1KiB, e.g. 1GiB")
	}
	cfg.Capture = capture.Options{MaxRecord: rec, MaxZstdWindow: uint64(win)}
	spoolMem, err := parseSize(c.String("spool-memory"))
	if err != nil {
		return cfg, usageErr("--spool-memory: %v", err)
	}
	cfg.SpoolFallback = int64(spoolMem)
	if spoolMem == 0 {
		cfg.SpoolFallback = -1 // none
	}
	cfg.HTTP = phttp.DefaultLimits()
	cfg.HTTP.MaxBody, cfg.HTTP.MaxDecoded = body, 4*body
	for _, s := range c.StringSlice("lan") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return cfg, usageErr("--lan %q: want a CIDR like 10.20.0.0/16", s)
		}
		cfg.LAN = append(cfg.LAN, p.Masked())
	}
	if s := c.String("home-country"); s != "" {
		if cfg.HomeCountry, err = parseCountry(s); err != nil {
			return cfg, usageErr("--home-country: %v", err)
		}
	}
	cfg.ShowEvidence = c.Bool("show-evidence")
	if cfg.Keys, cfg.InputWarnings, err = loadKeyLogs(c.StringSlice("keylog")); err != nil {
		return cfg, err
	}
	// Start-up is a fixed cost of every run, so its parts overlap: the
	// signature pack loads while the devices file, keys and the leak
	// scanner's matcher are built; the embedded OUI and geo data decode
	// in the background until their first lookup.
	var sigs *signature.Set
	var sigErr error
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		sigs, sigErr = signature.Load(c.StringSlice("signatures")...)
	}()
	go oui.Version() // decodes the OUI table
	scanErr := func() error {
		if cfg.Geo, err = geo.New(geo.Options{CountryDB: c.String("geoip-db"), ASNDB: c.String("asn-db"), LAN: cfg.LAN}); err != nil {
			return err
		}
		if p := c.String("devices"); p != "" {
			lf, err := lab.Load(p)
			if err != nil {
				return err
			}
			cfg.Known = lf.Devices
		}
		keys, err := leak.LoadKeys(c.StringSlice("keys")...)
		if err != nil {
			return err
		}
		cfg.Scanner, err = leak.NewScanner(cfg.Known, leak.Options{Keys: keys})
		return err
	}()
	<-sigDone
	if scanErr != nil {
		return cfg, withCode(exitUsage, scanErr)
	}
	if cfg.Signatures, err = sigs, sigErr; err != nil {
		return cfg, withCode(exitUsage, err)
	}
	if s := c.String("max-memory"); s != "" {
		n, err := parseSize(s)
		if err != nil {
			return cfg, usageErr("--max-memory: %v", err)
		}
		stopAdaptiveLimit()
		debug.SetMemoryLimit(int64(n))
	} else if os.Getenv("GOMEMLIMIT") == "" {
		// The live heap of an analysis stays near 100 MB whatever the
		// capture size (more with records kept for HTML and --table
		// flows); a soft limit keeps the collector from letting the process
		// grow to twice it, and rises with it so that it never makes the
		// collector run back to back (memlimit.go).
		setAdaptiveLimit(defaultSoftMemory)
	} else {
		stopAdaptiveLimit()
	}
	return cfg, nil
}

// defaultSoftMemory is the floor of the Go runtime's soft memory limit
// when neither --max-memory nor GOMEMLIMIT is given.
const defaultSoftMemory = 160 << 20

// recordsNeeded says which records the output of this command writes (the
// writers say it: report.Options.Needs, parquet.Needs); keeping them costs
// memory on large captures, so the engine keeps only those.
func recordsNeeded(c *cli.Context, format string) report.RecordNeeds {
	if c.Command == nil || c.Command.Name != "analyze" {
		return report.RecordNeeds{} // check, baseline, diff read devices only
	}
	if format == formatParquet {
		return parquet.Needs()
	}
	return report.Options{Format: format, Tables: c.StringSlice("table")}.Needs()
}

// parseSize reads sizes like 1048576, 64KiB, 1MiB, 2GB (case-insensitive
// units; K, M, G are binary). Anything else, "1XB" or "1.5MiB" included, is
// an error.
func parseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40}, {"kb", 1000}, {"mb", 1000_000}, {"gb", 1000_000_000}, {"tb", 1000_000_000_000}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1}}
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t == "" || t[0] == '+' {
		return 0, fmt.Errorf("%q is not a size (e.g. 1048576, 64KiB, 1MiB, 2GB)", s)
	}
	if n > math.MaxInt64/mult || n*mult > math.MaxInt {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int(n * mult), nil
}

func reportOptions(c *cli.Context, out io.Writer) (report.Options, report.Filter, error) {
	format, err := outputFormat(c)
	if err != nil {
		return report.Options{}, report.Filter{}, err
	}
	opt := report.Options{Format: format, GroupBy: c.String("group-by")}
	tables := c.StringSlice("table")
	if opt.Format == "csv" && len(tables) > 0 {
		opt.CSVTable = tables[0]
	} else {
		opt.Tables = tables
	}
	f, ok := out.(*os.File)
	tty := ok && isatty.IsTerminal(f.Fd())
	if opt.Color, err = colorMode(c, tty); err != nil {
		return opt, report.Filter{}, err
	}
	if tty {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			opt.Width = w
		}
	}
	var flt report.Filter
	flt.Devices = c.StringSlice("device")
	flt.Categories = c.StringSlice("category")
	if s := c.String("min-severity"); s != "" {
		sev, err := audit.ParseSeverity(s)
		if err != nil {
			return opt, flt, usageErr("--min-severity: %v", err)
		}
		flt.MinSeverity = sev
	}
	return opt, flt, nil
}

func writeReport(c *cli.Context, rep *audit.Report) error {
	write := func(out io.Writer, table string) error {
		opt, flt, err := reportOptions(c, out)
		if err != nil {
			return err
		}
		if table != "" {
			opt.CSVTable = table
		}
		err = report.Write(out, report.Apply(rep, flt), opt)
		if errors.Is(err, report.ErrFormat) || errors.Is(err, report.ErrTable) || errors.Is(err, report.ErrGroupBy) {
			return withCode(exitUsage, err)
		}
		return err
	}
	if format, err := outputFormat(c); err != nil || format != "csv" {
		if err != nil {
			return err
		}
		return orWrite(writeOutput(c, func(out io.Writer) error { return write(out, "") }))
	}
	// CSV is tables only: its warnings go to standard error (damaged
	// input was reported already).
	for _, w := range rep.Warnings {
		if w.Code != "damaged-input" {
			fmt.Fprintln(c.App.ErrWriter, "phonehome: warning:", escape.Terminal(w.Message))
		}
	}
	paths, tables, err := csvTargets(c)
	if err != nil {
		return err
	}
	if paths == nil {
		return orWrite(writeOutput(c, func(out io.Writer) error { return write(out, "") }))
	}
	for _, t := range tables {
		if err := writeTo(paths[t], c.App.Writer, func(out io.Writer) error { return write(out, t) }); err != nil {
			return orWrite(err)
		}
	}
	return nil
}
