package report

import (
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// Chart geometry (pixels).
const (
	chartBars   = 10  // at most this many bars; the rest are summed as "other"
	chartLabelW = 170 // label column
	chartBarW   = 300 // longest bar
	chartValueW = 170 // value text after the bar
	chartRowH   = 22
	chartBarH   = 14
	chartLabel  = 24 // label characters before truncation
)

// chart is a horizontal stacked bar chart (sent + received) drawn as
// inline SVG by the HTML template.
type chart struct {
	ID, Title     string
	Width, Height int
	Bars          []bar
}

type bar struct {
	Label, Tip, Value         string
	X, Y, H, TextY            int
	UpW, DownX, DownW, ValueX int
}

type chartItem struct {
	label    string
	up, down uint64
}

// deviceCharts returns bytes per country and per vendor for one device.
func deviceCharts(d *audit.Device, anchor string) []chart {
	var byCountry []chartItem
	if len(d.Summary.ByCountry) > 0 {
		for _, b := range d.Summary.ByCountry {
			l := b.Key
			if b.Label != "" && b.Label != b.Key {
				l += " " + b.Label
			}
			byCountry = append(byCountry, chartItem{l, b.BytesUp, b.BytesDown})
		}
	} else {
		byCountry = groupBytes(d.Destinations, "country")
	}
	byVendor := groupBytes(d.Destinations, "vendor")
	return []chart{
		buildChart(anchor+"-chart-country", "Bytes per country", byCountry),
		buildChart(anchor+"-chart-vendor", "Bytes per vendor", byVendor),
	}
}

// groupBytes is the bytes each way of the destinations grouped by
// groupBy, one item per group key, in no particular order (buildChart
// sorts them): what a chart shows of groupDests' rows, without the
// distinct values of their other columns (a device with 49,000
// unattributed destinations made groupDests compare each name with
// every one before it).
func groupBytes(ds []audit.Destination, groupBy string) []chartItem {
	var items []chartItem
	idx := map[string]int{}
	for i := range ds {
		d := &ds[i]
		k := groupKey(d, groupBy)
		j, ok := idx[k]
		if !ok {
			j = len(items)
			idx[k] = j
			items = append(items, chartItem{label: k})
		}
		items[j].up += d.BytesUp
		items[j].down += d.BytesDown
	}
	return items
}

// buildChart lays out bars sorted by bytes sent, then received, then label.
func buildChart(id, title string, items []chartItem) chart {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b chartItem) int {
		switch {
		case a.up != b.up:
			return cmpDesc(a.up, b.up)
		case a.down != b.down:
			return cmpDesc(a.down, b.down)
		}
		return strings.Compare(a.label, b.label)
	})
	if len(items) > chartBars {
		other := chartItem{label: "other (" + itoa(len(items)-chartBars+1) + ")"}
		for _, it := range items[chartBars-1:] {
			other.up += it.up
			other.down += it.down
		}
		items = append(items[:chartBars-1], other)
	}
	c := chart{ID: id, Title: title, Width: chartLabelW + chartBarW + chartValueW}
	var peak uint64
	for _, it := range items {
		peak = max(peak, it.up+it.down)
	}
	for i, it := range items {
		it.label = escape.Terminal(it.label)
		y := i*chartRowH + 4
		b := bar{
			Label: truncate(it.label, chartLabel), Tip: it.label + ": sent " + humanBytes(it.up) + " (" + u64(it.up) +
				" bytes), received " + humanBytes(it.down) + " (" + u64(it.down) + " bytes)",
			Value: "↑" + humanBytes(it.up) + " ↓" + humanBytes(it.down),
			X:     chartLabelW, Y: y, H: chartBarH, TextY: y + chartBarH - 2,
		}
		if peak > 0 {
			b.UpW = scale(it.up, peak)
			b.DownW = scale(it.up+it.down, peak) - b.UpW
		}
		b.DownX = b.X + b.UpW
		b.ValueX = b.DownX + b.DownW + 6
		c.Bars = append(c.Bars, b)
	}
	c.Height = len(items)*chartRowH + 8
	if peak == 0 {
		c.Bars = nil
	}
	return c
}

// scale maps n in 0..peak to 0..chartBarW pixels; any traffic gets >= 1px.
func scale(n, peak uint64) int {
	if n == 0 {
		return 0
	}
	w := int(float64(n) / float64(peak) * chartBarW)
	return max(w, 1)
}
