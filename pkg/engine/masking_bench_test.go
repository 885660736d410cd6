package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/report"
)

// maskingBenchCapture writes (once) the case of issue 14: 10,000 distinct
// e-mail addresses leaked over HTTP and 200,000 DNS events.
func maskingBenchCapture(b *testing.B) string {
	path := filepath.Join(os.TempDir(), "phonehome-bench-masking-10k.pcap")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	c, err := craft.New(f, scenario.Start)
	if err != nil {
		b.Fatal(err)
	}
	srv := craft.NewHost("c0:25:e9:11:22:01", "198.51.100.7")
	dns := craft.NewHost("c0:25:e9:11:22:01", "192.168.1.1")
	for i := 0; i < 10_000; i++ {
		email := fmt.Sprintf("user%05d@example.org", i)
		c.Exchange(scenario.Phone, uint16(20000+i%40000), srv, 80,
			craft.HTTPRequest("GET", "api.example.net", "/v1/sync?email="+email, nil, nil),
			craft.HTTPResponse(204, "text/plain", nil))
		c.Advance(time.Millisecond)
	}
	for i := 0; i < 100_000; i++ {
		name := fmt.Sprintf("h%06d.cdn.example.com", i)
		port := uint16(30000 + i%30000)
		c.UDP(scenario.Phone, port, dns, 53, craft.DNSQuery(uint16(i), name, 0))
		c.UDP(dns, 53, scenario.Phone, port, craft.DNSAnswer(uint16(i), name, nil, "93.184.216.34"))
		c.Advance(time.Millisecond)
	}
	if err := c.Err(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkMaskingOutput runs the engine and writes the table, and the
// JSON (records spooled, as the CLI does), on 10,000 leaked e-mails and
// 200,000 DNS events: masking must cost O(output) (issue 14: the old
// replace pass took 193 s for json against 0.7 s for the table). json
// against json-show-evidence is what masking costs; json against table
// also includes writing the 200,000 events and 110,000 flow records.
func BenchmarkMaskingOutput(b *testing.B) {
	path := maskingBenchCapture(b)
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		opt  report.Options
	}{
		{"table", Config{Scanner: sc}, report.Options{Format: "table"}},
		{"json", Config{Scanner: sc, KeepFlows: true, KeepEvents: true, SpoolRecords: true}, report.Options{Format: "json"}},
		// The same without masking: what masking itself costs.
		{"json-show-evidence", Config{Scanner: sc, KeepFlows: true, KeepEvents: true, SpoolRecords: true, ShowEvidence: true}, report.Options{Format: "json"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				cfg := tc.cfg
				cfg.SpoolDir = b.TempDir()
				rep, err := Run(context.Background(), cfg, []string{path})
				if err != nil {
					b.Fatal(err)
				}
				if err := report.Write(io.Discard, rep, tc.opt); err != nil {
					b.Fatal(err)
				}
				if rep.Records != nil {
					rep.Records.Close()
				}
				if i == 0 {
					n := 0
					for _, d := range rep.Devices {
						n += len(d.Leaks)
					}
					b.ReportMetric(float64(n), "leaks")
				}
			}
		})
	}
}
