package report

import (
	"slices"

	"github.com/phonehome/phonehome/pkg/escape"
)

// streamGrid draws a table of single-line cells, rows made one at a time by
// row(i) for i < n, exactly as grid draws it (a test checks the two, and
// tablewriter's Table layer, byte for byte): columns dropped and fitted to
// the width, cells wrapped onto up to maxWrapLines lines, the box drawn by
// tablewriter's renderer a line at a time. It makes each row three times —
// to measure the columns, to measure the wrapped lines, to draw it — and
// never holds more than one, so the flow table of --table flows costs no
// memory per row (tablewriter's Table layer keeps every row, padded, until
// Render).
func (t *termWriter) streamGrid(g grid, n int, row func(i int) []cell) {
	if t.err != nil {
		return
	}
	t.n++
	t.printf("\n%s\n", t.style(g.Title, ansiBold))
	if n == 0 {
		t.printf("  (%s)\n", g.Empty)
		return
	}
	cols := slices.Clone(g.Cols)
	keep := make([]int, len(cols)) // the row index of each shown column
	nat := make([]int, len(cols))
	for j, c := range cols {
		keep[j] = j
		nat[j] = textWidth(c.Name)
	}
	for i := range n {
		r := row(i)
		for j := range cols {
			if j < len(r) && len(r[j].Lines) > 0 {
				nat[j] = max(nat[j], textWidth(escape.Terminal(r[j].Lines[0])))
			}
		}
	}
	// As dropColumns: hide droppable columns while text would be squeezed.
	for t.opt.Width > 0 {
		if _, level := fitNat(cols, nat, t.opt.Width); level >= readableCol {
			break
		}
		victim, rank := -1, 0
		for j, c := range cols {
			if c.Drop > rank {
				victim, rank = j, c.Drop
			}
		}
		if victim < 0 {
			break
		}
		cols = slices.Delete(cols, victim, victim+1)
		nat = slices.Delete(nat, victim, victim+1)
		keep = slices.Delete(keep, victim, victim+1)
	}
	defer t.sayDropped(g.Cols, cols)
	widths, _ := fitNat(cols, nat, t.opt.Width)
	// A cell too wide for its column is wrapped onto up to maxWrapLines
	// lines, as grid does; the row is as tall as its tallest cell.
	// tablewriter sizes each column to what it finally holds: the wrapped
	// lines, which may all be narrower than the width they were fitted to.
	wrapped := func(dst []string, r []cell, j, k int) []string {
		l := ""
		if k < len(r) && len(r[k].Lines) > 0 {
			l = escape.Terminal(r[k].Lines[0])
		}
		return appendWrap(dst[:0], l, widths[j], maxWrapLines)
	}
	hdr := make([]string, len(cols))
	final := make([]int, len(cols))
	right := make([]bool, len(cols))
	for j, c := range cols {
		hdr[j] = truncate(c.Name, widths[j])
		final[j] = textWidth(hdr[j])
		right[j] = c.Num
	}
	cells := make([][]string, len(cols))
	for i := range n {
		r := row(i)
		for j, k := range keep {
			cells[j] = wrapped(cells[j], r, j, k)
			for _, l := range cells[j] {
				final[j] = max(final[j], textWidth(l))
			}
		}
	}
	// Rows may be drawn by several goroutines (drawRowsParallel): each
	// row drawn gets lines of its own.
	t.draw(hdr, final, right, n, func(i int) [][]string {
		r := row(i)
		cells := make([][]string, len(keep))
		for j, k := range keep {
			cells[j] = wrapped(nil, r, j, k)
		}
		return cells
	})
}
