package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"iter"
	"strconv"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

//go:embed assets/report.html.tmpl assets/report.css assets/report.js
var assets embed.FS

// htmlPage is the view model of the HTML report.
type htmlPage struct {
	CSP        string
	Title      string
	Meta       []string
	Incomplete bool
	CSS        template.CSS // trusted: embedded file, hashed into CSP
	JS         template.JS  // trusted: embedded file, hashed into CSP
	Overview   htmlGrid
	Matrix     leakMatrix
	Flowmap    flowmap
	Inventory  htmlGrid
	Devices    []htmlDevice
	Capture    htmlGrid
	Warnings   *htmlGrid
	Flows      htmlGrid
	FlowCount  int
}

type htmlDevice struct {
	Anchor string
	Title  string
	Detail []string
	Charts []chart
	Grids  []htmlGrid
}

// htmlGrid is a table for the template. Rows yields each row once, made
// as the template reaches it (a row is valid until the next one), so the
// flow table, up to --max-records rows, is never held as cells.
type htmlGrid struct {
	ID    string
	Title string
	Cols  []col
	Rows  iter.Seq[[]htmlCell]
	NRows int
	Empty string
}

// htmlCell is flat (no embedded struct): text/template resolves promoted
// fields by a slow reflective search.
type htmlCell struct {
	Lines []string
	Key   string
	Title string
	Class string
}

// writeHTML writes one self-contained page: embedded CSS and JS (allowed by
// their SHA-256 in a strict Content-Security-Policy), tables per device and
// server-side SVG charts. Captured strings are escaped by html/template,
// after escape.Terminal has made control and bidi characters visible.
func writeHTML(w io.Writer, r *audit.Report, opt Options) error {
	tmplText, err := assets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		return err
	}
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return err
	}
	t, err := template.New("report").Parse(string(tmplText))
	if err != nil {
		return err
	}
	name := r.Tool.Name
	if name == "" {
		name = "phonehome"
	}
	p := htmlPage{
		CSP: "default-src 'none'; style-src " + cspHash(css) + "; script-src " + cspHash(js) +
			"; img-src 'none'; base-uri 'none'; form-action 'none'",
		Title:      name + " report",
		Incomplete: r.Incomplete,
		CSS:        template.CSS(css),
		JS:         template.JS(js),
		Overview:   toHTML(overviewGrid(r)),
		Matrix:     newLeakMatrix(r),
		Flowmap:    flowMap(r),
		Inventory:  toHTML(deviceGrid(r)),
		Capture:    toHTML(captureGrid(r)),
		Flows:      flowsHTML(r),
		FlowCount:  len(r.Flows),
	}
	for _, in := range r.Inputs {
		line := in.Path + " (" + in.Format + ", " + u64(in.Frames) + " frames"
		if !in.First.IsZero() {
			line += ", " + fmtTimeShort(in.First) + " – " + fmtTimeShort(in.Last)
		}
		p.Meta = append(p.Meta, escape.Terminal(line+")"))
	}
	if r.Tool.Version != "" {
		p.Meta = append(p.Meta, name+" "+r.Tool.Version+", schema "+r.SchemaVersion)
	}
	if len(r.Warnings) > 0 {
		g := toHTML(warningGrid(r))
		p.Warnings = &g
	}
	for i, d := range deviceOrder(r) {
		title, detail := deviceHeading(d)
		hd := htmlDevice{Anchor: "device-" + strconv.Itoa(i+1), Title: escape.Terminal(title)}
		for _, l := range detail {
			hd.Detail = append(hd.Detail, escape.Terminal(l))
		}
		hd.Charts = deviceCharts(d, hd.Anchor)
		for _, g := range deviceGrids(d, Options{Tables: []string{TableDestinations, TableLeaks, TableFindings, TableBehaviour, TableSummary}, GroupBy: opt.GroupBy}) {
			hg := toHTML(g)
			hg.ID = hd.Anchor + "-" + g.ID
			hd.Grids = append(hd.Grids, hg)
		}
		p.Devices = append(p.Devices, hd)
	}
	return t.Execute(w, p)
}

// cspHash is the CSP source expression allowing exactly this inline body.
func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func toHTML(g grid) htmlGrid {
	h := htmlGrid{ID: g.ID, Title: g.Title, Cols: g.Cols, Empty: g.Empty, NRows: len(g.Rows)}
	h.Rows = func(yield func([]htmlCell) bool) {
		var buf []htmlCell
		for _, row := range g.Rows {
			buf = htmlRow(buf, g.Cols, row)
			if !yield(buf) {
				return
			}
		}
	}
	return h
}

// flowsHTML streams the flow table: each row is made from its record when
// the template writes it.
func flowsHTML(r *audit.Report) htmlGrid {
	g := flowCols()
	h := htmlGrid{ID: g.ID, Title: g.Title, Cols: g.Cols, Empty: g.Empty, NRows: len(r.Flows)}
	h.Rows = func(yield func([]htmlCell) bool) {
		var buf []htmlCell
		for _, f := range r.Flows {
			buf = htmlRow(buf, g.Cols, flowRow(f))
			if !yield(buf) {
				return
			}
		}
	}
	return h
}

// htmlRow converts one row into buf (reused: the template is done with a
// row before it asks for the next).
func htmlRow(buf []htmlCell, cols []col, row []cell) []htmlCell {
	buf = buf[:0]
	for j, c := range row {
		// Control and bidi characters are shown as escapes in
		// HTML too: a browser would render U+202E reversed.
		lines := make([]string, len(c.Lines))
		for k, l := range c.Lines {
			lines[k] = escape.Terminal(l)
		}
		hc := htmlCell{Lines: lines, Key: c.Key, Title: c.Title}
		if j < len(cols) {
			switch {
			case cols[j].Sev:
				hc.Class = "sev sev-" + sevClass(c.text())
			case cols[j].Num:
				hc.Class = "num"
			}
		}
		buf = append(buf, hc)
	}
	return buf
}

// sevClass maps a severity name to a CSS class suffix (never raw input).
func sevClass(s string) string {
	if v, err := audit.ParseSeverity(s); err == nil {
		return v.String()
	}
	return "none"
}
