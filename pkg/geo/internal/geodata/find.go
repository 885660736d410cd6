package geodata

// Index is a first-level bucket index over a Table: for each value of the
// top 16 bits of an address it holds the first row whose start has that
// prefix or more, so a lookup binary-searches only one bucket.
type Index struct {
	t  *Table
	b4 []uint32 // 65537 entries
	b6 []uint32 // 65537 entries, over the top 16 bits of V6Hi
}

// NewIndex builds the bucket index of a validated table.
func NewIndex(t *Table) *Index {
	x := &Index{t: t, b4: make([]uint32, 1<<16+1), b6: make([]uint32, 1<<16+1)}
	i := 0
	for k := 0; k <= 1<<16; k++ {
		for i < len(t.V4Start) && uint64(t.V4Start[i]) < uint64(k)<<16 {
			i++
		}
		x.b4[k] = uint32(i)
	}
	i = 0
	for k := 0; k <= 1<<16; k++ {
		for i < len(t.V6Hi) && t.V6Hi[i]>>48 < uint64(k) {
			i++
		}
		x.b6[k] = uint32(i)
	}
	return x
}

// Table returns the indexed table.
func (x *Index) Table() *Table { return x.t }

// Find4 returns the packed value of the row holding ip, or 0.
func (x *Index) Find4(ip uint32) uint32 {
	if i := x.Row4(ip); i >= 0 {
		return x.t.V4Val[i]
	}
	return 0
}

// Find6 returns the packed value of the row holding the address hi:lo, or 0.
func (x *Index) Find6(h, l uint64) uint32 {
	if i := x.Row6(h, l); i >= 0 {
		return x.t.V6Val[i]
	}
	return 0
}

// Row4 returns the index of the IPv4 row holding ip, or -1.
func (x *Index) Row4(ip uint32) int {
	k := ip >> 16
	lo, hi := int(x.b4[k]), int(x.b4[k+1])
	s := x.t.V4Start
	// Count rows in [lo,hi) with start <= ip.
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] <= ip {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// Row6 returns the index of the IPv6 row holding the address hi:lo, or -1.
func (x *Index) Row6(h, l uint64) int {
	k := h >> 48
	lo, hi := int(x.b6[k]), int(x.b6[k+1])
	sh, sl := x.t.V6Hi, &x.t.V6Lo
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sh[m] < h || sh[m] == h && sl.At(m) <= l {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}
