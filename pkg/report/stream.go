package report

import (
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// streamGrid draws a table of single-line cells, rows made one at a time by
// row(i) for i < n, in the same box style as tablewriter draws grid (a test
// checks the two byte for byte). It makes each row twice — once to measure
// the columns, once to draw it — and never holds more than one, so the flow
// table of --table flows costs no memory per row (tablewriter keeps every
// row, padded, until Render).
func (t *termWriter) streamGrid(g grid, n int, row func(i int) []cell) {
	if t.err != nil {
		return
	}
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
				nat[j] = max(nat[j], twwidth.Width(SafeTerminal(r[j].Lines[0])))
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
			s = truncate(s, widths[j])
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
	cells := make([]string, len(cols))
	for j, c := range cols {
		cells[j] = c.Name
	}
	border("┌", "┬", "┐")
	line(cells, func(int) bool { return false })
	border("├", "┼", "┤")
	for i := range n {
		r := row(i)
		for j, k := range keep {
			cells[j] = ""
			if k < len(r) && len(r[k].Lines) > 0 {
				cells[j] = SafeTerminal(r[k].Lines[0])
			}
		}
		line(cells, func(j int) bool { return cols[j].Num })
		if t.err != nil {
			return
		}
	}
	border("└", "┴", "┘")
}
