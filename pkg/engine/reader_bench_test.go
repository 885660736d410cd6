//go:build unix

package engine

import (
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/flow"
)

// BenchmarkReader is the engine's reader goroutine alone on a capture of
// the real-traffic bench (PHONEHOME_REAL_BENCH, as for flow's
// BenchmarkReadTrackReal; skipped when unset): reading, frame decoding
// and the dispatch into the goroutines' batches, which a drain hands back
// at once instead of running the workers.
func BenchmarkReader(b *testing.B) {
	path := realBench(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		const n = 2
		pl := &pool{free: make(chan *batch, (queued+2)*n), lan: newLANEvidence(), tcpDNS: newTCPDNS()}
		done := make(chan struct{})
		for g := 0; g < n; g++ {
			pl.groups = append(pl.groups, &group{})
			pl.in = append(pl.in, make(chan *batch, queued))
			pl.cur = append(pl.cur, nil)
			go func(ch chan *batch) {
				for bt := range ch {
					bt.pkts, bt.arena, bt.extra = bt.pkts[:0], bt.arena[:0], bt.extra[:0]
					select {
					case pl.free <- bt:
					default:
					}
				}
				done <- struct{}{}
			}(pl.in[g])
		}
		r, err := capture.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		d := flow.NewDecoder()
		d.OnARP = pl.lan.arp
		var fr capture.Frame
		for {
			if err := r.Next(&fr); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			d.Decode(fr.N, fr.CI.Timestamp, fr.CI.Length, fr.CI.CaptureLength, fr.Link, fr.Data, pl.dispatch)
		}
		r.Close()
		for g := range pl.groups {
			pl.send(g)
			close(pl.in[g])
		}
		for range pl.groups {
			<-done
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it says more than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
