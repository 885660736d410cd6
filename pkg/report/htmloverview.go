package report

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strconv"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/geo"
)

// leakMatrix is the HTML overview's device × identifier-class matrix:
// each cell holds the worst severity of that identifier from that device
// and how many rows found it.
type leakMatrix struct {
	Classes []string
	Rows    []matrixRow
}

type matrixRow struct {
	Device, Anchor string
	Cells          template.HTML // the row's cells, written by appendMatrixCell
}

func newLeakMatrix(r *audit.Report) leakMatrix {
	worst := map[string]audit.Severity{}
	for i := range r.Devices {
		for _, l := range r.Devices[i].Leaks {
			worst[l.Identifier] = max(worst[l.Identifier], l.Severity)
		}
	}
	var m leakMatrix
	for id := range worst {
		m.Classes = append(m.Classes, id)
	}
	slices.SortFunc(m.Classes, func(a, b string) int {
		if c := cmp.Compare(worst[b], worst[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(m.Classes) == 0 {
		return m
	}
	for i, d := range deviceOrder(r) {
		row := matrixRow{Device: escape.Terminal(deviceLabel(d)), Anchor: "device-" + strconv.Itoa(i+1)}
		var buf []byte
		for _, id := range m.Classes {
			var sev audit.Severity
			n := 0
			for _, l := range d.Leaks {
				if l.Identifier == id {
					sev = max(sev, l.Severity)
					n += max(l.Count, 1)
				}
			}
			if n == 0 {
				buf = append(buf, `<td class="sev-none"></td>`...)
				continue
			}
			buf = appendMatrixCell(buf, "sev sev-"+sev.String(), sev.String(),
				escape.Terminal(fmt.Sprintf("%s: %s sent %d time(s), worst %s", deviceLabel(d), id, n, sev)))
		}
		row.Cells = template.HTML(buf)
		m.Rows = append(m.Rows, row)
	}
	return m
}

// appendMatrixCell writes one cell of the matrix as the template wrote
// it: <td class="{{.Class}}" title="{{.Tip}}">{{.Text}}</td>.
func appendMatrixCell(b []byte, class, text, tip string) []byte {
	b = append(b, `<td class="`...)
	b = appendHTMLEscaped(b, class)
	b = append(b, `" title="`...)
	b = appendHTMLEscaped(b, tip)
	b = append(b, `">`...)
	b = appendHTMLEscaped(b, text)
	return append(b, "</td>"...)
}

// flowmap is one picture of where data goes: devices on the left, the
// service owners they sent bytes to in the middle, the countries of those
// servers on the right; a band's width is the bytes sent. Only Internet
// destinations are drawn (LAN, multicast and broadcast traffic stays home).
type flowmap struct {
	Width, Height int
	Nodes         []flowNode
	Links         []flowLink
}

type flowNode struct {
	X, Y, W, H      int
	TextX, TextY    int
	Anchor          string // SVG text-anchor
	Label, Tip, Col string
}

type flowLink struct {
	D     string // SVG path
	Width int
	Tip   string
}

// Flow map geometry (pixels) and how many owners and countries are drawn
// before the rest are summed as "other".
const (
	mapColW    = 220
	mapNodeW   = 10
	mapGap     = 6
	mapHeight  = 360
	mapOwners  = 12
	mapCountry = 10
	mapLabel   = 28
	mapLeft    = 200 // room for device names left of the first column
)

// ownerOf is who runs a destination's service, as far as its name says:
// the signature's vendor, else the registrable domain; never the hosting
// network, which the destinations table shows beside it.
func ownerOf(d audit.Dest) string {
	switch {
	case d.Vendor != "":
		return d.Vendor
	case d.Domain != "":
		return d.Domain
	}
	return "unnamed servers"
}

func flowMap(r *audit.Report) flowmap {
	type key struct{ a, b string }
	devOwner := map[key]uint64{}
	ownerCountry := map[key]uint64{}
	devTotal, ownerTotal, countryTotal := map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	for _, d := range deviceOrder(r) {
		dev := d.Name // the picture has room for a name, not name and MAC
		if dev == "" {
			dev = d.ID
		}
		for _, dst := range d.Destinations {
			if dst.BytesUp == 0 || geo.IsSpecialName(dst.Country) {
				continue
			}
			owner, country := ownerOf(dst.Dest), dst.Country
			if country == "" {
				country = "unknown"
			}
			devOwner[key{dev, owner}] += dst.BytesUp
			ownerCountry[key{owner, country}] += dst.BytesUp
			devTotal[dev] += dst.BytesUp
			ownerTotal[owner] += dst.BytesUp
			countryTotal[country] += dst.BytesUp
		}
	}
	var total uint64
	for _, n := range devTotal {
		total += n
	}
	if total == 0 {
		return flowmap{}
	}
	// Keep the largest owners and countries; the rest become "other".
	top := func(m map[string]uint64, n int) (order []string, rename map[string]string) {
		for k := range m {
			order = append(order, k)
		}
		slices.SortFunc(order, func(a, b string) int {
			if c := cmp.Compare(m[b], m[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		rename = map[string]string{}
		if len(order) > n {
			other := "other (" + itoa(len(order)-n+1) + ")"
			for _, k := range order[n-1:] {
				rename[k] = other
			}
			order = append(order[:n-1], other)
		}
		return order, rename
	}
	devs, _ := top(devTotal, len(devTotal))
	owners, ownerRename := top(ownerTotal, mapOwners)
	countries, countryRename := top(countryTotal, mapCountry)
	rn := func(m map[string]string, k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return k
	}
	m := flowmap{Width: mapLeft + 2*(mapColW+mapNodeW) + mapNodeW + 180, Height: mapHeight + 20}
	// One scale for every node and band: pixels per byte sent.
	unit := float64(mapHeight-mapGap*(max(len(devs), len(owners), len(countries))-1)) / float64(total)
	type span struct{ y, h, out, in int }
	layout := func(col int, names []string, size func(string) uint64, anchor string) map[string]*span {
		spans := map[string]*span{}
		y := 10
		x := mapLeft + col*(mapColW+mapNodeW)
		for _, n := range names {
			h := max(int(float64(size(n))*unit), 2)
			spans[n] = &span{y: y, h: h}
			node := flowNode{X: x, Y: y, W: mapNodeW, H: h, Label: truncate(escape.Terminal(n), mapLabel), Col: []string{"#57606a", "#b3261e", "#0969da"}[col],
				Tip: escape.Terminal(n) + ": " + humanBytes(size(n)) + " sent", TextY: y + h/2 + 4, Anchor: anchor}
			switch anchor {
			case "end":
				node.TextX = x - 4
			default:
				node.TextX = x + mapNodeW + 4
			}
			m.Nodes = append(m.Nodes, node)
			y += h + mapGap
		}
		return spans
	}
	ownerSize := map[string]uint64{}
	for o, n := range ownerTotal {
		ownerSize[rn(ownerRename, o)] += n
	}
	countrySize := map[string]uint64{}
	for c, n := range countryTotal {
		countrySize[rn(countryRename, c)] += n
	}
	devSpan := layout(0, devs, func(s string) uint64 { return devTotal[s] }, "end")
	ownerSpan := layout(1, owners, func(s string) uint64 { return ownerSize[s] }, "start")
	countrySpan := layout(2, countries, func(s string) uint64 { return countrySize[s] }, "start")
	band := func(from, to *span, n uint64, x0, x1 int, tip string) {
		w := max(int(float64(n)*unit), 1)
		y0 := from.y + from.out + w/2
		y1 := to.y + to.in + w/2
		from.out += w
		to.in += w
		mid := (x0 + x1) / 2
		m.Links = append(m.Links, flowLink{D: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x0, y0, mid, y0, mid, y1, x1, y1), Width: w, Tip: tip})
	}
	// Bands in a fixed order (by source, then target, in node order) so
	// that the picture is the same bytes on every run.
	merged := map[key]uint64{}
	for k, n := range devOwner {
		merged[key{k.a, rn(ownerRename, k.b)}] += n
	}
	x0, x1 := mapLeft+mapNodeW, mapLeft+mapColW+mapNodeW
	for _, d := range devs {
		for _, o := range owners {
			if n := merged[key{d, o}]; n > 0 {
				band(devSpan[d], ownerSpan[o], n, x0, x1, escape.Terminal(d+" → "+o+": "+humanBytes(n)))
			}
		}
	}
	merged = map[key]uint64{}
	for k, n := range ownerCountry {
		merged[key{rn(ownerRename, k.a), rn(countryRename, k.b)}] += n
	}
	x0, x1 = mapLeft+mapColW+2*mapNodeW, mapLeft+2*(mapColW+mapNodeW)
	for _, o := range owners {
		for _, c := range countries {
			if n := merged[key{o, c}]; n > 0 {
				band(ownerSpan[o], countrySpan[c], n, x0, x1, escape.Terminal(o+" → "+c+": "+humanBytes(n)))
			}
		}
	}
	return m
}
