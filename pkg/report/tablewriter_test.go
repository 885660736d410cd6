package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/phonehome/phonehome/pkg/audit"
)

// tablewriterGrid is grid drawn by tablewriter's Table layer (Header,
// Append, Render with the options the writer used until it drove the
// renderer itself): the reference the renderer-driven tables are compared
// with.
func (t *termWriter) tablewriterGrid(g grid) {
	l, ok := t.layout(g)
	if !ok {
		return
	}
	aligns := make([]tw.Align, len(l.hdr))
	for i, r := range l.right {
		aligns[i] = tw.AlignLeft
		if r {
			aligns[i] = tw.AlignRight
		}
	}
	tb := tablewriter.NewTable(t.w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithStringerCacheCustom(noCache{}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	)
	hdr := make([]any, len(l.hdr))
	for i, h := range l.hdr {
		hdr[i] = h
	}
	tb.Header(hdr...)
	n := len(l.hdr)
	for i := 0; i+n <= len(l.cells); i += n {
		row := make([]string, n)
		for j, c := range l.cells[i : i+n] {
			row[j] = strings.Join(c, "\n")
		}
		if err := tb.Append(row); err != nil {
			t.err = err
			return
		}
	}
	if err := tb.Render(); err != nil {
		t.err = err
	}
	t.sayDropped(g.Cols, l.kept)
}

// noCache is a no-op tablewriter stringer cache.
type noCache struct{}

func (noCache) Add(reflect.Type, reflect.Value) bool        { return false }
func (noCache) Get(reflect.Type) (v reflect.Value, ok bool) { return v, false }
func (noCache) Purge()                                      {}

// allGrids is every table the terminal writer draws for r, with the
// destinations grouped by each of by.
func allGrids(r *audit.Report, by ...string) []grid {
	gs := []grid{overviewGrid(r), deviceGrid(r), flowGrid(r), captureGrid(r), warningGrid(r)}
	opt := Options{Tables: []string{TableDestinations, TableLeaks, TableFindings, TableBehaviour, TableSummary}}
	for _, by := range by {
		opt.GroupBy = by
		for i := range r.Devices {
			gs = append(gs, deviceGrids(&r.Devices[i], opt)...)
		}
	}
	return gs
}

// checkGridsMatchTablewriter draws every grid of r, twice, through the
// renderer and through tablewriter's Table layer at several widths, with
// and without colour, one termWriter each for all the grids (as a report's
// writer reuses its renderer from table to table).
func checkGridsMatchTablewriter(t *testing.T, r *audit.Report, widths []int, by ...string) {
	t.Helper()
	for _, width := range widths {
		for _, color := range []bool{false, true} {
			opt := Options{Width: width, Color: color}
			var want, got bytes.Buffer
			ref := &termWriter{w: &want, opt: opt}
			drawn := &termWriter{w: &got, opt: opt}
			gs := allGrids(r, by...)
			for _, g := range append(gs, gs...) { // twice: the second time with the edges drawn before
				ref.tablewriterGrid(g)
				drawn.grid(g)
				if ref.err != nil || drawn.err != nil {
					t.Fatal(ref.err, drawn.err)
				}
				if got.String() != want.String() {
					t.Fatalf("table %s, width %d, color %v:\n%s", g.ID, width, color, diffLines(want.String(), got.String()))
				}
			}
		}
	}
}

// TestGridMatchesTablewriter: the tables drawn through tablewriter's
// renderer are byte for byte what its Table layer draws, for every table
// of the fixtures and of reports with hostile, wide, combining and empty
// strings and multi-line cells with blank lines, at every width.
func TestGridMatchesTablewriter(t *testing.T) {
	widths := []int{0, 1, 20, 40, 80, 100, 120, 160, 200, 400}
	checkGridsMatchTablewriter(t, fixture(), widths, groupKeys...)
	checkGridsMatchTablewriter(t, smallFixture(), widths, groupKeys...)
	checkGridsMatchTablewriter(t, hostileFixture(), widths, groupKeys...)
	names := []string{"", " ", "数据.例子.中国", "e\u0301e\u0301.example", "😀😀.example.org", hostileESC + hostileBidi,
		strings.Repeat("very-long-label.", 12) + "example.com", "tab\there", "ｆｕｌｌｗｉｄｔｈ", hostileScript, hostilePipe, "a\r\nb",
		"      leading spaces then a long tail of text", "\u200b\u200b"}
	for _, s := range names {
		checkGridsMatchTablewriter(t, hostileReport(s, s, s), []int{0, 1, 20, 40, 80, 200}, groupKeys...)
	}
}

// TestGridBlankLines: a multi-line cell whose later lines are empty in
// every cell of the row (tablewriter leaves such lines out), and one whose
// empty line has text beside it (drawn).
func TestGridBlankLines(t *testing.T) {
	g := grid{ID: "t", Title: "T", Cols: []col{{Name: "A"}, {Name: "B", Num: true}}, Rows: [][]cell{
		{{Lines: []string{"x", "", "y", ""}}, txt("1")},
		{{Lines: []string{"", ""}}, {Lines: []string{"", "2"}}},
		{{Lines: []string{"", "", ""}}, txt("")},
	}}
	for _, width := range []int{0, 10} {
		for _, color := range []bool{false, true} {
			opt := Options{Width: width, Color: color}
			var want, got bytes.Buffer
			ref := &termWriter{w: &want, opt: opt}
			ref.tablewriterGrid(g)
			drawn := &termWriter{w: &got, opt: opt}
			drawn.grid(g)
			if got.String() != want.String() {
				t.Errorf("width %d, color %v:\n%s", width, color, diffLines(want.String(), got.String()))
			}
		}
	}
}

// FuzzGridMatchesTablewriter: the same for arbitrary captured strings.
func FuzzGridMatchesTablewriter(f *testing.F) {
	for _, s := range []string{hostileScript, hostileESC, hostileCSV, hostilePipe, hostileBidi, "", "\xff\xfe", "a\r\nb", "数据", "e\u0301"} {
		f.Add(s, s, s, uint8(80))
	}
	f.Fuzz(func(t *testing.T, name, host, value string, width uint8) {
		checkGridsMatchTablewriter(t, hostileReport(name, host, value), []int{int(width)}, groupKeys[int(width)%len(groupKeys)])
	})
}

// hostileReport is smallFixture with name, host and value where captures
// put such strings (as FuzzWrite does).
func hostileReport(name, host, value string) *audit.Report {
	r := smallFixture()
	d := &r.Devices[0]
	d.Name, d.Vendor = name, host
	d.Destinations[0].Name, d.Destinations[0].Vendor, d.Destinations[0].Country = host, name, value
	d.Leaks[0].Value, d.Leaks[0].Location, d.Leaks[0].Dest.Name = value, name, host
	d.Findings[0].Message, d.Findings[0].Kind = value, host
	d.Summary.ThirdParties = append(d.Summary.ThirdParties, name)
	d.Summary.ByCountry[0].Label = host
	r.Flows[0].Name, r.Warnings[0].Message = host, value
	return r
}
