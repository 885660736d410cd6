package report

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// manyDevices is the fixture with its devices repeated under new IDs, so
// that the device sections outnumber the goroutines and their window.
func manyDevices(copies int) *audit.Report {
	r := hostileFixture()
	base := r.Devices
	r.Devices = nil
	for i := range copies {
		for _, d := range base {
			d.ID = fmt.Sprintf("%s-%03d", d.ID, i)
			d.Name = fmt.Sprintf("%s %d", d.Name, i)
			r.Devices = append(r.Devices, d)
		}
	}
	return r
}

// TestDeviceSectionsSameBytesWhateverWorkers: the terminal tables are the
// same bytes when device sections are drawn by 1, 2, 3 or 7 goroutines,
// running ahead of the writer by 1 byte to 32 MiB, for
// table selections with and without tables before the first section.
func TestDeviceSectionsSameBytesWhateverWorkers(t *testing.T) {
	defer func(f func() int, a int) { tableWorkers, aheadBytes = f, a }(tableWorkers, aheadBytes)
	r := manyDevices(40)
	opts := []Options{
		{},
		{Color: true, Width: 100},
		{Tables: []string{"destinations"}, GroupBy: "endpoint"},
		{Tables: []string{"overview", "leaks", "summary"}, Width: 80},
		{Tables: []string{"overview"}},
		{Tables: []string{"behaviour"}}, // devices without behaviour rows get no heading
	}
	for _, opt := range opts {
		var first []byte
		for _, c := range []struct{ n, ahead int }{{1, 0}, {2, 32 << 20}, {7, 32 << 20}, {3, 1}, {2, 8 << 10}} {
			n := c.n
			tableWorkers, aheadBytes = func() int { return n }, c.ahead
			got := render(t, r, opt)
			if first == nil {
				first = got
				continue
			}
			if !bytes.Equal(first, got) {
				t.Errorf("%+v: %d goroutines (%d bytes ahead) write other bytes than 1 (%d against %d bytes)", opt, n, c.ahead, len(got), len(first))
			}
		}
	}
}

type failAfter struct{ left int }

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n := f.left
		f.left = 0
		return n, errFull
	}
	f.left -= len(p)
	return len(p), nil
}

// TestDeviceSectionsWriteError: a failing writer stops the drawing
// goroutines and its error is returned (the test hangs if they are left
// waiting).
func TestDeviceSectionsWriteError(t *testing.T) {
	defer func(f func() int, a int) { tableWorkers, aheadBytes = f, a }(tableWorkers, aheadBytes)
	tableWorkers = func() int { return 3 }
	r := manyDevices(200)
	for _, limit := range []int{0, 100, 70 << 10, 300 << 10} {
		aheadBytes = limit / 2
		err := Write(&failAfter{left: limit}, r, Options{})
		if !errors.Is(err, errFull) {
			t.Errorf("writer failing after %d bytes: got %v, want %v", limit, err, errFull)
		}
	}
}

func BenchmarkWriteTableManyDevices(b *testing.B) {
	r := manyDevices(200)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// TestLargeTableSameBytesWhateverWorkers: a table of many rows drawn in
// pieces by 2, 3 or 7 goroutines, in pieces of 1 to 1,024 rows, is the
// same bytes as drawn whole by one, at several widths (wrapped cells make
// rows of several lines), with colours, and with the device sections drawn
// by one goroutine or several.
func TestLargeTableSameBytesWhateverWorkers(t *testing.T) {
	defer func(f, g func() int, c int) { tableWorkers, rowWorkers, rowChunk = f, g, c }(tableWorkers, rowWorkers, rowChunk)
	r := bigReport(3, 2500)
	r.Devices[1].Destinations = append(r.Devices[1].Destinations, hostileFixture().Devices[0].Destinations...)
	opts := []Options{
		{},
		{Color: true, Width: 100},
		{Width: 60},
		{Tables: []string{"destinations"}, GroupBy: "endpoint"},
		{Tables: []string{"destinations", "leaks"}, GroupBy: "country"},
	}
	for _, opt := range opts {
		tableWorkers, rowWorkers, rowChunk = func() int { return 1 }, func() int { return 1 }, 1024
		want := render(t, r, opt)
		for _, c := range []struct{ tables, rows, chunk int }{{1, 2, 1024}, {2, 2, 1024}, {1, 3, 7}, {2, 7, 1}, {3, 2, 100}} {
			tableWorkers, rowWorkers, rowChunk = func() int { return c.tables }, func() int { return c.rows }, c.chunk
			if got := render(t, r, opt); !bytes.Equal(got, want) {
				t.Errorf("%+v: rows drawn by %d goroutines %d at a time (sections by %d) are other bytes than by one (%d against %d bytes)", opt, c.rows, c.chunk, c.tables, len(got), len(want))
			}
		}
	}
}

// TestFlowTableSameBytesWhateverWorkers: the flow table (streamGrid), its
// rows drawn in pieces by several goroutines, is the same bytes as drawn
// whole by one (the goroutines once shared the lines of the row they drew).
func TestFlowTableSameBytesWhateverWorkers(t *testing.T) {
	defer func(g func() int, c int) { rowWorkers, rowChunk = g, c }(rowWorkers, rowChunk)
	r := flowReport(3000)
	for _, opt := range []Options{{Tables: []string{TableFlows}}, {Tables: []string{TableFlows}, Width: 90, Color: true}} {
		rowWorkers, rowChunk = func() int { return 1 }, 1024
		want := render(t, r, opt)
		for _, c := range []struct{ rows, chunk int }{{2, 1024}, {3, 7}, {7, 1}} {
			rowWorkers, rowChunk = func() int { return c.rows }, c.chunk
			if got := render(t, r, opt); !bytes.Equal(got, want) {
				t.Errorf("%+v: rows drawn by %d goroutines %d at a time are other bytes than by one (%d against %d bytes)", opt, c.rows, c.chunk, len(got), len(want))
			}
		}
	}
}

// TestLargeTableWriteError: a writer failing in the middle of a table
// drawn in pieces stops the drawing and its error is returned (the test
// hangs if a goroutine is left waiting).
func TestLargeTableWriteError(t *testing.T) {
	defer func(f, g func() int, c int) { tableWorkers, rowWorkers, rowChunk = f, g, c }(tableWorkers, rowWorkers, rowChunk)
	r := bigReport(2, 3000)
	for _, tables := range []int{1, 2} {
		tableWorkers, rowWorkers, rowChunk = func() int { return tables }, func() int { return 3 }, 10
		for _, limit := range []int{0, 5000, 100 << 10, 1 << 20} {
			err := Write(&failAfter{left: limit}, r, Options{})
			if !errors.Is(err, errFull) {
				t.Errorf("writer failing after %d bytes: got %v, want %v", limit, err, errFull)
			}
		}
	}
}
