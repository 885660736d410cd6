package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/olekukonko/ll"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
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
	n   int          // sections written, for blank-line separation
	box *boxRenderer // draws the tables, made on first use
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

// grid writes a table's title and the table (or its empty note), then the
// columns hidden to fit the terminal.
// The grid's cells are not kept while it is drawn: layout holds what is
// drawn (a device's destinations grid can be tens of megabytes).
func (t *termWriter) grid(g grid) {
	all := g.Cols
	if l, ok := t.layout(g); ok && len(l.hdr) > 0 {
		n := len(l.hdr)
		t.draw(l.hdr, l.width, l.right, len(l.cells)/n, func(i int) [][]string { return l.cells[i*n : (i+1)*n] })
		t.sayDropped(all, l.kept)
	}
}

// laidOut is a grid ready to draw: its header and cells escaped, wrapped
// and cut to fit the terminal, each column's display width (its widest
// line), which columns are right-aligned, and the columns kept.
type laidOut struct {
	hdr   []string
	cells [][]string // row after row, each cell's lines
	width []int
	right []bool
	kept  []col
}

// layout writes a grid's title and lays the grid out; ok is false when
// there is no table to draw (no rows, or an earlier error).
func (t *termWriter) layout(g grid) (l laidOut, ok bool) {
	if t.err != nil {
		return l, false
	}
	t.n++
	t.printf("\n%s\n", t.style(g.Title, ansiBold))
	if len(g.Rows) == 0 {
		t.printf("  (%s)\n", g.Empty)
		return l, false
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
	cols, head, rows, nat, keep := dropColumns(g.Cols, head, rows, t.opt.Width)
	widths, _ := fitNat(cols, nat, t.opt.Width)
	n := len(cols)
	l = laidOut{hdr: make([]string, n), width: make([]int, n), right: make([]bool, n), kept: cols}
	for j, c := range cols {
		l.right[j] = c.Num
		l.hdr[j] = truncate(head[j][0], widths[j])
		l.width[j] = textWidth(l.hdr[j])
	}
	// Each cell's lines as drawn: most cells are one line that fits (no
	// wrapping; the line stays where it is, in flat, coloured in place); a
	// column is as wide as its widest line, which may be narrower than the
	// width it was fitted to. With every column kept, cell k of the grid
	// is cell k drawn, so the array is reused.
	if n == len(g.Cols) {
		l.cells = cells
	} else {
		l.cells = make([][]string, len(rows)*n)
	}
	for i, row := range rows {
		for j, lines := range row {
			k := i*n + j
			sgr := ""
			if cols[j].Sev {
				sgr = sevColor(g.Rows[i][keep[j]].text())
			}
			if len(lines) == 1 {
				if w := textWidth(lines[0]); widths[j] <= 0 || w <= widths[j] {
					lines[0] = t.style(lines[0], sgr)
					l.cells[k] = lines
					l.width[j] = max(l.width[j], w)
					continue
				}
			}
			var parts []string
			for _, line := range lines {
				parts = appendWrap(parts, line, widths[j], maxWrapLines)
			}
			for p, part := range parts {
				l.width[j] = max(l.width[j], textWidth(part))
				parts[p] = t.style(part, sgr)
			}
			l.cells[k] = parts
		}
	}
	return l, true
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

// naturalWidths is each column's natural width: its widest line, header
// included.
func naturalWidths(head [][]string, rows [][][]string) []int {
	nat := make([]int, len(head))
	for j := range head {
		for _, l := range head[j] {
			nat[j] = max(nat[j], textWidth(l))
		}
	}
	for _, row := range rows {
		for j, lines := range row {
			for _, l := range lines {
				nat[j] = max(nat[j], textWidth(l))
			}
		}
	}
	return nat
}

// fitNat returns each column's width so that the rendered table (content
// + 3 per column + 1 for borders and padding) fits width, from each
// column's natural (widest) width. Columns shrink from the widest down
// (water-filling); numeric columns keep their natural width. width 0 means
// unlimited.
func fitNat(cols []col, nat []int, width int) (widths []int, level int) {
	if width <= 0 {
		return nat, 1 << 30
	}
	avail := width - 3*len(cols) - 1
	capped := func(j, c int) int {
		if n := nat[j]; !cols[j].Num && !cols[j].Sev && n > c {
			return max(c, min(n, minCol))
		}
		return nat[j]
	}
	total := func(c int) (sum int) {
		for j := range nat {
			sum += capped(j, c)
		}
		return sum
	}
	if total(1<<30) <= avail {
		return nat, 1 << 30
	}
	// Largest cap c such that the table fits; else the minimum.
	lo, hi := 1, 0
	for _, n := range nat {
		hi = max(hi, n)
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if total(mid) <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	w := make([]int, len(nat))
	for j := range nat {
		w[j] = capped(j, lo)
	}
	return w, lo
}

// readableCol is the width below which text columns become hard to read:
// dropColumns hides optional columns rather than cut text below it.
const readableCol = 14

// dropColumns hides droppable columns (highest Drop first) while the
// width would squeeze text columns under readableCol. It returns the
// columns kept, their headers, lines (rows' cells deleted in place) and
// natural widths, and each kept column's index in cols.
func dropColumns(cols []col, head [][]string, rows [][][]string, width int) (kept []col, _ [][]string, _ [][][]string, nat, keep []int) {
	nat = naturalWidths(head, rows)
	keep = make([]int, len(cols))
	for j := range keep {
		keep[j] = j
	}
	kept = cols
	for width > 0 {
		if _, level := fitNat(kept, nat, width); level >= readableCol {
			break
		}
		victim, rank := -1, 0
		for j, c := range kept {
			if c.Drop > rank {
				victim, rank = j, c.Drop
			}
		}
		if victim < 0 {
			break
		}
		kept = slices.Delete(slices.Clone(kept), victim, victim+1)
		head = slices.Delete(head, victim, victim+1)
		nat = slices.Delete(nat, victim, victim+1)
		keep = slices.Delete(keep, victim, victim+1)
		for i := range rows {
			rows[i] = slices.Delete(rows[i], victim, victim+1)
		}
	}
	return kept, head, rows, nat, keep
}

// maxWrapLines is how many lines a squeezed cell may take before the rest
// is cut with "…".
const maxWrapLines = 3

// wrap breaks s into lines of at most width display cells, preferring to
// break after a separator (space . : > / , = &) in the last third of a
// line; past maxLines lines the text is cut with "…".
func wrap(s string, width, maxLines int) []string {
	return appendWrap(nil, s, width, maxLines)
}

// wrapSeps are the characters wrap prefers to break after.
const wrapSeps = " .:>/,=&"

// appendWrap appends wrap's lines to dst.
func appendWrap(dst []string, s string, width, maxLines int) []string {
	if width <= 0 || textWidth(s) <= width {
		return append(dst, s)
	}
	if !printableASCII(s) {
		return append(dst, wrapRunes(s, width, maxLines)...)
	}
	// Printable ASCII, one cell per byte: wrapRunes on bytes, the lines
	// cut from s.
	for n := 0; len(s) > 0; n++ {
		if n == maxLines-1 || len(s) <= width {
			return append(dst, truncate(s, width))
		}
		cut, soft := min(width, len(s)), -1
		for i := range cut {
			if strings.IndexByte(wrapSeps, s[i]) >= 0 && (i+1)*3 >= width*2 {
				soft = i + 1
			}
		}
		if soft > 0 {
			cut = soft
		}
		dst = append(dst, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return dst
}

// wrapRunes is wrap for any text, measured rune by rune.
func wrapRunes(s string, width, maxLines int) []string {
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
			if strings.ContainsRune(wrapSeps, r) && used*3 >= width*2 {
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

// printableASCII reports whether s is printable ASCII only: one display
// cell per byte.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// truncate cuts s to at most width display cells, ending with "…".
func truncate(s string, width int) string {
	if width <= 0 || textWidth(s) <= width {
		return s
	}
	if width == 1 {
		return "…"
	}
	if printableASCII(s) {
		return s[:width-1] + "…"
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

// boxRenderer draws tables with one of tablewriter's renderers (Ocean,
// in the light box style of its default Blueprint) without tablewriter's
// Table layer: the layout above already knows every line of every cell
// and every column's width, which the Table layer works out again per
// line (cell contexts in maps, neighbouring lines, merges, widths measured
// again) — half of the cost of drawing through it. The renderer draws
// every byte. It is given, one call per line, the widths Table.Render
// gives it for our options (each column's widest line plus one space each
// side) and the top, header and bottom rules; the cells come without cell
// contexts, which the renderer draws left-aligned with one space of
// padding each side, so a right-aligned cell is given already aligned
// (alignRight) and a header cell already filled (fillLeft) — the bytes are
// the same, and no map of cell contexts is filled and looked up per cell.
// A box's rules and header are drawn once for each header and widths and
// kept (edges).
// Ocean draws the same bytes as Blueprint (the Table layer's renderer)
// with less work per cell; TestGridMatchesTablewriter and
// FuzzGridMatchesTablewriter compare it with the Table layer byte for
// byte. One boxRenderer per termWriter serves all its tables.
type boxRenderer struct {
	bp     *renderer.Ocean
	widths tw.Mapper[int, int] // as the renderer takes them: padding included
	width  []int               // each column's widest line
	line   []string
	out    stickyWriter

	edgeCache map[string]boxEdges // by edgeKey: the widths and header
	edgeBytes int                 // held in edgeCache
	edgeKey   []byte
	drawn     bytes.Buffer // edges as the renderer draws them
}

// stickyWriter remembers the first write error (the renderer does not return
// them) and writes nothing after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (e *stickyWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	var n int
	n, e.err = e.w.Write(p)
	return n, e.err
}

// newBoxRenderer makes the renderer: Ocean with the light box symbols, and
// a suspended logger as Table gives its renderer (the renderers' own
// loggers are only disabled, which still formats every debug message,
// several per cell, before dropping it; a suspended one returns first).
func newBoxRenderer() *boxRenderer {
	bp := renderer.NewOcean()
	bp.Rendition(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})
	bp.Logger(ll.New("phonehome").Disable().Suspend())
	return &boxRenderer{bp: bp, widths: tw.NewMapper[int, int]()}
}

// draw writes a box to t.w through tablewriter's renderer: the header
// hdr, then rows rows, row(i) giving each cell's lines of row i; width is
// each column's widest line, right which are right-aligned. A table of
// many rows (one device's destinations can be two thirds of a report) has
// its rows drawn in pieces by several goroutines (drawRowsParallel); row
// must then be safe to call from them.
func (t *termWriter) draw(hdr []string, width []int, right []bool, rows int, row func(i int) [][]string) {
	if t.err != nil {
		return
	}
	if t.box == nil {
		t.box = newBoxRenderer()
	}
	b := t.box
	if err := b.start(t.w, width); err != nil {
		t.err = err
		return
	}
	edges := b.edges(hdr, width)
	b.out.Write(edges.head)
	if w := rowWorkers(); w > 1 && rows >= 2*rowChunk && b.out.err == nil {
		t.drawRowsParallel(b, right, rows, row, w)
	} else {
		b.rows(right, 0, rows, rows, row)
	}
	b.out.Write(edges.foot)
	if err := b.bp.Close(); err != nil && t.err == nil {
		t.err = err
	}
	if t.err == nil {
		t.err = b.out.err
	}
	b.out = stickyWriter{}
}

// boxEdges are the lines a box begins and ends with, as the renderer
// draws them: the top rule, the header and the rule under it; the bottom
// rule.
type boxEdges struct{ head, foot []byte }

// maxEdgeBytes bounds the box edges a renderer keeps.
const maxEdgeBytes = 1 << 20

// edges returns the edges of the box b has started, with the header hdr
// and columns width wide. The renderer draws them once for each header
// and widths (a rule depends on the widths only, the header line on the
// header and the widths): real-1G's 3,607 tables have 601 different top
// rules, each drawn by a renderer call that costs several content lines.
func (b *boxRenderer) edges(hdr []string, width []int) boxEdges {
	key := b.edgeKey[:0]
	for j, h := range hdr {
		key = strconv.AppendInt(key, int64(width[j]), 10)
		key = append(key, ' ')
		key = append(key, h...)
		key = append(key, 0)
	}
	b.edgeKey = key
	if e, ok := b.edgeCache[string(key)]; ok {
		return e
	}
	out := b.out.w
	b.out.w = &b.drawn
	b.drawn.Reset()
	b.bp.Line(tw.Formatting{Row: tw.RowContext{Widths: b.widths, Position: tw.Header, Location: tw.LocationFirst}, Level: tw.LevelHeader})
	b.line = b.line[:0]
	for j, h := range hdr {
		b.line = append(b.line, fillLeft(h, width[j]))
	}
	b.bp.Header([][]string{b.line}, tw.Formatting{Row: tw.RowContext{Widths: b.widths, Position: tw.Header, Location: tw.LocationFirst}, Level: tw.LevelHeader, NormalizedWidths: b.widths})
	b.bp.Line(tw.Formatting{Row: tw.RowContext{Widths: b.widths, Position: tw.Header, Location: tw.LocationMiddle}, Level: tw.LevelBody})
	n := b.drawn.Len()
	b.bp.Line(tw.Formatting{Row: tw.RowContext{Widths: b.widths, Position: tw.Row, Location: tw.LocationEnd}, Level: tw.LevelFooter})
	b.out.w = out
	all := bytes.Clone(b.drawn.Bytes())
	e := boxEdges{head: all[:n:n], foot: all[n:]}
	if b.edgeBytes+len(all) <= maxEdgeBytes {
		if b.edgeCache == nil {
			b.edgeCache = map[string]boxEdges{}
		}
		b.edgeCache[string(key)] = e
		b.edgeBytes += len(all) + len(key)
	}
	return e
}

// start begins a box of columns width wide (their widest lines) on w.
func (b *boxRenderer) start(w io.Writer, width []int) error {
	clear(b.widths)
	b.width = width
	for j, n := range width {
		b.widths[j] = n + 2 // tw.PaddingDefault: a space each side
	}
	b.out = stickyWriter{w: w}
	return b.bp.Start(&b.out)
}

// rows draws rows from to to of a box of total rows (the renderer
// started), each line of a row a call: what Table.Render does for them.
func (b *boxRenderer) rows(right []bool, from, to, total int, row func(i int) [][]string) {
	for i := from; i < to; i++ {
		if b.out.err != nil {
			break
		}
		row := row(i)
		h := 1
		for _, c := range row {
			h = max(h, len(c))
		}
		for k := range h {
			if k > 0 && blankLine(row, k) {
				continue // tablewriter's TrimLine: a cell's blank later line is not drawn
			}
			b.line = b.line[:0]
			for j, c := range row {
				s := ""
				if k < len(c) {
					s = c[k]
				}
				if right[j] {
					s = alignRight(s, b.width[j])
				}
				b.line = append(b.line, s)
			}
			loc := tw.LocationMiddle
			if i == total-1 && k == h-1 {
				loc = tw.LocationEnd
			}
			b.bp.Row(b.line, tw.Formatting{Row: tw.RowContext{Widths: b.widths, Position: tw.Row, Location: loc}, Level: tw.LevelBody, IsSubRow: k > 0, NormalizedWidths: b.widths})
		}
	}
}

// rowChunk is how many rows a goroutine draws at a time in a table drawn
// in pieces (a table of fewer than two pieces is drawn whole).
var rowChunk = 1024

// rowWorkers is the number of goroutines drawing a large table's rows.
var rowWorkers = func() int { return runtime.GOMAXPROCS(0) }

// rowAheadBytes bounds the pieces of a table's rows (terminal or HTML)
// made and waiting to be written.
var rowAheadBytes = 4 << 20

// drawRowsParallel draws the rows of the box b has started on workers
// goroutines, rowChunk rows at a time, each with a renderer of its own
// (a content line depends only on the line and the widths, so the pieces
// are the bytes one renderer draws), written to b's writer in order
// (writeOrdered); after a write error nothing more is drawn.
func (t *termWriter) drawRowsParallel(b *boxRenderer, right []bool, rows int, row func(i int) [][]string, workers int) {
	n := (rows + rowChunk - 1) / rowChunk
	err := writeOrdered(&b.out, n, workers, rowAheadBytes, func() func(int, io.Writer) error {
		sub := newBoxRenderer()
		return func(i int, out io.Writer) error {
			from := i * rowChunk
			maps.Copy(sub.widths, b.widths)
			sub.width = b.width
			sub.out = stickyWriter{w: out}
			if err := sub.bp.Start(&sub.out); err != nil {
				return err
			}
			sub.rows(right, from, min(from+rowChunk, rows), rows, row)
			if err := sub.bp.Close(); err != nil {
				return err
			}
			return sub.out.err
		}
	}, nil)
	if b.out.err == nil {
		b.out.err = err
	}
}

// alignRight is s right-aligned in a cell w wide, as the renderer aligns
// it: blanks before it to fill the cell. An empty line stays empty (the
// renderer fills it with blanks either way; blankLine looks for it).
func alignRight(s string, w int) string {
	if n := w - textWidth(s); n > 0 && s != "" {
		return blanks(n) + s
	}
	return s
}

// fillLeft is s left-aligned in a cell w wide: blanks after it to fill the
// cell (a header cell is otherwise centred).
func fillLeft(s string, w int) string {
	if n := w - textWidth(s); n > 0 {
		return s + blanks(n)
	}
	return s
}

// blankRun is the blanks that blanks cuts from.
const blankRun = "                                                                "

// blanks is n spaces.
func blanks(n int) string {
	if n <= len(blankRun) {
		return blankRun[:n]
	}
	return strings.Repeat(" ", n)
}

// blankLine reports whether line k of a row is empty in every cell.
func blankLine(row [][]string, k int) bool {
	for _, c := range row {
		if k < len(c) && c[k] != "" {
			return false
		}
	}
	return true
}
