package main

import (
	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/policy"
	"github.com/phonehome/phonehome/pkg/report"
)

func baselineCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the baseline to `FILE` instead of standard output"},
		deviceFlag(),
	}
	return &cli.Command{
		Name:      "baseline",
		Usage:     "record what an approved firmware does, for check --baseline and diff",
		ArgsUsage: "CAPTURE...",
		Description: `Analyses the captures like analyze (it takes the same flags) and writes, per
device, its destinations (name, domain, IPs, port, country, ASN, vendor,
channel), countries, vendors and leaks (identifier type, destination,
channel) as JSON. It holds no identifier values.

Examples:
   phonehome baseline --devices devices.yaml -o approved.json fw-1.0.pcap
   phonehome check --baseline approved.json fw-1.1.pcap
   phonehome diff approved.json fw-1.1.pcap

Exit codes: 0 written; 2 usage error or unreadable input; 3 damaged input (the
baseline covers only what was read); 4 the output could not be written (nothing left
under its name); 5 records lost or interrupted (the report is marked incomplete).`,
		Flags:  append(flags, analysisFlags()...),
		Action: runBaseline,
	}
}

func runBaseline(c *cli.Context) error {
	if err := checkOutputs(c.String("output")); err != nil {
		return err
	}
	rep, runErr := buildReport(c)
	if rep == nil {
		return runErr
	}
	if devs := c.StringSlice("device"); len(devs) > 0 {
		rep = report.Apply(rep, report.Filter{Devices: devs})
	}
	b := policy.NewBaseline(rep)
	if err := writeOutput(c, b.Write); err != nil {
		return err
	}
	return runErr
}
