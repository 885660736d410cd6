package flow

import (
	"io"
	"os"
	"path/filepath"
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
