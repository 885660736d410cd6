package report

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// bigReport is n devices, each with the fixture's destinations repeated
// to destsPer rows, plus its leaks and findings.
func bigReport(n, destsPer int) *audit.Report {
	base := fixture()
	r := fixture()
	r.Devices = nil
	for i := range n {
		d := base.Devices[i%2]
		d.ID = fmt.Sprintf("mac:02:00:00:00:%02x:%02x", i/256, i%256)
		d.Name = fmt.Sprintf("device-%d", i)
		var dests []audit.Destination
		for j := range destsPer {
			x := base.Devices[i%2].Destinations[j%5]
			x.Name = fmt.Sprintf("host%d.%s", j, x.Domain)
			x.IP = fmt.Sprintf("198.18.%d.%d", j/256, j%256)
			dests = append(dests, x)
		}
		d.Destinations = dests
		r.Devices = append(r.Devices, d)
	}
	return r
}

func BenchmarkWrite(b *testing.B) {
	r := bigReport(20, 200)
	for _, f := range Formats() {
		b.Run(f, func(b *testing.B) {
			var n countWriter
			if err := Write(&n, r, Options{Format: f, Width: 160}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := Write(io.Discard, r, Options{Format: f, Width: 160}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func BenchmarkWriteSmall(b *testing.B) {
	r := smallFixture()
	for _, f := range Formats() {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, r, Options{Format: f, Width: 100, Tables: textTables}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// flowReport is the fixture with n flow records, as HTML and --table flows
// keep them (up to --max-records).
func flowReport(n int) *audit.Report {
	r := fixture()
	r.Flows = make([]audit.Flow, n)
	for i := range r.Flows {
		r.Flows[i] = audit.Flow{ID: uint64(i + 1), Transport: "tcp", Client: fmt.Sprintf("10.0.%d.%d:%d", i/65536%256, i/256%256, 40000+i%20000),
			Server: fmt.Sprintf("198.18.%d.%d:443", i/256%256, i%256), Device: "mac:02:00:00:00:00:01", PacketsUp: 12, PacketsDown: 20,
			BytesUp: 2400, BytesDown: 18000, FirstFrame: uint64(i*30 + 1), Protocol: "tls", Name: fmt.Sprintf("host%d.example.com", i%5000),
			NameSource: "sni", Channel: "TLS1.3", State: "closed"}
	}
	return r
}

// BenchmarkWriteFlows reports, for the formats that list flow records from
// memory, the bytes allocated per record and the heap held per record
// while the flow table is being written (sampled after a collection half
// way through the output, less the heap before writing).
func BenchmarkWriteFlows(b *testing.B) {
	const n = 20_000
	r := flowReport(n)
	for _, tc := range []struct {
		name string
		opt  Options
	}{{"html", Options{Format: "html"}}, {"table", Options{Format: "table", Width: 200, Tables: []string{TableFlows}}}} {
		b.Run(tc.name, func(b *testing.B) {
			var size countWriter
			if err := Write(&size, r, tc.opt); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			held := 0.0
			for b.Loop() {
				w := &sampler{at: int(size) / 2}
				if err := Write(w, r, tc.opt); err != nil {
					b.Fatal(err)
				}
				held = float64(int64(w.heap)-int64(ms0.HeapAlloc)) / n
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/n, "alloc-B/flow")
			b.ReportMetric(held, "held-B/flow")
		})
	}
}

// sampler discards what is written and, once at bytes have gone by, reads
// the live heap after a collection.
type sampler struct {
	n, at int
	heap  uint64
}

func (s *sampler) Write(p []byte) (int, error) {
	s.n += len(p)
	if s.heap == 0 && s.n >= s.at {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.heap = ms.HeapAlloc
	}
	return len(p), nil
}

// benchShapeReport is shaped like the real-256M bench's report: many small
// devices (two destinations each, no leaks), a few with the fixture's leaks
// and findings, and one device holding thousands of destinations (the
// "other devices" aggregate past the engine's device cap).
func benchShapeReport(small, big int) *audit.Report {
	r := bigReport(small, 2)
	for i := range r.Devices {
		if i%64 != 0 {
			r.Devices[i].Leaks, r.Devices[i].Findings = nil, nil
		}
	}
	other := bigReport(1, big).Devices[0]
	other.ID, other.Name = "other-devices", "other devices"
	r.Devices = append(r.Devices, other)
	return r
}

// BenchmarkTable writes the terminal table of a report shaped like
// real-256M's (4,096 small devices, one with 3,400 destinations): B/op and
// allocs/op are the CPU-independent figures; lines/op is the output's size.
func BenchmarkTable(b *testing.B) {
	r := benchShapeReport(4096, 3400)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"pipe", Options{Format: "table"}},
		{"w120-color", Options{Format: "table", Width: 120, Color: true}},
		{"markdown", Options{Format: "markdown"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var n lineCounter
			if err := Write(&n, r, tc.opt); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n.bytes))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := Write(io.Discard, r, tc.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n.lines), "lines/op")
		})
	}
}

type lineCounter struct{ bytes, lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += len(p)
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
