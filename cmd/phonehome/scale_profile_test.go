package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestScaleProfile measures how well --jobs 2 on two Ps uses them compared
// with --jobs 1 on one, in a way that survives a shared machine:
//
//   - cpu: the process's user+sys time (getrusage), the work done;
//   - busy: the share of P-time the Go scheduler had a goroutine to run
//     (1 - /cpu/classes/idle / /cpu/classes/total). The scheduler counts a
//     P busy while its goroutine runs, whether or not the kernel gives the
//     thread a core, so busy says whether phonehome keeps its Ps fed;
//     waiting on a descheduled goroutine (a stalled reader, for instance)
//     still shows as idle, which makes busy a lower bound.
//
// On dedicated cores, wall ≈ cpu / (GOMAXPROCS × busy), so the estimated
// speed-up of two cores over one is (cpu1 / busy1) / (cpu2 / (2 × busy2)).
// It runs only with PHONEHOME_SCALE_DIR, a directory of captures (see
// docs/scale.md for the one measured).
func TestScaleProfile(t *testing.T) {
	dir := os.Getenv("PHONEHOME_SCALE_DIR")
	if dir == "" {
		t.Skip("PHONEHOME_SCALE_DIR not set: no throughput profile")
	}
	type result struct{ wall, cpu, busy float64 }
	measure := func(procs int) result {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		runtime.GC()
		s := []metrics.Sample{{Name: "/cpu/classes/idle:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
		metrics.Read(s)
		idle0, total0 := s[0].Value.Float64(), s[1].Value.Float64()
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		start := time.Now()
		out := t.TempDir()
		_, errs, code := runCLI(t, "analyze", "--per-file", "--jobs", strconv.Itoa(procs), "-f", "json", "-o", out, dir)
		if code != 0 && code != exitPartial {
			t.Fatalf("exit %d: %s", code, errs)
		}
		wall := time.Since(start).Seconds()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		metrics.Read(s)
		idle, total := s[0].Value.Float64()-idle0, s[1].Value.Float64()-total0
		cpu := tv(ru1.Utime) + tv(ru1.Stime) - tv(ru0.Utime) - tv(ru0.Stime)
		return result{wall, cpu, 1 - idle/total}
	}
	for round := range 3 {
		one, two := measure(1), measure(2)
		est := (one.cpu / one.busy) / (two.cpu / (2 * two.busy))
		t.Logf("round %d: --jobs 1 on 1 P: wall %.1fs cpu %.2fs busy %.0f%%; --jobs 2 on 2 P: wall %.1fs cpu %.2fs busy %.0f%%; estimated speed-up on two free cores %.2fx (wall ratio here %.2fx)",
			round+1, one.wall, one.cpu, 100*one.busy, two.wall, two.cpu, 100*two.busy, est, one.wall/two.wall)
	}
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
