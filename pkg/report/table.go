package report

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// ANSI SGR sequences used when Options.Color is set.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
)

func sevColor(s string) string {
	switch s {
	case "critical":
		return "\x1b[1;97;41m" // bold white on red
	case "high":
		return "\x1b[1;31m"
	case "medium":
		return "\x1b[33m"
	case "low":
		return "\x1b[36m"
	case "info":
		return "\x1b[2m"
	}
	return ""
}

// writeTable writes terminal tables: per device the selected tables, then
// the capture-wide tables and summary.
func writeTable(w io.Writer, r *audit.Report, opt Options) error {
	noWidthCache()
	out := &termWriter{w: w, opt: opt}
	sel := opt.tables()
	if sel[TableOverview] {
		out.grid(overviewGrid(r))
	}
	if sel[TableDevices] {
		out.grid(deviceGrid(r))
	}
	out.deviceSections(deviceOrder(r), tableWorkers())
	if sel[TableFlows] {
		out.streamGrid(flowCols(), len(r.Flows), func(i int) []cell { return flowRow(r.Flows[i]) })
	}
	out.grid(captureGrid(r))
	if len(r.Warnings) > 0 {
		out.grid(warningGrid(r))
	}
	return out.err
}

// noWidthCache turns off twwidth's width cache, once per process (it has
// no other user). The cache is one global LRU behind a mutex that every
// width measurement takes — tablewriter measures each cell several times
// — so the goroutines drawing tables contend for it, and a hit (hashing
// the string, moving a list entry) costs about what measuring a short cell
// does. Widths are the same either way. Every writer of a run writes the
// same format, so no twwidth call is under way when it is switched off.
var noWidthCache = sync.OnceFunc(func() { twwidth.SetCacheCapacity(0) })

// termWriter renders grids with tablewriter, remembering the first error.
type termWriter struct {
	w   io.Writer
	opt Options
	err error
	n   int // sections written, for blank-line separation
	tb  *tablewriter.Table
}

func (t *termWriter) printf(format string, a ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, a...)
	}
}

func (t *termWriter) style(s, sgr string) string {
	if !t.opt.Color || sgr == "" {
		return s
	}
	return sgr + s + ansiReset
}

func (t *termWriter) heading(title string, detail []string) {
	if t.n > 0 {
		t.printf("\n")
	}
	t.n++
	t.printf("%s\n", t.style(t.fit(escape.Terminal(title), 0), ansiBold))
	for _, d := range detail {
		t.printf("  %s\n", t.fit(escape.Terminal(d), 2))
	}
}

// fit truncates a free-text line to the terminal width less indent.
func (t *termWriter) fit(s string, indent int) string {
	if t.opt.Width <= 0 {
		return s
	}
	return truncate(s, max(t.opt.Width-indent, 1))
}

func (t *termWriter) grid(g grid) {
	if t.err != nil {
		return
	}
	t.n++
	t.printf("\n%s\n", t.style(g.Title, ansiBold))
	if len(g.Rows) == 0 {
		t.printf("  (%s)\n", g.Empty)
		return
	}
	// Escape every line, then fit the columns to the width. The lines of
	// all cells share one backing array (one allocation per grid, not one
	// per cell: a report's tables have millions of cells).
	head := make([][]string, len(g.Cols))
	names := make([]string, len(g.Cols))
	for i, c := range g.Cols {
		names[i] = c.Name
		head[i] = names[i : i+1 : i+1]
	}
	nlines := 0
	for _, row := range g.Rows {
		for j := range g.Cols {
			if j < len(row) && len(row[j].Lines) > 1 {
				nlines += len(row[j].Lines)
			} else {
				nlines++
			}
		}
	}
	flat := make([]string, 0, nlines)
	cells := make([][]string, len(g.Rows)*len(g.Cols))
	rows := make([][][]string, len(g.Rows))
	for i, row := range g.Rows {
		rows[i] = cells[i*len(g.Cols) : (i+1)*len(g.Cols) : (i+1)*len(g.Cols)]
		for j := range g.Cols {
			start := len(flat)
			if j < len(row) {
				for _, l := range row[j].Lines {
					flat = append(flat, escape.Terminal(l))
				}
			}
			if len(flat) == start {
				flat = append(flat, "")
			}
			rows[i][j] = flat[start:len(flat):len(flat)]
		}
	}
	all := g.Cols
	g, head, rows = dropColumns(g, head, rows, t.opt.Width)
	defer t.sayDropped(all, g.Cols)
	widths, _ := fitWidths(g.Cols, head, rows, t.opt.Width)
	aligns := make([]tw.Align, len(g.Cols))
	for i, c := range g.Cols {
		aligns[i] = tw.AlignLeft
		if c.Num {
			aligns[i] = tw.AlignRight
		}
	}
	// One Table per Write, reset per grid: NewTable allocates a large
	// stringer cache (unused: cells are strings) and Reset re-allocates it
	// unless it is replaced by noCache.
	align := tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns})
	if t.tb == nil {
		t.tb = tablewriter.NewTable(t.w,
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithHeaderAutoWrap(tw.WrapNone),
			tablewriter.WithRowAutoWrap(tw.WrapNone),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithTrimSpace(tw.Off),
			tablewriter.WithStringerCacheCustom(noCache{}),
			align,
		)
	} else {
		t.tb.Reset()
		t.tb.Options(align)
	}
	tb := t.tb
	hdr := make([]any, len(g.Cols))
	for i := range g.Cols {
		hdr[i] = truncate(head[i][0], widths[i])
	}
	tb.Header(hdr...)
	line := make([]string, len(rows)*len(g.Cols))
	var parts []string
	for i, row := range rows {
		out := line[i*len(g.Cols) : (i+1)*len(g.Cols) : (i+1)*len(g.Cols)]
		for j, lines := range row {
			sgr := ""
			if g.Cols[j].Sev {
				sgr = sevColor(g.Rows[i][j].text())
			}
			// Most cells are one line that fits: no wrapping, no joining.
			if len(lines) == 1 && (widths[j] <= 0 || textWidth(lines[0]) <= widths[j]) {
				out[j] = t.style(lines[0], sgr)
				continue
			}
			parts = parts[:0]
			for _, l := range lines {
				for _, part := range wrap(l, widths[j], maxWrapLines) {
					parts = append(parts, t.style(part, sgr))
				}
			}
			out[j] = strings.Join(parts, "\n")
		}
		if err := tb.Append(out); err != nil {
			t.err = fmt.Errorf("table %s: %w", g.ID, err)
			return
		}
	}
	if err := tb.Render(); err != nil {
		t.err = fmt.Errorf("table %s: %w", g.ID, err)
	}
}

// sayDropped notes under a table the columns hidden to fit the terminal.
func (t *termWriter) sayDropped(all, kept []col) {
	if len(all) == len(kept) || t.err != nil {
		return
	}
	var gone []string
	for _, c := range all {
		if !slices.ContainsFunc(kept, func(k col) bool { return k.Name == c.Name }) {
			gone = append(gone, c.Name)
		}
	}
	t.printf("  %s\n", t.fit("(hidden to fit the terminal: "+strings.Join(gone, ", ")+"; --format markdown shows all)", 2))
}

// minCol is the narrowest a text column is squeezed to before the table is
// allowed to overflow the terminal.
const minCol = 6

// textWidth is twwidth.Width with a fast path for printable ASCII, which is
// one cell per byte whatever twwidth's East Asian setting: almost every
// cell of a report, measured without twwidth's global, mutex-guarded cache.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return twwidth.Width(s)
		}
	}
	return len(s)
}

// fitWidths returns each column's width so that the rendered table
// (content + 3 per column + 1 for borders and padding) fits width. Columns
// shrink from the widest down (water-filling); numeric columns keep their
// natural width. width 0 means unlimited.
func fitWidths(cols []col, head [][]string, rows [][][]string, width int) (widths []int, level int) {
	nat := make([]int, len(cols))
	for j := range cols {
		for _, l := range head[j] {
			nat[j] = max(nat[j], textWidth(l))
		}
		for _, row := range rows {
			for _, l := range row[j] {
				nat[j] = max(nat[j], textWidth(l))
			}
		}
	}
	return fitNat(cols, nat, width)
}

// fitNat is fitWidths from each column's natural (widest) width.
func fitNat(cols []col, nat []int, width int) (widths []int, level int) {
	if width <= 0 {
		return nat, 1 << 30
	}
	avail := width - 3*len(cols) - 1
	total := func(c int) (sum int, w []int) {
		w = make([]int, len(nat))
		for j, n := range nat {
			w[j] = n
			if !cols[j].Num && !cols[j].Sev && n > c {
				w[j] = max(c, min(n, minCol))
			}
			sum += w[j]
		}
		return sum, w
	}
	if s, _ := total(1 << 30); s <= avail {
		return nat, 1 << 30
	}
	// Largest cap c such that the table fits; else the minimum.
	lo, hi := 1, 0
	for _, n := range nat {
		hi = max(hi, n)
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s, _ := total(mid); s <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	_, w := total(lo)
	return w, lo
}

// readableCol is the width below which text columns become hard to read:
// dropColumns hides optional columns rather than cut text below it.
const readableCol = 14

// dropColumns hides droppable columns (highest Drop first) while the
// width would squeeze text columns under readableCol.
func dropColumns(g grid, head [][]string, rows [][][]string, width int) (grid, [][]string, [][][]string) {
	for width > 0 {
		if _, level := fitWidths(g.Cols, head, rows, width); level >= readableCol {
			break
		}
		victim, rank := -1, 0
		for j, c := range g.Cols {
			if c.Drop > rank {
				victim, rank = j, c.Drop
			}
		}
		if victim < 0 {
			break
		}
		g.Cols = slices.Delete(slices.Clone(g.Cols), victim, victim+1)
		head = slices.Delete(head, victim, victim+1)
		for i := range rows {
			rows[i] = slices.Delete(rows[i], victim, victim+1)
		}
		gr := make([][]cell, len(g.Rows))
		for i, row := range g.Rows {
			gr[i] = slices.Delete(slices.Clone(row), victim, victim+1)
		}
		g.Rows = gr
	}
	return g, head, rows
}

// maxWrapLines is how many lines a squeezed cell may take before the rest
// is cut with "…".
const maxWrapLines = 3

// wrap breaks s into lines of at most width display cells, preferring to
// break after a separator (space . : > / , = &) in the last third of a
// line; past maxLines lines the text is cut with "…".
func wrap(s string, width, maxLines int) []string {
	if width <= 0 || textWidth(s) <= width {
		return []string{s}
	}
	var lines []string
	rest := []rune(s)
	for len(rest) > 0 {
		if len(lines) == maxLines-1 || textWidth(string(rest)) <= width {
			lines = append(lines, truncate(string(rest), width))
			break
		}
		used, cut, soft := 0, 0, -1
		for i, r := range rest {
			rw := textWidth(string(r))
			if used+rw > width {
				break
			}
			used += rw
			cut = i + 1
			if strings.ContainsRune(" .:>/,=&", r) && used*3 >= width*2 {
				soft = i + 1
			}
		}
		if soft > 0 {
			cut = soft
		}
		if cut == 0 {
			cut = 1
		}
		lines = append(lines, strings.TrimRight(string(rest[:cut]), " "))
		rest = []rune(strings.TrimLeft(string(rest[cut:]), " "))
	}
	return lines
}

// truncate cuts s to at most width display cells, ending with "…".
func truncate(s string, width int) string {
	if width <= 0 || textWidth(s) <= width {
		return s
	}
	if width == 1 {
		return "…"
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := textWidth(string(r))
		if used+rw > width-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	b.WriteString("…")
	return b.String()
}

// noCache is a no-op tablewriter stringer cache.
type noCache struct{}

func (noCache) Add(reflect.Type, reflect.Value) bool        { return false }
func (noCache) Get(reflect.Type) (v reflect.Value, ok bool) { return v, false }
func (noCache) Purge()                                      {}
