package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/adversarial"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
)

// The hostile tests run each capture of fixtures/adversarial through Run
// with a generous deadline (bounded time: a hang fails the test instead of
// the CI job) while sampling the heap (bounded memory), and check the
// warning or counter that says what was cut and that the canary exchange
// read before the hostile part is in the report. PHONEHOME_HEAVY=1 also
// runs the full-size cases (a million flows, a 1 GB body).

// hostileDeadline bounds every run; the cases take seconds.
const hostileDeadline = 3 * time.Minute

type hostileResult struct {
	rep     *audit.Report
	err     error
	peak    uint64 // peak heap in use during the run, above the heap before it
	elapsed time.Duration
	size    int64
}

// heapSampler records the peak of runtime.MemStats.HeapAlloc every few
// milliseconds until stopped.
type heapSampler struct {
	base, peak uint64
	stop       chan struct{}
	done       sync.WaitGroup
}

func sampleHeap() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := &heapSampler{base: ms.HeapAlloc, peak: ms.HeapAlloc, stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s.peak = max(s.peak, ms.HeapAlloc)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak growth of the heap.
func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	s.done.Wait()
	if s.peak < s.base {
		return 0
	}
	return s.peak - s.base
}

// writeCase writes a generated capture to a temporary file.
func writeCase(t testing.TB, name string, write func(io.Writer) error) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, st.Size()
}

func hostileConfig(t testing.TB) Config {
	t.Helper()
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return Config{KeepFlows: true, KeepEvents: true, Scanner: sc}
}

// runHostile generates the capture and analyses it under the deadline.
func runHostile(t testing.TB, name string, cfg Config, write func(io.Writer) error) hostileResult {
	t.Helper()
	path, size := writeCase(t, name, write)
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	hs := sampleHeap()
	start := time.Now()
	rep, err := Run(ctx, cfg, []string{path})
	r := hostileResult{rep: rep, err: err, elapsed: time.Since(start), peak: hs.Stop(), size: size}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: not finished within %v", name, hostileDeadline)
	}
	t.Logf("%s: %d bytes in %v, peak heap +%.1f MiB", name, size, r.elapsed.Round(time.Millisecond), float64(r.peak)/(1<<20))
	return r
}

func (r hostileResult) heapBelow(t testing.TB, limit uint64) {
	t.Helper()
	if r.peak > limit {
		t.Errorf("peak heap grew by %.1f MiB, want at most %.1f MiB", float64(r.peak)/(1<<20), float64(limit)/(1<<20))
	}
}

func (r hostileResult) warning(t testing.TB, code string) audit.Warning {
	t.Helper()
	if r.rep == nil {
		t.Fatalf("no report (err %v)", r.err)
	}
	for _, w := range r.rep.Warnings {
		if w.Code == code {
			return w
		}
	}
	var codes []string
	for _, w := range r.rep.Warnings {
		codes = append(codes, w.Code)
	}
	t.Errorf("no %q warning; warnings: %v", code, codes)
	return audit.Warning{}
}

// leakAt finds a leak of identifier id towards the destination name.
func (r hostileResult) leakAt(id, dest string) *audit.Leak {
	if r.rep == nil {
		return nil
	}
	for _, d := range r.rep.Devices {
		for i, l := range d.Leaks {
			if l.Identifier == id && l.Dest.Name == dest {
				return &d.Leaks[i]
			}
		}
	}
	return nil
}

// canaryKept checks that the exchange at the start of every adversarial
// capture made it into the report.
func (r hostileResult) canaryKept(t testing.TB) {
	t.Helper()
	if r.rep == nil {
		t.Fatalf("no report (err %v)", r.err)
	}
	if r.leakAt("imei", adversarial.CanaryHost) == nil {
		t.Errorf("the canary's IMEI leak to %s read before the hostile part is missing", adversarial.CanaryHost)
	}
}

func (r hostileResult) counter(name string) uint64 { return r.rep.Counters[name] }

func pick[T any](short, normal T) T {
	if testing.Short() {
		return short
	}
	return normal
}

func TestHostileHalfOpen(t *testing.T) {
	n := pick(5_000, 20_000)
	cfg := hostileConfig(t)
	cfg.Flow.MaxFlows = 1000
	cfg.MaxRecords = 2000
	r := runHostile(t, "half-open.pcap", cfg, func(w io.Writer) error { return adversarial.HalfOpen(w, n) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	if w := r.warning(t, "flow-cap"); w.Count < uint64(n-cfg.Flow.MaxFlows) {
		t.Errorf("flow-cap warning counts %d evictions, want at least %d", w.Count, n-cfg.Flow.MaxFlows)
	}
	if got := r.counter("flows_peak"); got > uint64(cfg.Flow.MaxFlows) {
		t.Errorf("%d flows live at once, cap %d", got, cfg.Flow.MaxFlows)
	}
	if got := r.counter("flows"); got != uint64(n+2) {
		t.Errorf("%d flows counted, want %d (the canary's two and one per SYN)", got, n+2)
	}
	if w := r.warning(t, "device-cap"); w.Count == 0 {
		t.Error("device-cap warning without a count")
	}
	if len(r.rep.Devices) > maxDevices+1 {
		t.Errorf("%d devices kept, cap %d", len(r.rep.Devices), maxDevices)
	}
	r.warning(t, "flow-record-cap")
	if len(r.rep.Flows) != cfg.MaxRecords {
		t.Errorf("%d flow records kept, want the cap %d", len(r.rep.Flows), cfg.MaxRecords)
	}
	r.heapBelow(t, 96<<20)
}

func TestHostileOverlap(t *testing.T) {
	n := pick(20_000, 100_000)
	r := runHostile(t, "overlap.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.Overlap(w, n, 1) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	r.warning(t, "reassembly-buffer-cap")
	if r.counter("tcp_out_of_order_segments") == 0 || r.counter("tcp_gap_bytes") == 0 {
		t.Errorf("counters: %d out of order segments, %d gap bytes; want both > 0", r.counter("tcp_out_of_order_segments"), r.counter("tcp_gap_bytes"))
	}
	if got := r.counter("tcp_peak_buffered_bytes"); got > 1<<20 {
		t.Errorf("%d bytes buffered at once, above the 1 MiB per-direction default", got)
	}
	r.heapBelow(t, 64<<20)
}

func TestHostileSnapCutReverse(t *testing.T) {
	n := pick(5_000, 20_000)
	r := runHostile(t, "snapcut.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.SnapCutReverse(w, n) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	r.warning(t, "reassembly-buffer-cap")
	if got := r.counter("tcp_out_of_order_segments"); got > uint64(n) || got == 0 {
		t.Errorf("%d segments buffered, want between 1 and %d", got, n)
	}
	if got := r.counter("tcp_gap_bytes"); got < uint64(n*100) {
		t.Errorf("%d gap bytes, want at least %d (every segment lost its payload)", got, n*100)
	}
	r.heapBelow(t, 64<<20)
}

func TestHostileBigBody(t *testing.T) {
	size := pick(int64(4<<20), 16<<20)
	r := runHostile(t, "big-body.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.BigBody(w, size) })
	checkBigBody(t, r)
	r.heapBelow(t, 64<<20)
}

func checkBigBody(t *testing.T, r hostileResult) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	if w := r.warning(t, "http-body-cap"); w.Count != 1 {
		t.Errorf("http-body-cap counts %d bodies, want 1", w.Count)
	}
	if r.leakAt("imei", adversarial.BigBodyHost) == nil {
		t.Error("the IMEI at the start of the big body was not found")
	}
	// The request after the body was decoded too: the parser skipped the
	// body without keeping it and found the next message.
	if got := r.counter("events_http"); got != 3 {
		t.Errorf("%d HTTP exchanges decoded, want 3 (canary, big body, request after it)", got)
	}
}

func TestHostileGzipBomb(t *testing.T) {
	size := pick(int64(16<<20), 64<<20)
	r := runHostile(t, "gzip-bomb.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.GzipBomb(w, size) })
	checkBomb(t, r)
	r.heapBelow(t, 96<<20)
}

func checkBomb(t *testing.T, r hostileResult) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	if w := r.warning(t, "http-decoded-cap"); w.Count != 2 {
		t.Errorf("http-decoded-cap counts %d bodies, want 2 (request and response)", w.Count)
	}
	// The HTTP decoder inflated the first 4 MiB: the scanner sees JSON.
	if l := r.leakAt("imei", adversarial.BombHost); l == nil || l.Location != "body.json:$.imei" {
		t.Errorf("IMEI inside the bomb's first bytes: got %+v, want one at body.json:$.imei", l)
	}
}

func TestHostileDNSLoops(t *testing.T) {
	r := runHostile(t, "dns-loops.pcap", hostileConfig(t), adversarial.DNSLoops)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	if got, want := r.counter("dns_malformed"), uint64(8); got != want {
		t.Errorf("%d malformed DNS messages counted, want %d", got, want)
	}
	// The lookup after the loops still names the connection to its answer.
	found := false
	for _, d := range r.rep.Devices {
		for _, ds := range d.Destinations {
			if ds.Name == adversarial.DNSAfterLoops && ds.NameSource == "dns" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no destination named %s from the DNS answer after the loops", adversarial.DNSAfterLoops)
	}
	r.heapBelow(t, 16<<20)
}

func TestHostileNestedBase64(t *testing.T) {
	// 50 deep: about 35 MB of body, cut at --max-body, decoding bounded
	// by the scanner's depth and size caps.
	r := runHostile(t, "base64-50.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.NestedBase64(w, 50) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	r.warning(t, "http-body-cap")
	r.heapBelow(t, 96<<20)
	// 3 deep is within the scanner's depth: the IMEI is found.
	r = runHostile(t, "base64-3.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.NestedBase64(w, 3) })
	if l := r.leakAt("imei", adversarial.NestedHost); l == nil || strings.Count(l.Encoding, "base64") != 3 {
		t.Errorf("IMEI under three base64 layers: got %+v", l)
	}
}

func TestHostileHugeBlocks(t *testing.T) {
	for _, v := range adversarial.HugeBlocks {
		t.Run(v, func(t *testing.T) {
			r := runHostile(t, v+".pcapng", hostileConfig(t), func(w io.Writer) error { return adversarial.HugeBlock(w, v) })
			r.canaryKept(t)
			r.heapBelow(t, 16<<20)
			if v == adversarial.HugeSnapEPB {
				if r.err != nil {
					t.Errorf("a packet longer than the snap length is read, not an error: %v", r.err)
				}
				if r.counter("events_dns") != 4 {
					t.Errorf("%d DNS messages, want 4 (the lookup after the long packet too)", r.counter("events_dns"))
				}
				return
			}
			if !errors.Is(r.err, ErrDamaged) {
				t.Fatalf("err = %v, want ErrDamaged", r.err)
			}
			if w := r.warning(t, "damaged-input"); w.Frame != r.rep.Inputs[0].Frames {
				t.Errorf("damage reported after frame %d, but %d frames were read", w.Frame, r.rep.Inputs[0].Frames)
			}
			if !r.rep.Incomplete {
				t.Error("report not marked incomplete")
			}
		})
	}
}

func TestHostileSnaplen(t *testing.T) {
	for _, snap := range []uint32{0, 0xffffffff} {
		t.Run(fmt.Sprint(snap), func(t *testing.T) {
			r := runHostile(t, "snaplen.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.Snaplen(w, snap) })
			if !errors.Is(r.err, ErrDamaged) {
				t.Fatalf("err = %v, want ErrDamaged (the last record claims more than the file holds)", r.err)
			}
			r.canaryKept(t)
			r.warning(t, "damaged-input")
			// The cut segments: 6 of each segment's bytes were captured,
			// the rest is reported as never captured.
			if r.counter("tcp_gap_bytes") == 0 {
				t.Error("no gap bytes for segments cut by the snap length")
			}
			r.heapBelow(t, 16<<20)
		})
	}
}

func TestHostileBackwards(t *testing.T) {
	n := pick(100, 400)
	r := runHostile(t, "backwards.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.Backwards(w, n) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	if w := r.warning(t, "time-backwards"); w.Count != uint64(adversarial.BackwardsCount(n)) {
		t.Errorf("time-backwards counts %d frames, want %d", w.Count, adversarial.BackwardsCount(n))
	}
	// Going back in time must not split or expire the connection.
	if got := r.counter("flows"); got != 3 {
		t.Errorf("%d flows, want 3 (one connection despite the clock)", got)
	}
	if got := r.counter("flows_timed_out"); got != 0 {
		t.Errorf("%d flows timed out", got)
	}
	if l := r.leakAt("imei", adversarial.BackwardsHost); l == nil || l.Count != n {
		t.Errorf("leak on the connection whose clock jumps: got %+v, want %d occurrences", l, n)
	}
}

// TestHostileTruncation cuts small captures at every offset: a file too
// short for its header is not a capture; every longer prefix gives a
// report with all the frames complete before the cut, and an error only
// when the cut falls inside a record.
func TestHostileTruncation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		write  func(io.Writer) error
		header int
	}{
		{"small.pcap", adversarial.Small, 24},
		{"small.pcapng", adversarial.SmallNG, 28 + 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			full := buf.Bytes()
			dir := t.TempDir()
			path := filepath.Join(dir, tc.name)
			cfg := hostileConfig(t)
			step := pick(7, 1)
			var prevFrames uint64
			hs := sampleHeap()
			ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
			defer cancel()
			for off := 0; off <= len(full); off += step {
				if off+step > len(full) {
					off = len(full)
				}
				if err := os.WriteFile(path, full[:off], 0o644); err != nil {
					t.Fatal(err)
				}
				rep, err := Run(ctx, cfg, []string{path})
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("offset %d: deadline", off)
				}
				if rep == nil {
					if off < tc.header && errors.Is(err, ErrInput) {
						continue // the file header is cut: not a capture
					}
					t.Fatalf("offset %d: no report (err %v)", off, err)
				}
				if err != nil && !errors.Is(err, ErrDamaged) {
					t.Fatalf("offset %d: err %v, want nil or ErrDamaged", off, err)
				}
				frames := rep.Inputs[0].Frames
				if frames < prevFrames {
					t.Fatalf("offset %d: %d frames, fewer than %d at a shorter cut", off, frames, prevFrames)
				}
				prevFrames = frames
				if errors.Is(err, ErrDamaged) && !rep.Incomplete {
					t.Fatalf("offset %d: damaged but not marked incomplete", off)
				}
				if off == len(full) {
					if err != nil {
						t.Fatalf("whole file: %v", err)
					}
					r := hostileResult{rep: rep}
					r.canaryKept(t)
				}
			}
			if prevFrames != 20 {
				t.Errorf("whole file: %d frames, want 20", prevFrames)
			}
			// The peak includes garbage of earlier runs not yet collected;
			// what matters is that no claimed length was allocated up front
			// and that nothing is retained from run to run.
			if peak := hs.Stop(); peak > 64<<20 {
				t.Errorf("peak heap grew by %.1f MiB over all cuts", float64(peak)/(1<<20))
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > hs.base+8<<20 {
				t.Errorf("%.1f MiB retained after all cuts", float64(ms.HeapAlloc-hs.base)/(1<<20))
			}
		})
	}
}

// TestHostileHeavy runs the full-size cases once: a million half-open
// flows at the default caps, 100,000 overlapping segments, a 1 GB body
// and a gzip body inflating to 1 GB. Set PHONEHOME_HEAVY=1 (several
// minutes; writes up to 1.1 GB to the temporary directory).
func TestHostileHeavy(t *testing.T) {
	if os.Getenv("PHONEHOME_HEAVY") == "" {
		t.Skip("set PHONEHOME_HEAVY=1 to run the full-size adversarial cases")
	}
	full := adversarial.Full()
	// As with --max-memory 512MiB: the caps keep live data below it.
	prev := debug.SetMemoryLimit(512 << 20)
	defer debug.SetMemoryLimit(prev)
	t.Run("half-open", func(t *testing.T) {
		r := runHostile(t, "half-open.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.HalfOpen(w, full.HalfOpen) })
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.canaryKept(t)
		r.warning(t, "flow-cap")
		r.warning(t, "device-cap")
		r.warning(t, "flow-record-cap")
		r.heapBelow(t, 512<<20)
	})
	t.Run("overlap", func(t *testing.T) {
		r := runHostile(t, "overlap.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.Overlap(w, full.Segments, 1) })
		r.canaryKept(t)
		r.warning(t, "reassembly-buffer-cap")
		r.heapBelow(t, 64<<20)
	})
	t.Run("big-body", func(t *testing.T) {
		r := runHostile(t, "big-body.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.BigBody(w, full.Body) })
		checkBigBody(t, r)
		r.heapBelow(t, 64<<20)
	})
	t.Run("gzip-bomb", func(t *testing.T) {
		r := runHostile(t, "gzip-bomb.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.GzipBomb(w, full.Bomb) })
		checkBomb(t, r)
		r.heapBelow(t, 96<<20)
	})
}

// BenchmarkHostile measures the pipeline on adversarial captures: bytes
// per second through a large skipped body, and flows per second through a
// SYN flood at a small flow cap.
func BenchmarkHostile(b *testing.B) {
	cases := []struct {
		name  string
		write func(io.Writer) error
		cfg   func(*Config)
	}{
		{"big-body-64MiB", func(w io.Writer) error { return adversarial.BigBody(w, 64<<20) }, nil},
		{"half-open-100k", func(w io.Writer) error { return adversarial.HalfOpen(w, 100_000) }, func(c *Config) { c.Flow.MaxFlows = 10_000 }},
		{"overlap-100k", func(w io.Writer) error { return adversarial.Overlap(w, 100_000, 1) }, nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			path, size := writeCase(b, bc.name+".pcap", bc.write)
			cfg := hostileConfig(b)
			if bc.cfg != nil {
				bc.cfg(&cfg)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(context.Background(), cfg, []string{path}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
