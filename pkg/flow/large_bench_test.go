package flow

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/capture"
)

// BenchmarkReadTrackReassemble100MB reads a generated 100 MB mixed capture
// (fixtures/scenario.Large), decodes every frame, tracks flows and
// reassembles TCP, and reports MB/s and packets/s. The capture is written
// once to the OS temp dir and reused.
func BenchmarkReadTrackReassemble100MB(b *testing.B) {
	path := filepath.Join(os.TempDir(), "phonehome-bench-100MB.pcap")
	if st, err := os.Stat(path); err != nil || st.Size() < 100<<20 {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := scenario.Large(f, 100<<20, 1); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var frames uint64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := capture.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder()
		tab := NewTable(Config{}, discard{})
		var fr capture.Frame
		for {
			if err := r.Next(&fr); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			d.Decode(fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, tab.Add)
		}
		tab.Flush()
		frames += r.Frames()
		r.Close()
	}
	b.ReportMetric(float64(frames)/time.Since(start).Seconds(), "packets/s")
}

// BenchmarkReadTrackReal is BenchmarkReadTrackReassemble100MB on a
// capture of the real-traffic bench (PHONEHOME_REAL_BENCH=path to a file
// made by ../shared/bench/make-real-bench; skipped when unset), with the
// shard hash the engine's reader computes for every packet.
func BenchmarkReadTrackReal(b *testing.B) {
	path := realBench(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var sum uint64
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		r, err := capture.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder()
		tab := NewTable(Config{}, discard{})
		add := func(p *Packet) {
			sum += p.Hash()
			tab.Add(p)
		}
		var fr capture.Frame
		for {
			if err := r.Next(&fr); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			d.Decode(fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, add)
		}
		tab.Flush()
		r.Close()
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	_ = sum
}

// realBench is the capture of the real-traffic bench, PHONEHOME_REAL_BENCH
// (a file made by ../shared/bench/make-real-bench); the benchmark skips
// when it is unset.
func realBench(b *testing.B) string {
	path := os.Getenv("PHONEHOME_REAL_BENCH")
	if path == "" {
		b.Skip("PHONEHOME_REAL_BENCH not set: no real-traffic bench to read")
	}
	return path
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it says more than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeReal is the Decoder alone on frames of the real-traffic
// bench (PHONEHOME_REAL_BENCH; skipped when unset): runs of 64 frames from
// every 8192 (7 MiB of real-1G's), read into memory first, with an emit
// that only counts. An op is one pass over them with a new Decoder; the
// ns/frame metric is per frame.
func BenchmarkDecodeReal(b *testing.B) {
	path := realBench(b)
	r, err := capture.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var frames []capture.Frame
	for fr := (capture.Frame{}); r.Next(&fr) == nil; {
		if fr.N%8192 < 64 {
			fr.Data = append([]byte(nil), fr.Data...)
			frames = append(frames, fr)
		}
	}
	r.Close()
	var n int
	emit := func(p *Packet) { n += len(p.Payload) }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewDecoder()
		for j := range frames {
			fr := &frames[j]
			d.Decode(fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, emit)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}
