package report

import (
	"io"
	"runtime"
	"strconv"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// The parts of the HTML report written in Go rather than by the
// template: tables, device sections and charts. Each writes exactly what
// the template wrote for them before (the golden files and
// TestHTMLRowAsTemplate hold it), escaping every string as html/template
// does in HTML text, RCDATA (an SVG <title>) and quoted attribute values:
// one table for all three (appendHTMLEscaped). They are written to the
// page's writer between the template's parts (writeHTML).

// htmlw writes the Go-made parts to the page's writer: each part is
// appended to buf and written once it ends (a row, a table's heading, a
// device's heading), so that buf holds one of them at a time.
type htmlw struct {
	w   io.Writer
	buf []byte
	err error
}

// flush writes buf and empties it.
func (h *htmlw) flush() {
	if h.err == nil && len(h.buf) > 0 {
		_, h.err = h.w.Write(h.buf)
	}
	h.buf = h.buf[:0]
}

func (h *htmlw) str(s string) { h.buf = append(h.buf, s...) }

// grid writes a table with the given id ("": its own).
func (h *htmlw) grid(g grid, id string) {
	if id == "" {
		id = g.ID
	}
	h.table(g, id, len(g.Rows), func() {
		for _, row := range g.Rows {
			h.row(g.Cols, row)
			if h.err != nil {
				return
			}
		}
	})
}

// flowChunk is the number of flow rows one goroutine makes at a time.
const flowChunk = 2048

// flows writes the flow table, each row made from its record as it is
// written: with more than one CPU and more than one chunk of rows, the
// chunks are made by GOMAXPROCS goroutines, at most two per goroutine
// ahead of the writer, and written in order (real-1G: 178,596 rows, 0.5
// CPU seconds).
func (h *htmlw) flows(r *audit.Report) {
	g := flowCols()
	h.table(g, g.ID, len(r.Flows), func() {
		if workers := min(runtime.GOMAXPROCS(0), (len(r.Flows)+flowChunk-1)/flowChunk); workers > 1 {
			h.flowChunks(g.Cols, r.Flows, workers)
			return
		}
		for _, f := range r.Flows {
			h.row(g.Cols, flowRow(f))
			if h.err != nil {
				return
			}
		}
	})
}

// flowChunks writes the rows of flows, made in chunks of flowChunk by
// workers goroutines (writeOrdered); the bytes are those h.row writes one
// at a time.
func (h *htmlw) flowChunks(cols []col, flows []audit.Flow, workers int) {
	if h.err != nil {
		return
	}
	n := (len(flows) + flowChunk - 1) / flowChunk
	h.err = writeOrdered(h.w, n, workers, rowAheadBytes, func() func(int, io.Writer) error {
		var b []byte
		return func(i int, out io.Writer) error {
			b = b[:0]
			for _, f := range flows[i*flowChunk : min((i+1)*flowChunk, len(flows))] {
				b = append(b, '\n')
				b = appendHTMLRow(b, cols, flowRow(f))
			}
			_, err := out.Write(b)
			return err
		}
	}, nil)
}

// bigDests is the number of destinations from which a device's
// destinations table is made in pieces (destTable); a variable for tests.
var bigDests = 4096

// destChunk is the number of the table's rows made at a time.
const destChunk = 1024

// destTable writes the destinations table of a device with many
// destinations as destGrid makes it, destChunk rows at a time: the whole
// grid of real-1G's other-devices (49,483 rows of cells) was 37 MB, the
// largest thing alive while the page was written. The rows are groups
// (groupDests), in a total order (bytes up, bytes down, unique key), and
// a group's row depends only on its own destinations in their order, so
// destGrid on the destinations of consecutive groups makes exactly those
// rows.
func (h *htmlw) destTable(d *audit.Device, id, groupBy string) {
	groups := groupDests(d.Destinations, groupBy)
	members := make(map[string][]int32, len(groups))
	for i := range d.Destinations {
		k := groupKey(&d.Destinations[i], groupBy)
		members[k] = append(members[k], int32(i))
	}
	head := destGrid(&audit.Device{}, groupBy, true)
	h.table(head, id, len(groups), func() {
		var part audit.Device
		for from := 0; from < len(groups); from += destChunk {
			part.Destinations = part.Destinations[:0]
			for _, g := range groups[from:min(from+destChunk, len(groups))] {
				for _, i := range members[g.key] {
					part.Destinations = append(part.Destinations, d.Destinations[i])
				}
			}
			for _, row := range destGrid(&part, groupBy, true).Rows {
				h.row(head.Cols, row)
				if h.err != nil {
					return
				}
			}
		}
	})
}

func (h *htmlw) row(cols []col, row []cell) {
	h.buf = append(h.buf, '\n')
	h.buf = appendHTMLRow(h.buf, cols, row)
	h.flush()
}

// table writes a heading, then (when there are n > 0 rows) the table's
// head, the rows rows writes and its end, or else the line that says it
// is empty.
func (h *htmlw) table(g grid, id string, n int, rows func()) {
	b := append(h.buf, "\n<h3 id=\""...)
	b = appendHTMLEscaped(b, id)
	b = append(b, "\">"...)
	b = appendHTMLEscaped(b, g.Title)
	b = append(b, "</h3>"...)
	if n == 0 {
		b = append(b, "\n<p class=\"empty\">"...)
		b = appendHTMLEscaped(b, g.Empty)
		h.buf = append(b, "</p>"...)
		h.flush()
		return
	}
	b = append(b, "\n<div class=\"table-wrap\">\n<table class=\"data\" id=\""...)
	b = appendHTMLEscaped(b, id)
	b = append(b, "-table\" aria-label=\""...)
	b = appendHTMLEscaped(b, g.Title)
	b = append(b, "\">\n<thead><tr>"...)
	for _, c := range g.Cols {
		b = append(b, "<th"...)
		if c.Num {
			b = append(b, ` class="num"`...)
		}
		b = append(b, ` scope="col">`...)
		b = appendHTMLEscaped(b, c.Name)
		b = append(b, "</th>"...)
	}
	h.buf = append(b, "</tr></thead>\n<tbody>"...)
	h.flush()
	rows()
	h.str("\n</tbody>\n</table>\n</div>")
	h.flush()
}

// device writes one device's section: heading, details and charts, its
// tables, its end.
func (h *htmlw) device(d *audit.Device, anchor string, opt Options) {
	title, detail := deviceHeading(d)
	b := append(h.buf, "\n<section class=\"device\" id=\""...)
	b = appendHTMLEscaped(b, anchor)
	b = append(b, "\">\n<h2>Device: "...)
	b = appendHTMLEscaped(b, escape.Terminal(title))
	b = append(b, "</h2>"...)
	for _, l := range detail {
		b = append(b, "\n<p class=\"detail\">"...)
		b = appendHTMLEscaped(b, escape.Terminal(l))
		b = append(b, "</p>"...)
	}
	b = append(b, "\n<div class=\"charts\">"...)
	for _, c := range deviceCharts(d, anchor) {
		b = append(b, '\n')
		b = appendChart(b, &c)
	}
	h.buf = append(b, "\n</div>"...)
	tables := []string{TableDestinations, TableLeaks, TableFindings, TableBehaviour, TableSummary}
	if len(d.Destinations) >= bigDests {
		h.str("\n")
		h.destTable(d, anchor+"-destinations", opt.groupBy())
		tables = tables[1:]
	}
	for _, g := range deviceGrids(d, Options{Tables: tables, GroupBy: opt.GroupBy}) {
		h.str("\n")
		h.grid(g, anchor+"-"+g.ID)
		if h.err != nil {
			return
		}
	}
	h.str("\n</section>")
	h.flush()
}

// appendChart writes one bar chart as inline SVG.
func appendChart(b []byte, c *chart) []byte {
	b = append(b, "\n<figure class=\"chart\" id=\""...)
	b = appendHTMLEscaped(b, c.ID)
	b = append(b, "\">\n<figcaption>"...)
	b = appendHTMLEscaped(b, c.Title)
	b = append(b, "</figcaption>"...)
	if len(c.Bars) == 0 {
		return append(b, "\n<p class=\"empty\">no traffic</p>\n</figure>"...)
	}
	b = append(b, "\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\""...)
	b = appendHTMLEscaped(b, c.Title)
	b = append(b, `" width="`...)
	b = strconv.AppendInt(b, int64(c.Width), 10)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(c.Height), 10)
	b = append(b, `" viewBox="0 0 `...)
	b = strconv.AppendInt(b, int64(c.Width), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(c.Height), 10)
	b = append(b, `">`...)
	for i := range c.Bars {
		r := &c.Bars[i]
		b = append(b, "\n<g>\n<title>"...)
		b = appendHTMLEscaped(b, r.Tip)
		b = append(b, "</title>\n<text x=\"0\" y=\""...)
		b = strconv.AppendInt(b, int64(r.TextY), 10)
		b = append(b, `" font-size="12" fill="#1b1f24">`...)
		b = appendHTMLEscaped(b, r.Label)
		b = append(b, "</text>\n<rect x=\""...)
		b = strconv.AppendInt(b, int64(r.X), 10)
		b = append(b, `" y="`...)
		b = strconv.AppendInt(b, int64(r.Y), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendInt(b, int64(r.UpW), 10)
		b = append(b, `" height="`...)
		b = strconv.AppendInt(b, int64(r.H), 10)
		b = append(b, "\" fill=\"#b3261e\"></rect>\n<rect x=\""...)
		b = strconv.AppendInt(b, int64(r.DownX), 10)
		b = append(b, `" y="`...)
		b = strconv.AppendInt(b, int64(r.Y), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendInt(b, int64(r.DownW), 10)
		b = append(b, `" height="`...)
		b = strconv.AppendInt(b, int64(r.H), 10)
		b = append(b, "\" fill=\"#f2a39b\"></rect>\n<text x=\""...)
		b = strconv.AppendInt(b, int64(r.ValueX), 10)
		b = append(b, `" y="`...)
		b = strconv.AppendInt(b, int64(r.TextY), 10)
		b = append(b, `" font-size="11" fill="#57606a">`...)
		b = appendHTMLEscaped(b, r.Value)
		b = append(b, "</text>\n</g>"...)
	}
	return append(b, "\n</svg>\n<div class=\"legend\"><span class=\"up\"></span> sent <span class=\"down\"></span> received</div>\n</figure>"...)
}

// appendHTMLRow writes one table row as the grid template wrote it
// before rows were made here (byte for byte: TestHTMLRowAsTemplate):
// each cell's class (from its column), sort key and title as quoted
// attributes, its lines joined by <br>; every captured string through
// escape.Terminal (a browser would render U+202E reversed) and then
// escaped as html/template escapes text and attribute values.
func appendHTMLRow(b []byte, cols []col, row []cell) []byte {
	b = append(b, "<tr>"...)
	for j, c := range row {
		b = append(b, "<td"...)
		if j < len(cols) {
			switch {
			case cols[j].Sev:
				b = append(b, ` class="sev sev-`...)
				b = appendHTMLEscaped(b, sevClass(c.text()))
				b = append(b, '"')
			case cols[j].Num:
				b = append(b, ` class="num"`...)
			}
		}
		if c.Key != "" {
			b = append(b, ` data-key="`...)
			b = appendHTMLEscaped(b, c.Key)
			b = append(b, '"')
		}
		if c.Title != "" {
			b = append(b, ` title="`...)
			b = appendHTMLEscaped(b, c.Title)
			b = append(b, '"')
		}
		b = append(b, '>')
		for k, l := range c.Lines {
			if k > 0 {
				b = append(b, "<br>"...)
			}
			b = appendHTMLEscaped(b, escape.Terminal(l))
		}
		b = append(b, "</td>"...)
	}
	return append(b, "</tr>"...)
}

// appendHTMLEscaped appends s escaped as html/template escapes a string
// in HTML text, RCDATA and a quoted attribute value (its
// htmlReplacementTable: NUL, ", &, ', +, < and >). Every byte it replaces
// is ASCII, so working on bytes gives what html/template's rune loop
// gives, for invalid UTF-8 too.
func appendHTMLEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case 0:
			r = "\uFFFD"
		case '"':
			r = "&#34;"
		case '&':
			r = "&amp;"
		case '\'':
			r = "&#39;"
		case '+':
			r = "&#43;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, r...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
