package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// writeMarkdown writes GitHub-flavoured Markdown: a heading per device and
// pipe tables. Every captured string goes through escape.Markdown; multi-line
// cells are joined with <br>.
func writeMarkdown(w io.Writer, r *audit.Report, opt Options) error {
	m := &mdWriter{w: w}
	name := r.Tool.Name
	if name == "" {
		name = "phonehome"
	}
	m.printf("# %s report\n", escape.Markdown(name))
	sel := opt.tables()
	if sel[TableOverview] {
		m.grid(overviewGrid(r), "##")
	}
	if sel[TableDevices] {
		m.grid(deviceGrid(r), "##")
	}
	for _, d := range deviceOrder(r) {
		title, detail := deviceHeading(d)
		m.printf("\n## Device: %s\n\n", escape.Markdown(title))
		for _, l := range detail {
			m.printf("- %s\n", escape.Markdown(l))
		}
		for _, g := range deviceGrids(d, opt) {
			m.grid(g, "###")
		}
	}
	if sel[TableFlows] {
		m.grid(flowGrid(r), "##")
	}
	m.grid(captureGrid(r), "##")
	if len(r.Warnings) > 0 {
		m.grid(warningGrid(r), "##")
	}
	return m.err
}

type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, a ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, a...)
	}
}

func (m *mdWriter) grid(g grid, level string) {
	m.printf("\n%s %s\n\n", level, g.Title)
	if len(g.Rows) == 0 {
		m.printf("_%s_\n", g.Empty)
		return
	}
	var b strings.Builder
	b.WriteString("|")
	for _, c := range g.Cols {
		b.WriteString(" " + c.Name + " |")
	}
	b.WriteString("\n|")
	for _, c := range g.Cols {
		if c.Num {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, row := range g.Rows {
		b.WriteString("|")
		for j := range g.Cols {
			var lines []string
			if j < len(row) {
				for _, l := range row[j].Lines {
					lines = append(lines, escape.Markdown(l))
				}
			}
			b.WriteString(" " + strings.Join(lines, "<br>") + " |")
		}
		b.WriteString("\n")
	}
	m.printf("%s", b.String())
}
