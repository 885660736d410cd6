package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/oui"
	"github.com/phonehome/phonehome/pkg/signature"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// run builds the CLI and runs it; it never calls os.Exit, so tests can drive
// it in-process with buffers.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, permuteArgs(app, args))
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "phonehome:") {
			msg = "phonehome: " + msg
		}
		fmt.Fprintln(stderr, msg)
	}
	return exitCode(err)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	// -v is --verbose where a command has it; the version is --version
	// or the version command.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app := &cli.App{
		Name:      "phonehome",
		Usage:     "offline privacy forensics of network captures",
		UsageText: "phonehome analyze [flags] CAPTURE...\nphonehome check --policy POLICY.yaml CAPTURE...",
		Description: "phonehome reads pcap/pcapng captures (plain, gzip or zstd) and reports, per device,\n" +
			"whom it talks to (name, country, network owner, vendor and purpose), how (TLS, QUIC,\n" +
			"plaintext) and which identifiers it gives away. It never uses the network.",
		Version:         version,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// Errors are returned to run(), which prints them and picks the
		// exit code; urfave/cli must not exit on its own.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			analyzeCommand(),
			signaturesCommand(),
			geoipCommand(),
			checkCommand(),
			baselineCommand(),
			diffCommand(),
			versionCommand(),
		},
	}
	app.Action = unknownCommand("phonehome", app.Commands)
	app.After = endProfiles // --cpuprofile and --memprofile end once the report is written
	// A bad flag prints its error and a one-line hint on stderr (run()
	// does the printing), never the whole help on stdout, where it would
	// end up inside a redirected report.
	forEachCommand(app.Commands, func(cmd *cli.Command, path string) {
		categorize(cmd)
		cmd.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
			return usageErr("%s: %v (phonehome %s --help lists its flags)", path, err, path)
		}
		if len(cmd.Subcommands) > 0 && cmd.Action == nil {
			cmd.Action = unknownCommand("phonehome "+path, cmd.Subcommands)
		}
	})
	app.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return usageErr("%v (phonehome --help lists the commands)", err)
	}
	return app
}

// forEachCommand calls fn on every command and subcommand with its path
// ("signatures lint").
func forEachCommand(cmds []*cli.Command, fn func(cmd *cli.Command, path string)) {
	var walk func(cmds []*cli.Command, prefix string)
	walk = func(cmds []*cli.Command, prefix string) {
		for _, cmd := range cmds {
			path := strings.TrimSpace(prefix + " " + cmd.Name)
			fn(cmd, path)
			walk(cmd.Subcommands, path)
		}
	}
	walk(cmds, "")
}

// unknownCommand is the action of a command that only has subcommands
// (and of the app itself): without arguments it shows the help, otherwise
// it names the mistake and the closest command.
func unknownCommand(path string, cmds []*cli.Command) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() == 0 {
			return cli.ShowSubcommandHelp(c)
		}
		name := c.Args().First()
		var names []string
		for _, cmd := range cmds {
			if !cmd.Hidden {
				names = append(names, cmd.Name)
			}
		}
		hint := path + " --help lists them"
		if best := closest(name, names); best != "" {
			hint = fmt.Sprintf("did you mean %q?", best)
		}
		return usageErr("unknown command %q for %s (commands: %s); %s", name, path, strings.Join(names, ", "), hint)
	}
}

// closest returns the candidate within two edits of s, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (adjacent swaps count
// one), enough to catch "analzye" and "chek".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and the embedded data versions",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintf(w, "phonehome %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			var sets []audit.DataSet
			if g, err := geo.Embedded(); err == nil {
				sets = append(sets, g.Sources()...)
			}
			if s, err := signature.LoadEmbedded(); err == nil {
				v, svc, p := s.Stats()
				sets = append(sets, audit.DataSet{Kind: "signatures", Source: fmt.Sprintf("embedded: %d vendors, %d services, %d domain patterns", v, svc, p), Version: s.Version()})
			}
			sets = append(sets, oui.Version())
			for _, d := range sets {
				fmt.Fprintf(w, "%-12s %s  %s\n", d.Kind, d.Version, d.Source)
			}
			return nil
		},
	}
}
