package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permuteArgs moves flags that follow positional arguments in front of
// them, so `phonehome analyze lab.pcap --format json` works: urfave/cli v2
// stops parsing flags at the first positional argument. A "--" ends the
// flags as usual.
func permuteArgs(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	var cmd *cli.Command
	i := 1
	for ; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			cmd = findCommand(app.Commands, args[i])
			break
		}
	}
	if cmd == nil {
		return args
	}
	// Descend into subcommands (signatures lint, geoip lookup...).
	for i+1 < len(args) {
		sub := findCommand(cmd.Subcommands, args[i+1])
		if sub == nil {
			break
		}
		cmd, i = sub, i+1
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	head := append([]string(nil), args[:i+1]...)
	var flags, pos []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && j+1 < len(rest) {
			flags = append(flags, rest[j+1])
			j++
		}
	}
	out := append(head, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
