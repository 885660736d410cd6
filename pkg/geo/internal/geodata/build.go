package geodata

import (
	"cmp"
	"slices"
)

// U128 is a 128-bit address (IPv4 uses Lo only).
type U128 struct{ Hi, Lo uint64 }

// Cmp orders two U128 values.
func (a U128) Cmp(b U128) int {
	if c := cmp.Compare(a.Hi, b.Hi); c != 0 {
		return c
	}
	return cmp.Compare(a.Lo, b.Lo)
}

// next returns a+1 and whether it overflowed past max.
func (a U128) next(max U128) (U128, bool) {
	if a == max {
		return U128{}, false
	}
	lo := a.Lo + 1
	hi := a.Hi
	if lo == 0 {
		hi++
	}
	return U128{hi, lo}, true
}

// Range is an inclusive address range carrying one index (a country or an
// AS index, depending on the list).
type Range struct {
	Start, End U128
	Val        uint32
}

// Row is one merged row: it starts at Start and carries a packed value
// (located country and AS) and a registered country index.
type Row struct {
	Start U128
	Val   uint32
	Reg   uint8
}

// sub returns a-b (a >= b).
func (a U128) sub(b U128) U128 {
	lo := a.Lo - b.Lo
	hi := a.Hi - b.Hi
	if a.Lo < b.Lo {
		hi--
	}
	return U128{hi, lo}
}

// Flatten turns possibly overlapping ranges into sorted, disjoint ones.
// Where ranges overlap the narrowest wins (a more specific entry such as a
// geofeed /32 inside a whois /23 refines it); between equal widths the
// first listed wins. Inverted ranges and ranges with value 0 are dropped.
// It returns how many input ranges overlapped another.
func Flatten(rs []Range, max U128) ([]Range, int) {
	in := make([]Range, 0, len(rs))
	for _, r := range rs {
		if r.End.Cmp(r.Start) >= 0 && r.Val != 0 {
			in = append(in, r)
		}
	}
	slices.SortStableFunc(in, func(a, b Range) int { return a.Start.Cmp(b.Start) })
	overlaps := 0
	var reach U128
	for i, r := range in {
		if i > 0 && r.Start.Cmp(reach) <= 0 {
			overlaps++
		}
		if i == 0 || r.End.Cmp(reach) > 0 {
			reach = r.End
		}
	}
	var bounds []U128
	for _, r := range in {
		bounds = append(bounds, r.Start)
		if n, ok := r.End.next(max); ok {
			bounds = append(bounds, n)
		}
	}
	slices.SortFunc(bounds, U128.Cmp)
	bounds = slices.Compact(bounds)
	h := &rangeHeap{}
	var out []Range
	j := 0
	for bi, b := range bounds {
		for j < len(in) && in[j].Start.Cmp(b) <= 0 {
			h.push(in[j], j)
			j++
		}
		for len(h.r) > 0 && h.r[0].End.Cmp(b) < 0 {
			h.pop()
		}
		if len(h.r) == 0 {
			continue
		}
		end := max
		if bi+1 < len(bounds) {
			end = bounds[bi+1].sub(U128{Lo: 1})
		}
		v := h.r[0].Val
		if n := len(out); n > 0 && out[n-1].Val == v {
			if e, ok := out[n-1].End.next(max); ok && e == b {
				out[n-1].End = end
				continue
			}
		}
		out = append(out, Range{Start: b, End: end, Val: v})
	}
	return out, overlaps
}

// rangeHeap is a min-heap of ranges by width, then input order.
type rangeHeap struct {
	r   []Range
	ord []int
}

func (h *rangeHeap) less(i, j int) bool {
	wi, wj := h.r[i].End.sub(h.r[i].Start), h.r[j].End.sub(h.r[j].Start)
	if c := wi.Cmp(wj); c != 0 {
		return c < 0
	}
	return h.ord[i] < h.ord[j]
}

func (h *rangeHeap) swap(i, j int) {
	h.r[i], h.r[j] = h.r[j], h.r[i]
	h.ord[i], h.ord[j] = h.ord[j], h.ord[i]
}

func (h *rangeHeap) push(r Range, ord int) {
	h.r = append(h.r, r)
	h.ord = append(h.ord, ord)
	for i := len(h.r) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *rangeHeap) pop() {
	n := len(h.r) - 1
	h.swap(0, n)
	h.r, h.ord = h.r[:n], h.ord[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if l+1 < n && h.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// Merge overlays cleaned country and AS range lists into rows whose values
// are Pack(country, as); the registered country is left empty.
func Merge(country, as []Range, max U128) []Row { return Merge3(country, nil, as, max) }

// Merge3 overlays cleaned located-country, registered-country and AS range
// lists into rows. max is the last address of the family. Adjacent rows
// with equal values are coalesced; uncovered space gets value 0.
// Registered country values must fit in 8 bits.
func Merge3(country, registered, as []Range, max U128) []Row {
	var bounds []U128
	for _, l := range [][]Range{country, registered, as} {
		for _, r := range l {
			bounds = append(bounds, r.Start)
			if n, ok := r.End.next(max); ok {
				bounds = append(bounds, n)
			}
		}
	}
	slices.SortFunc(bounds, U128.Cmp)
	bounds = slices.Compact(bounds)
	valAt := func(l []Range, i *int, b U128) uint32 {
		for *i < len(l) && l[*i].End.Cmp(b) < 0 {
			*i++
		}
		if *i < len(l) && l[*i].Start.Cmp(b) <= 0 {
			return l[*i].Val
		}
		return 0
	}
	var rows []Row
	ci, ri, ai := 0, 0, 0
	for _, b := range bounds {
		v := Pack(valAt(country, &ci, b), valAt(as, &ai, b))
		reg := uint8(valAt(registered, &ri, b))
		if n := len(rows); n > 0 && rows[n-1].Val == v && rows[n-1].Reg == reg {
			continue
		}
		if len(rows) == 0 && v == 0 && reg == 0 {
			continue
		}
		rows = append(rows, Row{b, v, reg})
	}
	return rows
}

// SetV4 stores merged IPv4 rows in t.
func (t *Table) SetV4(rows []Row) {
	t.V4Start = make([]uint32, len(rows))
	t.V4Val = make([]uint32, len(rows))
	t.V4Reg = make([]uint8, len(rows))
	for i, r := range rows {
		t.V4Start[i] = uint32(r.Start.Lo)
		t.V4Val[i], t.V4Reg[i] = r.Val, r.Reg
	}
}

// SetV6 stores merged IPv6 rows in t.
func (t *Table) SetV6(rows []Row) {
	t.V6Hi = make([]uint64, len(rows))
	lo := newWordsBuilder(len(rows))
	t.V6Val = make([]uint32, len(rows))
	t.V6Reg = make([]uint8, len(rows))
	for i, r := range rows {
		t.V6Hi[i], t.V6Val[i], t.V6Reg[i] = r.Start.Hi, r.Val, r.Reg
		lo.put(i, r.Start.Lo)
	}
	t.V6Lo = lo.done()
}

// Fill returns primary (sorted, disjoint) completed by the parts of
// fallback (sorted, disjoint) that primary does not cover, sorted. It is
// how the located-country table falls back to the registration country
// where the geolocation data has no row.
func Fill(primary, fallback []Range, max U128) []Range {
	out := make([]Range, 0, len(primary)+len(fallback))
	out = append(out, primary...)
	j := 0
	for _, f := range fallback {
		s := f.Start
		for j < len(primary) && primary[j].End.Cmp(s) < 0 {
			j++
		}
		k := j
		for ok := true; ok; {
			if k >= len(primary) || primary[k].Start.Cmp(f.End) > 0 {
				out = append(out, Range{Start: s, End: f.End, Val: f.Val})
				break
			}
			p := primary[k]
			if p.Start.Cmp(s) > 0 {
				out = append(out, Range{Start: s, End: p.Start.sub(U128{Lo: 1}), Val: f.Val})
			}
			if p.End.Cmp(f.End) >= 0 {
				break
			}
			s, ok = p.End.next(max)
			k++
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return a.Start.Cmp(b.Start) })
	return out
}

// Within returns the parts of list (sorted, disjoint) that lie inside
// cover (sorted, disjoint; values ignored). It keeps the geolocation data
// to address space that registration or routing data knows: a location
// guessed for undelegated space is not a fact.
func Within(list, cover []Range, max U128) []Range {
	var out []Range
	j := 0
	for _, r := range list {
		for j < len(cover) && cover[j].End.Cmp(r.Start) < 0 {
			j++
		}
		for k := j; k < len(cover) && cover[k].Start.Cmp(r.End) <= 0; k++ {
			s, e := r.Start, r.End
			if cover[k].Start.Cmp(s) > 0 {
				s = cover[k].Start
			}
			if cover[k].End.Cmp(e) < 0 {
				e = cover[k].End
			}
			out = append(out, Range{Start: s, End: e, Val: r.Val})
		}
	}
	return out
}
