package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/engine"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/policy"
	"github.com/phonehome/phonehome/pkg/report"
)

func diffCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: text, json or markdown"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the diff to `FILE` instead of standard output"},
		&cli.BoolFlag{Name: "exit-code", Usage: "exit 1 when NEW has anything OLD does not (like git diff --exit-code)"},
		deviceFlag(),
	}
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two firmware runs: new and removed destinations, countries, vendors and leaks",
		ArgsUsage: "OLD NEW (each a capture or a baseline JSON from `phonehome baseline`)",
		Description: `Each side is a baseline file (recognised by its content) or a capture, which is
analysed with the analysis flags (--devices, --signatures, --geoip-db...).
Devices pair up by id, then by name, then the only remaining one with the
only remaining one; pairings other than by id are guesses, and the output
says so ("note: compared old device ... with new device ...").

Examples:
   phonehome diff fw-1.0.pcap fw-1.1.pcap
   phonehome diff --exit-code approved.json fw-1.1.pcap

Exit codes: 0 compared (with --exit-code: nothing new); 1 with --exit-code,
NEW has something OLD does not; 2 usage error or unreadable input; 3 damaged
input; 4 the output could not be written (nothing left
under its name); 5 records lost or interrupted (the report is marked incomplete).`,
		Flags:  append(flags, analysisFlags()...),
		Action: runDiff,
	}
}

func runDiff(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErr("diff needs two arguments, OLD and NEW (got %d; see --help)", c.NArg())
	}
	format := c.String("format")
	if format != "text" && format != "json" && format != "markdown" {
		return usageErr("unknown format %q (want text, json or markdown)", format)
	}
	if err := checkOutputs(c.String("output")); err != nil {
		return err
	}
	oldB, oldErr := diffSide(c, c.Args().Get(0))
	if oldB == nil {
		return oldErr
	}
	newB, newErr := diffSide(c, c.Args().Get(1))
	if newB == nil {
		return newErr
	}
	changes := policy.Compare(oldB, newB)
	_, pairings := policy.PairDevices(oldB, newB)
	var guesses []policy.Pairing
	for _, p := range pairings {
		if p.Guess {
			guesses = append(guesses, p)
		}
	}
	err := writeOutput(c, func(out io.Writer) error {
		return writeDiff(out, format, c.Args().Get(0), c.Args().Get(1), changes, guesses)
	})
	if err != nil {
		return err
	}
	if c.Bool("exit-code") {
		for _, ch := range changes {
			if ch.Op == policy.Added {
				return withCode(exitViolation, errors.New("diff: NEW has destinations, countries, vendors or leaks that OLD does not"))
			}
		}
	}
	if oldErr != nil {
		return oldErr
	}
	return newErr
}

// diffSide loads a baseline, or analyses a capture into one. It returns a
// baseline whenever one was made, and an error carrying the exit code.
func diffSide(c *cli.Context, path string) (*policy.Baseline, error) {
	if policy.SniffBaseline(path) {
		b, err := policy.LoadBaseline(path)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		if devs := c.StringSlice("device"); len(devs) > 0 {
			b = filterBaseline(b, devs)
		}
		return b, nil
	}
	rep, err := analyzePaths(c, []string{path})
	if rep == nil {
		return nil, err
	}
	if devs := c.StringSlice("device"); len(devs) > 0 {
		rep = report.Apply(rep, report.Filter{Devices: devs})
	}
	return policy.NewBaseline(rep), err
}

// filterBaseline keeps the devices named by id, name or MAC.
func filterBaseline(b *policy.Baseline, devs []string) *policy.Baseline {
	out := *b
	out.Devices = nil
	for _, d := range b.Devices {
		for _, want := range devs {
			if strings.EqualFold(want, d.ID) || strings.EqualFold(want, d.Name) || (d.MAC != "" && strings.EqualFold(want, d.MAC)) {
				out.Devices = append(out.Devices, d)
				break
			}
		}
	}
	return &out
}

// analyzePaths runs the engine on the given captures with the analysis
// flags (diff analyses two sides, so it cannot use buildReport).
func analyzePaths(c *cli.Context, paths []string) (*audit.Report, error) {
	cfg, err := engineConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.KeepFlows, cfg.KeepEvents = false, false
	inputs, skipped, err := engine.ExpandInputs(paths)
	cfg.InputWarnings = append(cfg.InputWarnings, skipped...)
	if err != nil {
		return nil, withCode(exitUsage, errors.New(strings.TrimPrefix(err.Error(), "input error: ")))
	}
	rep, err := engine.Run(c.Context, cfg, inputs)
	if errors.Is(err, engine.ErrDamaged) && !errors.Is(err, engine.ErrIncomplete) {
		return rep, withCode(exitDamaged, fmt.Errorf("%s: some input was damaged; the diff covers everything read before the damage", strings.Join(paths, ", ")))
	}
	return runOutcome(c, rep, err)
}

// guessWords says in words why two devices with different ids were paired.
func guessWords(p policy.Pairing) string {
	why := "their names agree"
	if p.By == "only-remaining" {
		why = "each was the only unpaired device on its side"
	}
	return fmt.Sprintf("compared old device %s with new device %s although their ids differ: %s", p.Old, p.New, why)
}

func writeDiff(w io.Writer, format, oldName, newName string, changes []policy.Change, guesses []policy.Pairing) error {
	added, removed := 0, 0
	for _, ch := range changes {
		if ch.Op == policy.Added {
			added++
		} else {
			removed++
		}
	}
	if changes == nil {
		changes = []policy.Change{}
	}
	bw := bufio.NewWriter(w)
	switch format {
	case "json":
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Old     string           `json:"old"`
			New     string           `json:"new"`
			Added   int              `json:"added"`
			Removed int              `json:"removed"`
			Guessed []policy.Pairing `json:"guessed_pairings,omitempty"`
			Changes []policy.Change  `json:"changes"`
		}{oldName, newName, added, removed, guesses, changes}); err != nil {
			return err
		}
	case "markdown":
		fmt.Fprintf(bw, "## phonehome diff\n\n%s → %s: %d added, %d removed\n", escape.MarkdownCode(oldName), escape.MarkdownCode(newName), added, removed)
		for _, g := range guesses {
			fmt.Fprintf(bw, "\n> **Note:** %s.\n", escape.Markdown(guessWords(g)))
		}
		dev := ""
		for _, ch := range changes {
			if ch.Device != dev {
				dev = ch.Device
				fmt.Fprintf(bw, "\n### %s\n\n| | Kind | Change |\n|---|---|---|\n", escape.Markdown(devLabel(ch.DeviceName, ch.Device)))
			}
			sign := "➕"
			if ch.Op == policy.Removed {
				sign = "➖"
			}
			fmt.Fprintf(bw, "| %s | %s | %s |\n", sign, ch.Kind, escape.Markdown(ch.Detail))
		}
	default:
		for _, g := range guesses {
			fmt.Fprintf(bw, "note: %s\n", escape.Terminal(guessWords(g)))
		}
		dev := ""
		for _, ch := range changes {
			if ch.Device != dev {
				dev = ch.Device
				fmt.Fprintf(bw, "%s:\n", escape.Terminal(devLabel(ch.DeviceName, ch.Device)))
			}
			sign := "+"
			if ch.Op == policy.Removed {
				sign = "-"
			}
			fmt.Fprintf(bw, "  %s %s %s\n", sign, ch.Kind, escape.Terminal(ch.Detail))
		}
		if len(changes) == 0 {
			fmt.Fprintln(bw, "no changes")
		} else {
			fmt.Fprintf(bw, "%d added, %d removed\n", added, removed)
		}
	}
	return bw.Flush()
}

func devLabel(name, id string) string {
	if name != "" && name != id {
		return name + " (" + id + ")"
	}
	return id
}
