package report

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
)

// The devices' tables are most of the terminal output on a capture with
// many devices (real-1G: ~1,700 devices, 3–4 CPU seconds in tablewriter
// after the analysis), and each depends on its device only. With more than
// one CPU they are drawn by several goroutines into buffers and written in
// order, so the output is the same bytes whatever the number of goroutines.
// The unit of work is one table, not one device: one device can be most of
// the output (real-1G: the "other devices" aggregate is 45 % of the lines).
// Drawing runs ahead of the writing by at most aheadBytes of drawn tables,
// so that the other goroutines go on while a large table is drawn.

// aheadBytes bounds the drawn tables waiting to be written.
var aheadBytes = 32 << 20

// tableWorkers is the number of goroutines drawing the devices' tables.
var tableWorkers = func() int { return runtime.GOMAXPROCS(0) }

// swapWriter forwards to w, which changes per table: a termWriter's
// tablewriter keeps the writer it was made with.
type swapWriter struct{ w io.Writer }

func (s *swapWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// deviceSections writes each device's heading and selected tables, the
// tables drawn on up to workers goroutines. A device none of whose tables
// is shown (only capture-wide tables were asked for) gets no heading.
func (t *termWriter) deviceSections(devs []*audit.Device, workers int) {
	makers := deviceTables(t.opt, false) // text: no sort keys
	type table struct {
		dev   int
		make  func(*audit.Device) (grid, bool)
		buf   *bytes.Buffer
		shown bool
		err   error
		drawn chan struct{}
	}
	tabs := make([]table, 0, len(devs)*len(makers))
	for i := range devs {
		for _, mk := range makers {
			tabs = append(tabs, table{dev: i, make: mk})
		}
	}
	workers = min(workers, len(tabs))
	if workers <= 1 {
		for _, d := range devs {
			if t.err != nil {
				return
			}
			grids := makeGrids(d, makers)
			if len(grids) == 0 {
				continue
			}
			t.deviceHeading(d)
			for _, g := range grids {
				t.grid(g)
			}
		}
		return
	}
	for i := range tabs {
		tabs[i].drawn = make(chan struct{})
	}
	var (
		mu      sync.Mutex
		room    = sync.NewCond(&mu)
		ahead   int             // bytes drawn and not yet written
		stopped bool            // the writer failed
		next    int             // the next table to draw
		free    []*bytes.Buffer // written tables' buffers, for reuse
		wg      sync.WaitGroup
	)
	// take waits for room and returns the next table to draw, or -1,
	// giving it a buffer.
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		for ahead > aheadBytes && !stopped {
			room.Wait()
		}
		if stopped || next == len(tabs) {
			return -1
		}
		tb := &tabs[next]
		if n := len(free); n > 0 {
			tb.buf, free = free[n-1], free[:n-1]
		} else {
			tb.buf = new(bytes.Buffer)
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
				tb := &tabs[i]
				sw.w, sub.err = tb.buf, nil
				var g grid
				if g, tb.shown = tb.make(devs[tb.dev]); tb.shown {
					sub.grid(g)
				}
				tb.err = sub.err
				mu.Lock()
				ahead += tb.buf.Len()
				mu.Unlock()
				close(tb.drawn)
			}
		}()
	}
	headed := -1 // the last device whose heading was written
	for i := range tabs {
		tb := &tabs[i]
		<-tb.drawn
		if t.err == nil && tb.shown {
			if headed != tb.dev {
				t.deviceHeading(devs[tb.dev])
				headed = tb.dev
			}
			if t.err == nil {
				_, t.err = t.w.Write(tb.buf.Bytes())
				t.n++ // as grid counts itself
			}
		}
		if t.err == nil {
			t.err = tb.err
		}
		mu.Lock()
		ahead -= tb.buf.Len()
		stopped = t.err != nil
		tb.buf.Reset()
		free = append(free, tb.buf)
		tb.buf = nil
		room.Broadcast()
		mu.Unlock()
		if stopped {
			break
		}
	}
	wg.Wait()
}

// deviceHeading writes the heading of a device's section.
func (t *termWriter) deviceHeading(d *audit.Device) {
	title, detail := deviceHeading(d)
	t.heading("Device: "+title, detail)
}
