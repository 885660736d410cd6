package main

import "github.com/urfave/cli/v2"

// geoipCommand is owned by the geo work (issue 5); replaced there.
func geoipCommand() *cli.Command {
	return &cli.Command{Name: "geoip", Usage: "look up addresses in the geo/ASN data", Hidden: true}
}
