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
	app.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return usageErr("%v (see --help)", err)
	}
	return app
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
