package report

import (
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/phonehome/phonehome/pkg/escape"
)

// streamGrid draws a table of single-line cells, rows made one at a time by
// row(i) for i < n, exactly as grid draws it with tablewriter (a test checks
// the two byte for byte): columns dropped and fitted to the width, cells
// wrapped onto up to maxWrapLines lines. It makes each row three times — to
// measure the columns, to measure the wrapped lines, to draw it — and never
// holds more than one, so the flow table of --table flows costs no memory
// per row (tablewriter keeps every row, padded, until Render).
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
		nat[j] = twwidth.Width(c.Name)
	}
	for i := range n {
		r := row(i)
		for j := range cols {
			if j < len(r) && len(r[j].Lines) > 0 {
				nat[j] = max(nat[j], twwidth.Width(escape.Terminal(r[j].Lines[0])))
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
	var b strings.Builder
	border := func(l, m, r string) {
		b.Reset()
		b.WriteString(l)
		for j, w := range widths {
			if j > 0 {
				b.WriteString(m)
			}
			b.WriteString(strings.Repeat("─", w+2))
		}
		b.WriteString(r)
		b.WriteByte('\n')
		t.printf("%s", b.String())
	}
	line := func(cells []string, right func(j int) bool) {
		b.Reset()
		b.WriteString("│")
		for j, s := range cells {
			pad := strings.Repeat(" ", max(widths[j]-twwidth.Width(s), 0))
			b.WriteByte(' ')
			if right(j) {
				b.WriteString(pad + s)
			} else {
				b.WriteString(s + pad)
			}
			b.WriteString(" │")
		}
		b.WriteByte('\n')
		t.printf("%s", b.String())
	}
	// A cell too wide for its column is wrapped onto up to maxWrapLines
	// lines, as grid does; the row is as tall as its tallest cell.
	row2 := func(cells [][]string, right func(j int) bool) {
		h := 1
		for _, c := range cells {
			h = max(h, len(c))
		}
		out := make([]string, len(cells))
		for k := range h {
			for j, c := range cells {
				out[j] = ""
				if k < len(c) {
					out[j] = c[k]
				}
			}
			line(out, right)
		}
	}
	// tablewriter sizes each column to what it finally holds: the wrapped
	// lines, which may all be narrower than the width they were fitted to.
	fit := widths
	wrapped := func(r []cell, j, k int) []string {
		l := ""
		if k < len(r) && len(r[k].Lines) > 0 {
			l = escape.Terminal(r[k].Lines[0])
		}
		return wrap(l, fit[j], maxWrapLines)
	}
	head := make([][]string, len(cols))
	final := make([]int, len(cols))
	for j, c := range cols {
		head[j] = []string{truncate(c.Name, fit[j])}
		final[j] = twwidth.Width(head[j][0])
	}
	for i := range n {
		r := row(i)
		for j, k := range keep {
			for _, l := range wrapped(r, j, k) {
				final[j] = max(final[j], twwidth.Width(l))
			}
		}
	}
	widths = final
	border("┌", "┬", "┐")
	row2(head, func(int) bool { return false })
	border("├", "┼", "┤")
	cells := make([][]string, len(cols))
	for i := range n {
		r := row(i)
		for j, k := range keep {
			cells[j] = wrapped(r, j, k)
		}
		row2(cells, func(j int) bool { return cols[j].Num })
		if t.err != nil {
			return
		}
	}
	border("└", "┴", "┘")
}
