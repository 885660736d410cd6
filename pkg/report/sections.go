package report

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
)

// The device sections of the terminal tables are most of the writing on a
// capture with many devices (real-1G: ~4,000 devices, 3–4 CPU seconds in
// tablewriter), and each depends on its device only. With more than one
// CPU they are drawn by several goroutines into buffers and written in
// device order, so the output is the same bytes whatever the number of
// goroutines. Drawing runs ahead of the writing by at most aheadBytes of
// drawn sections: one section can be most of the output (real-1G: the
// "other devices" aggregate is 45 % of the lines), and the other
// goroutines keep drawing the sections after it meanwhile.

// aheadBytes bounds the drawn sections waiting to be written.
var aheadBytes = 32 << 20

// tableWorkers is the number of goroutines drawing device sections.
var tableWorkers = func() int { return runtime.GOMAXPROCS(0) }

// deviceSection draws one device's heading and tables; false when none of
// its tables was selected (nothing written).
func (t *termWriter) deviceSection(d *audit.Device) bool {
	grids := deviceGrids(d, t.opt)
	if len(grids) == 0 {
		return false // only capture-wide tables were asked for
	}
	title, detail := deviceHeading(d)
	t.heading("Device: "+title, detail)
	for _, g := range grids {
		t.grid(g)
	}
	return true
}

// swapWriter forwards to w, which changes per section: a termWriter's
// tablewriter keeps the writer it was made with.
type swapWriter struct{ w io.Writer }

func (s *swapWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// deviceSections writes the devices' sections in order, drawing them on up
// to workers goroutines.
func (t *termWriter) deviceSections(devs []*audit.Device, workers int) {
	workers = min(workers, len(devs))
	if workers <= 1 {
		for _, d := range devs {
			if t.err != nil {
				return
			}
			t.deviceSection(d)
		}
		return
	}
	type section struct {
		buf   bytes.Buffer
		n     int // sections (heading, tables) drawn
		err   error
		drawn chan struct{}
	}
	secs := make([]section, len(devs))
	for i := range secs {
		secs[i].drawn = make(chan struct{})
	}
	var (
		mu      sync.Mutex
		room    = sync.NewCond(&mu)
		ahead   int  // bytes drawn and not yet written
		stopped bool // the writer failed
		next    int  // the next section to draw
		wg      sync.WaitGroup
	)
	// take waits for room and returns the next section to draw, or -1.
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		for ahead > aheadBytes && !stopped {
			room.Wait()
		}
		if stopped || next == len(secs) {
			return -1
		}
		next++
		return next - 1
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw := &swapWriter{}
			sub := &termWriter{w: sw, opt: t.opt}
			for i := take(); i >= 0; i = take() {
				s := &secs[i]
				sw.w = &s.buf
				// n > 0: the heading starts with the blank line that
				// separates it from what came before; dropped below when
				// nothing did.
				sub.n, sub.err = 1, nil
				if sub.deviceSection(devs[i]) {
					s.n = sub.n - 1
				}
				s.err = sub.err
				mu.Lock()
				ahead += s.buf.Len()
				mu.Unlock()
				close(s.drawn)
			}
		}()
	}
	for i := range secs {
		s := &secs[i]
		<-s.drawn
		if t.err == nil && s.n > 0 {
			b := s.buf.Bytes()
			if t.n == 0 {
				b = b[1:]
			}
			_, t.err = t.w.Write(b)
			t.n += s.n
		}
		if t.err == nil {
			t.err = s.err
		}
		mu.Lock()
		ahead -= s.buf.Len()
		stopped = t.err != nil
		room.Broadcast()
		mu.Unlock()
		s.buf = bytes.Buffer{}
		if stopped {
			break
		}
	}
	wg.Wait()
}
