package report

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// grid is one human-readable table, shared by the table, markdown and html
// writers. Cell text is raw (unescaped); each writer escapes every line.
type grid struct {
	ID    string // stable anchor/id: "destinations", "leaks"...
	Title string
	Cols  []col
	Rows  [][]cell
	Empty string // shown instead of an empty table
}

type col struct {
	Name string
	Num  bool // right-aligned, sorted numerically in HTML
	Sev  bool // holds a severity name (coloured)
	// Drop > 0 lets a narrow terminal hide the column; higher goes first.
	Drop int
}

// cell is one or more lines of text plus a sort key for HTML.
type cell struct {
	Lines []string
	Key   string // numeric or RFC 3339 sort key; "" sorts by text
	Title string // optional exact value (HTML tooltip)
}

func txt(s string) cell { return cell{Lines: []string{s}} }

func numCell(n uint64) cell {
	s := u64(n)
	return cell{Lines: []string{s}, Key: s}
}

func bytesCell(n uint64) cell {
	return cell{Lines: []string{humanBytes(n)}, Key: u64(n), Title: u64(n) + " bytes"}
}

func timeCell(t time.Time) cell {
	if t.IsZero() {
		return cell{Lines: []string{""}}
	}
	// Fixed-width fraction so that keys sort as text.
	return cell{Lines: []string{fmtTimeShort(t)}, Key: t.UTC().Format("2006-01-02T15:04:05.000000000Z")}
}

func sevCell(s audit.Severity) cell {
	return cell{Lines: []string{s.String()}, Key: u64(uint64(s))}
}

func (c cell) text() string { return strings.Join(c.Lines, " ") }

// The destinations table's text columns: headings, and the rank at which
// a narrow terminal hides them (Channel stays: it says how).
var (
	destColNames = [nDestCols]string{colName: "Name", colDomain: "Domain", colVendor: "Vendor / service",
		colCountry: "Country", colASN: "ASN / org", colChannel: "Channel"}
	destColDrop = [nDestCols]int{colDomain: 3, colASN: 2}
)

// destGrid is the destinations table of one device, grouped by key. keys
// adds the numeric cells' sort keys and exact values, which only HTML
// shows. A device's destinations can be most of a report's rows (the
// "other devices" aggregate), so the cells and their lines are made in one
// array each.
func destGrid(d *audit.Device, groupBy string, keys bool) grid {
	rows := groupDests(d.Destinations, groupBy)
	key := destCol(groupBy) // -1 for endpoint: no grouping, columns as they are
	order := make([]int, 0, nDestCols)
	if key >= 0 {
		order = append(order, key) // the group key comes first and stays
	}
	for c := range nDestCols {
		if c != key {
			order = append(order, c)
		}
	}
	g := grid{ID: "destinations", Title: "Destinations", Empty: "no destinations"}
	if key >= 0 {
		g.Title += " by " + groupBy
	}
	for i, c := range order {
		cl := col{Name: destColNames[c], Drop: destColDrop[c]}
		if i == 0 {
			cl.Drop = 0
		}
		g.Cols = append(g.Cols, cl)
	}
	g.Cols = append(g.Cols, col{Name: "Flows", Num: true}, col{Name: "Up", Num: true}, col{Name: "Down", Num: true}, col{Name: "First seen", Drop: 4})
	n, t := len(g.Cols), len(order)
	cells := make([]cell, len(rows)*n)
	lines := make([]string, len(rows)*n)
	g.Rows = make([][]cell, len(rows))
	for i, r := range rows {
		row := cells[i*n : (i+1)*n : (i+1)*n]
		ln := lines[i*n : (i+1)*n : (i+1)*n]
		for j, c := range order {
			ln[j] = r.text[c]
		}
		ln[t], ln[t+1], ln[t+2], ln[t+3] = itoa(r.flows), humanBytes(r.up), humanBytes(r.down), fmtTimeShort(r.first)
		for j := range row {
			row[j].Lines = ln[j : j+1 : j+1]
		}
		if keys { // as numCell, bytesCell and timeCell
			row[t].Key = ln[t]
			row[t+1].Key, row[t+2].Key = u64(r.up), u64(r.down)
			row[t+1].Title, row[t+2].Title = row[t+1].Key+" bytes", row[t+2].Key+" bytes"
			if !r.first.IsZero() {
				row[t+3].Key = timeCell(r.first).Key
			}
		}
		g.Rows[i] = row
	}
	return g
}

func leakGrid(d *audit.Device) grid {
	g := grid{ID: "leaks", Title: "Leaks", Empty: "no identifiers leaked", Cols: []col{
		// Nothing is dropped: Encoding and Channel are the point of the
		// table; narrow terminals abbreviate the longest cells instead.
		{Name: "Severity", Sev: true}, {Name: "Identifier"}, {Name: "Value"}, {Name: "Encoding"},
		{Name: "Where"}, {Name: "Destination"}, {Name: "Channel"}, {Name: "Frame", Num: true},
	}}
	for _, l := range d.Leaks {
		fr := cell{Lines: []string{inputLabel(l.Input) + frameLabel(l.Frame, l.Count)}, Key: u64(l.Frame)}
		g.Rows = append(g.Rows, []cell{sevCell(l.Severity), txt(leakIdent(l)), txt(l.Value), txt(l.Encoding),
			txt(l.Location), txt(destLabel(l.Dest)), txt(l.Dest.Channel), fr})
	}
	return g
}

func findingGrid(d *audit.Device) grid {
	g := grid{ID: "findings", Title: "Findings", Empty: "no findings", Cols: []col{
		{Name: "Severity", Sev: true}, {Name: "Kind"}, {Name: "Message"}, {Name: "Destination"},
		{Name: "Channel"}, {Name: "Frame", Num: true},
	}}
	for _, f := range d.Findings {
		fr := cell{Lines: []string{inputLabel(f.Input) + frameLabel(f.Frame, f.Count)}, Key: u64(f.Frame)}
		g.Rows = append(g.Rows, []cell{sevCell(f.Severity), txt(f.Kind), txt(f.Message), txt(destLabel(f.Dest)),
			txt(f.Dest.Channel), fr})
	}
	return g
}

// summaryGrid is the per-device roll-up as item/value rows.
func summaryGrid(d *audit.Device) grid {
	s := d.Summary
	g := grid{ID: "summary", Title: "Summary", Cols: []col{{Name: "Item"}, {Name: "Value"}}}
	add := func(k string, v cell) { g.Rows = append(g.Rows, []cell{txt(k), v}) }
	add("Bytes sent / received", txt(humanBytes(s.BytesUp)+" / "+humanBytes(s.BytesDown)))
	add("Sent per country", shareLines(s.ByCountry, s.BytesUp))
	add("Sent per network owner", shareLines(s.ByOwner, s.BytesUp))
	tp := cell{Lines: []string{"none"}}
	if len(s.ThirdParties) > 0 {
		tp = cell{Lines: []string{itoa(len(s.ThirdParties)) + ": " + strings.Join(s.ThirdParties, ", ")}}
	}
	add("Third parties", tp)
	add("Sent in clear", txt(pct(s.PlaintextShare)))
	worst := s.WorstSeverity.String()
	if s.WorstFinding != "" {
		worst += ": " + s.WorstFinding
	}
	add("Worst", cell{Lines: []string{worst}, Key: u64(uint64(s.WorstSeverity))})
	if s.Decryption != nil {
		add("TLS/QUIC decrypted", decryptionCell(s.Decryption))
	}
	return g
}

// decryptionCell says how many TLS/QUIC sessions were decrypted, how many
// had no key and why the others were not (or stopped early).
func decryptionCell(d *audit.Decryption) cell {
	c := cell{Lines: []string{itoa(d.Decrypted) + " of " + itoa(d.Sessions()) + " sessions"}, Key: itoa(d.Decrypted)}
	if d.NoKey > 0 {
		c.Lines = append(c.Lines, itoa(d.NoKey)+" without a key")
	}
	if d.Failed > 0 {
		c.Lines = append(c.Lines, itoa(d.Failed)+" not decrypted")
	}
	if len(d.Stopped) > 0 {
		reasons := slices.Sorted(maps.Keys(d.Stopped))
		for i, r := range reasons {
			reasons[i] = r + " " + itoa(d.Stopped[r])
		}
		c.Lines = append(c.Lines, "stopped: "+strings.Join(reasons, ", "))
	}
	return c
}

// shareLines is one line per key: "US United States  12.0 KiB  61.0%".
func shareLines(shares []audit.ByteShare, total uint64) cell {
	if len(shares) == 0 {
		return txt("none")
	}
	c := cell{}
	for _, b := range shares {
		label := b.Key
		if b.Label != "" && b.Label != b.Key {
			label += " " + b.Label
		}
		c.Lines = append(c.Lines, label+"  "+humanBytes(b.BytesUp)+"  "+pct(share(b.BytesUp, total)))
	}
	return c
}

func deviceGrid(r *audit.Report) grid {
	g := grid{ID: "devices", Title: "Devices", Empty: "no devices", Cols: []col{
		{Name: "Device"}, {Name: "ID", Drop: 3}, {Name: "Vendor", Drop: 4}, {Name: "IPs", Drop: 5}, {Name: "Destinations", Num: true},
		{Name: "Leaks", Num: true}, {Name: "Findings", Num: true}, {Name: "Up", Num: true}, {Name: "Down", Num: true},
		{Name: "Worst", Sev: true}, {Name: "First seen", Drop: 2}, {Name: "Last seen", Drop: 1},
	}}
	for i := range r.Devices {
		d := &r.Devices[i]
		name := d.Name
		if d.NameSource != "" {
			name += " [" + d.NameSource + "]"
		}
		g.Rows = append(g.Rows, []cell{txt(name), txt(d.ID), txt(d.Vendor), txt(strings.Join(d.IPs, ", ")),
			numCell(uint64(len(d.Destinations))), numCell(uint64(len(d.Leaks))), numCell(uint64(len(d.Findings))),
			bytesCell(d.Summary.BytesUp), bytesCell(d.Summary.BytesDown), sevCell(d.Summary.WorstSeverity),
			timeCell(d.FirstSeen), timeCell(d.LastSeen)})
	}
	return g
}

func flowGrid(r *audit.Report) grid {
	g := flowCols()
	for _, f := range r.Flows {
		g.Rows = append(g.Rows, flowRow(f))
	}
	return g
}

// flowCols is the flow table without rows; flowRow makes one row, so that
// writers can stream the (long) table instead of holding it twice.
func flowCols() grid {
	return grid{ID: "flows", Title: "Flows", Empty: "no flows", Cols: []col{
		{Name: "ID", Num: true}, {Name: "Device", Drop: 4}, {Name: "Proto"}, {Name: "Client", Drop: 5}, {Name: "Server"},
		{Name: "Protocol", Drop: 2}, {Name: "Name"}, {Name: "Name from", Drop: 7}, {Name: "Channel"}, {Name: "Packets", Num: true, Drop: 3},
		{Name: "Up", Num: true}, {Name: "Down", Num: true}, {Name: "First", Drop: 6}, {Name: "State", Drop: 1},
	}}
}

func flowRow(f audit.Flow) []cell {
	pk := cell{Lines: []string{u64(f.PacketsUp) + "/" + u64(f.PacketsDown)}, Key: u64(f.PacketsUp + f.PacketsDown)}
	return []cell{numCell(f.ID), txt(f.Device), txt(f.Transport), txt(f.Client), txt(f.Server),
		txt(f.Protocol), txt(f.Name), txt(f.NameSource), txt(f.Channel), pk, bytesCell(f.BytesUp), bytesCell(f.BytesDown),
		timeCell(f.First), txt(f.State)}
}

// captureGrid is the capture-wide summary: counts, inputs, data versions.
func captureGrid(r *audit.Report) grid {
	s := r.Summary
	g := grid{ID: "capture", Title: "Capture summary", Cols: []col{{Name: "Item"}, {Name: "Value"}}}
	add := func(k string, v cell) { g.Rows = append(g.Rows, []cell{txt(k), v}) }
	add("Devices", txt(itoa(s.Devices)))
	add("Flows", txt(itoa(s.Flows)))
	add("Frames", txt(u64(s.Frames)))
	add("Leaks / findings", txt(itoa(s.Leaks)+" / "+itoa(s.Findings)))
	add("Worst severity", cell{Lines: []string{s.WorstSeverity.String()}, Key: u64(uint64(s.WorstSeverity))})
	add("Warnings", txt(itoa(s.Warnings)))
	if s.Decryption != nil {
		add("TLS/QUIC decrypted", decryptionCell(s.Decryption))
	}
	if len(r.Inputs) > 0 {
		c := cell{}
		for _, in := range r.Inputs {
			line := in.Path + " (" + in.Format + ", " + u64(in.Frames) + " frames, " + humanBytes(in.Bytes)
			if !in.First.IsZero() {
				line += ", " + fmtTimeShort(in.First) + " – " + fmtTimeShort(in.Last)
			}
			line += ")"
			if in.Error != "" {
				line += " error: " + in.Error
			}
			c.Lines = append(c.Lines, line)
		}
		add("Inputs", c)
	}
	if len(r.Data) > 0 {
		c := cell{}
		for _, ds := range r.Data {
			line := ds.Kind + ": " + ds.Source
			if ds.Version != "" {
				line += " " + ds.Version
			}
			if ds.License != "" {
				line += " (" + ds.License + ")"
			}
			if ds.Stale != "" {
				line += "; stale: " + ds.Stale
			}
			c.Lines = append(c.Lines, line)
		}
		add("Data sources", c)
	}
	if r.Tool.Name != "" {
		add("Tool", txt(r.Tool.Name+" "+r.Tool.Version))
	}
	if r.Incomplete {
		add("Incomplete", txt("yes: the run stopped early; results cover what was read"))
	}
	return g
}

func warningGrid(r *audit.Report) grid {
	g := grid{ID: "warnings", Title: "Warnings", Empty: "no warnings", Cols: []col{
		{Name: "Code"}, {Name: "Message"}, {Name: "File"}, {Name: "Frame", Num: true}, {Name: "Count", Num: true},
	}}
	for _, w := range r.Warnings {
		fr, cnt := txt(""), txt("")
		if w.Frame != 0 {
			fr = numCell(w.Frame)
		}
		if w.Count != 0 {
			cnt = numCell(w.Count)
		}
		g.Rows = append(g.Rows, []cell{txt(w.Code), txt(w.Message), txt(w.File), fr, cnt})
	}
	return g
}

// deviceGrids returns the selected per-device tables in canonical order,
// with the sort keys and exact values HTML shows.
func deviceGrids(d *audit.Device, opt Options) []grid {
	return makeGrids(d, deviceTables(opt, true))
}

// makeGrids makes a device's tables with the makers of deviceTables.
func makeGrids(d *audit.Device, makers []func(*audit.Device) (grid, bool)) []grid {
	var gs []grid
	for _, mk := range makers {
		if g, ok := mk(d); ok {
			gs = append(gs, g)
		}
	}
	return gs
}

// deviceTables are the makers of the selected per-device tables, in
// canonical order; a maker says false when its table is left out for the
// device (a behaviour table without rows). keys: see destGrid.
func deviceTables(opt Options, keys bool) []func(*audit.Device) (grid, bool) {
	sel := opt.tables()
	var mk []func(*audit.Device) (grid, bool)
	always := func(f func(*audit.Device) grid) func(*audit.Device) (grid, bool) {
		return func(d *audit.Device) (grid, bool) { return f(d), true }
	}
	if sel[TableDestinations] {
		by := opt.groupBy()
		mk = append(mk, always(func(d *audit.Device) grid { return destGrid(d, by, keys) }))
	}
	if sel[TableLeaks] {
		mk = append(mk, always(leakGrid))
	}
	if sel[TableFindings] {
		mk = append(mk, always(findingGrid))
	}
	if sel[TableBehaviour] {
		mk = append(mk, func(d *audit.Device) (grid, bool) {
			g := behaviourGrid(d)
			return g, len(g.Rows) > 0
		})
	}
	if sel[TableSummary] {
		mk = append(mk, always(summaryGrid))
	}
	return mk
}

// deviceHeading describes a device: a title and detail lines (name source,
// vendor, IPs, span, DHCP, User-Agents).
func deviceHeading(d *audit.Device) (title string, detail []string) {
	title = deviceLabel(d)
	var parts []string
	if d.NameSource != "" {
		parts = append(parts, "named by "+d.NameSource)
	}
	if d.Vendor != "" {
		parts = append(parts, "vendor "+d.Vendor)
	}
	if d.Model != "" {
		parts = append(parts, "model "+d.Model)
	}
	if d.OS != "" {
		parts = append(parts, "OS "+d.OS)
	}
	if len(parts) > 0 {
		detail = append(detail, strings.Join(parts, "; "))
	}
	if len(d.IPs) > 0 {
		detail = append(detail, "IPs: "+cutList(d.IPs, headingItems))
	}
	if len(d.Hostnames) > 0 {
		detail = append(detail, "Hostnames: "+cutLine(cutList(d.Hostnames, headingItems)))
	}
	if !d.FirstSeen.IsZero() {
		detail = append(detail, "Seen: "+fmtTimeShort(d.FirstSeen)+" – "+fmtTimeShort(d.LastSeen))
	}
	if h := d.DHCP; h != nil {
		var p []string
		for _, kv := range [][2]string{{"hostname", h.Hostname}, {"vendor class", h.VendorClass}, {"fingerprint", h.Fingerprint}, {"requested", h.RequestedIP}, {"assigned", h.AssignedIP}} {
			if kv[1] != "" {
				p = append(p, kv[0]+" "+kv[1])
			}
		}
		if len(p) > 0 {
			detail = append(detail, "DHCP: "+strings.Join(p, "; "))
		}
	}
	for i, ua := range d.UserAgents {
		if i == overviewItems {
			detail = append(detail, "User-Agents: +"+itoa(len(d.UserAgents)-i)+" more (all in the JSON report)")
			break
		}
		detail = append(detail, "User-Agent: "+cutLine(ua))
	}
	if d.Notes != "" {
		detail = append(detail, "Notes: "+d.Notes)
	}
	return title, detail
}
