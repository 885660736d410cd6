package main

import (
	"context"
	"github.com/urfave/cli/v2"
	"os"
)

func analyzeCommand() *cli.Command    { return &cli.Command{Name: "analyze"} }
func signaturesCommand() *cli.Command { return &cli.Command{Name: "signatures"} }
func main()                           { os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr)) }
