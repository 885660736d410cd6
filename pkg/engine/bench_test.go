package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

// benchCapture writes (once) a 100 MB mixed capture to the temp dir.
func benchCapture(b *testing.B) string {
	path := filepath.Join(os.TempDir(), "phonehome-bench-100MB.pcap")
	if st, err := os.Stat(path); err == nil && st.Size() >= 100<<20 {
		return path
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := scenario.Large(f, 100<<20, 1); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPipeline runs the whole engine on 100 MB without a leak scan and
// with one searching 50 known identifiers, to show what scanning costs.
func BenchmarkPipeline(b *testing.B) {
	path := benchCapture(b)
	st, _ := os.Stat(path)
	var devs []lab.Device
	for i := 0; i < 10; i++ {
		devs = append(devs, lab.Device{ID: fmt.Sprintf("d%d", i), Identifiers: []lab.Identifier{
			{Type: "imei", Value: fmt.Sprintf("35%013d", 1234567+i*7919)},
			{Type: "email", Value: fmt.Sprintf("user%d@example.org", i)},
			{Type: "android_id", Value: fmt.Sprintf("%016x", 0x1234abcd5678+i)},
			{Type: "advertising_id", Value: fmt.Sprintf("426672f0-0f0b-4cc5-aa43-cb92d841d8%02x", i)},
			{Type: "serial", Value: fmt.Sprintf("SN%08d", i*104729)},
		}})
	}
	sc, err := leak.NewScanner(devs, leak.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no-leak-scan", Config{}},
		{"leak-scan-50-identifiers", Config{Scanner: sc, Known: devs}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			for i := 0; i < b.N; i++ {
				if _, err := Run(context.Background(), tc.cfg, []string{path}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
