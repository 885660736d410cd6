package main

import (
	"github.com/urfave/cli/v2"
)

// flagCategories groups the flags in --help. Flags not listed here are shown
// under the command's own heading (urfave/cli lists uncategorised flags
// first).
var flagCategories = map[string]string{
	// What to read and what is known about the lab.
	"devices": "Lab", "lan": "Lab", "home-country": "Lab", "keys": "Lab",
	"signatures": "Data", "geoip-db": "Data", "asn-db": "Data",
	// What to print.
	"format": "Output", "output": "Output", "table": "Output", "group-by": "Output",
	"color": "Output", "no-color": "Output", "device": "Output", "min-severity": "Output",
	"category": "Output", "show-evidence": "Output",
	// Bounds on memory and time.
	"max-body": "Limits", "max-flows": "Limits", "max-buffer": "Limits", "max-total-buffer": "Limits",
	"max-records": "Limits", "idle-timeout": "Limits", "udp-idle-timeout": "Limits", "max-memory": "Limits",
	"max-record-size": "Limits",
	// Running.
	"no-progress": "Run", "cpuprofile": "Run", "memprofile": "Run", "jobs": "Run", "per-file": "Run",
	"shard": "Run",
}

// categorize sets the help category of every flag of cmd that
// flagCategories names.
func categorize(cmd *cli.Command) {
	for _, f := range cmd.Flags {
		names := f.Names()
		if len(names) == 0 {
			continue
		}
		cat, ok := flagCategories[names[0]]
		if !ok {
			continue
		}
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Category = cat
		case *cli.StringSliceFlag:
			f.Category = cat
		case *cli.BoolFlag:
			f.Category = cat
		case *cli.IntFlag:
			f.Category = cat
		case *cli.DurationFlag:
			f.Category = cat
		}
	}
}
