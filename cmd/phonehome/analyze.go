package main

import "github.com/urfave/cli/v2"

func analyzeCommand() *cli.Command {
	return &cli.Command{Name: "analyze", Usage: "analyse captures"}
}
