package main

import "github.com/urfave/cli/v2"

// signaturesCommand is owned by the signatures work (issue 4); replaced there.
func signaturesCommand() *cli.Command {
	return &cli.Command{Name: "signatures", Usage: "inspect and lint vendor signature packs", Hidden: true}
}
