package engine

import (
	"os"
	"testing"

	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/signature"
)

// realBench is the capture of the real-traffic bench,
// PHONEHOME_REAL_BENCH (a file made by ../shared/bench/make-real-bench);
// the test or benchmark skips when it is unset.
func realBench(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("PHONEHOME_REAL_BENCH")
	if path == "" {
		tb.Skip("PHONEHOME_REAL_BENCH not set: no real-traffic bench")
	}
	return path
}

// genericConfig is the Config of the CLI without --devices: the generic
// detectors, the embedded geo data and the embedded signatures.
func genericConfig(tb testing.TB) Config {
	tb.Helper()
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := geo.Embedded()
	if err != nil {
		tb.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		tb.Fatal(err)
	}
	return Config{Scanner: sc, Geo: g, Signatures: sigs}
}
