package report

import (
	"io"
	"runtime"

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
// so that the other goroutines go on while a large table is drawn; the
// table being written goes out as it is drawn, not held whole.

// aheadBytes bounds the drawn tables waiting to be written.
var aheadBytes = 32 << 20

// tableWorkers is the number of goroutines drawing the devices' tables.
var tableWorkers = func() int { return runtime.GOMAXPROCS(0) }

// deviceSections writes each device's heading and selected tables, the
// tables drawn on up to workers goroutines (writeOrdered). A device none
// of whose tables is shown (only capture-wide tables were asked for) gets
// no heading.
func (t *termWriter) deviceSections(devs []*audit.Device, workers int) {
	makers := deviceTables(t.opt, false) // text: no sort keys
	n := len(devs) * len(makers)
	if t.err != nil || n == 0 {
		return
	}
	if workers = min(workers, n); workers <= 1 {
		for _, d := range devs {
			if t.err != nil {
				return
			}
			grids := makeGrids(d, makers)
			if len(grids) == 0 {
				continue
			}
			t.deviceHeading(d)
			for i, g := range grids {
				grids[i] = grid{} // not kept while it is drawn
				t.grid(g)
			}
		}
		return
	}
	headed := -1 // the last device whose heading was written
	t.err = writeOrdered(t.w, n, workers, aheadBytes, func() func(int, io.Writer) error {
		sub := &termWriter{opt: t.opt} // its box renderer takes w at each table
		return func(i int, out io.Writer) error {
			sub.w, sub.err = out, nil
			if g, shown := makers[i%len(makers)](devs[i/len(makers)]); shown {
				sub.grid(g)
			}
			return sub.err
		}
	}, func(i int) error {
		if d := i / len(makers); headed != d {
			t.deviceHeading(devs[d])
			headed = d
		}
		t.n++ // as grid counts itself
		return t.err
	})
}

// deviceHeading writes the heading of a device's section.
func (t *termWriter) deviceHeading(d *audit.Device) {
	title, detail := deviceHeading(d)
	t.heading("Device: "+title, detail)
}
