package report

import (
	"fmt"
	"io"

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
	makers := deviceTables(opt, false) // text: no sort keys
	for _, d := range deviceOrder(r) {
		title, detail := deviceHeading(d)
		m.printf("\n## Device: %s\n\n", escape.Markdown(title))
		for _, l := range detail {
			m.printf("- %s\n", escape.Markdown(l))
		}
		for _, g := range makeGrids(d, makers) {
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
	buf []byte // a table's rows, reused
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
	b := m.buf[:0]
	b = append(b, '|')
	for _, c := range g.Cols {
		b = append(b, ' ')
		b = append(b, c.Name...)
		b = append(b, " |"...)
	}
	b = append(b, "\n|"...)
	for _, c := range g.Cols {
		if c.Num {
			b = append(b, " ---: |"...)
		} else {
			b = append(b, " --- |"...)
		}
	}
	b = append(b, '\n')
	for _, row := range g.Rows {
		b = append(b, '|')
		for j := range g.Cols {
			b = append(b, ' ')
			if j < len(row) {
				for k, l := range row[j].Lines {
					if k > 0 {
						b = append(b, "<br>"...)
					}
					b = append(b, escape.Markdown(l)...)
				}
			}
			b = append(b, " |"...)
		}
		b = append(b, '\n')
		// Write a large table in pieces rather than hold all of it.
		if len(b) >= 32<<10 {
			m.write(b)
			b = b[:0]
		}
	}
	m.write(b)
	m.buf = b[:0]
}

func (m *mdWriter) write(p []byte) {
	if m.err == nil {
		_, m.err = m.w.Write(p)
	}
}
