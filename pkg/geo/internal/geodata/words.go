package geodata

import "math/bits"

// Words is a column of 64-bit words stored sparsely: a bit per row says
// whether its word is non-zero, and only the non-zero words are kept. The
// low words of IPv6 row starts are almost all zero (blocks are /64 or
// larger): 4 MB as a plain column, ~0.2 MB as Words.
type Words struct {
	n    int
	set  []uint64 // bit i%64 of set[i/64]: row i's word is non-zero
	rank []uint32 // non-zero words before set[j]
	vals []uint64 // the non-zero words, in row order
}

// NewWords returns the column holding ws.
func NewWords(ws []uint64) Words {
	b := newWordsBuilder(len(ws))
	for i, w := range ws {
		b.put(i, w)
	}
	return b.done()
}

// Len is the number of rows.
func (w *Words) Len() int { return w.n }

// At returns row i's word (0 <= i < Len).
func (w *Words) At(i int) uint64 {
	j, b := i>>6, uint(i&63)
	m := w.set[j]
	if m>>b&1 == 0 {
		return 0
	}
	return w.vals[int(w.rank[j])+bits.OnesCount64(m&(1<<b-1))]
}

// Slice returns the column as a plain slice.
func (w *Words) Slice() []uint64 {
	s := make([]uint64, w.n)
	for i := range s {
		s[i] = w.At(i)
	}
	return s
}

// wordsBuilder makes a Words of n rows from puts in increasing row order.
type wordsBuilder struct{ w Words }

func newWordsBuilder(n int) *wordsBuilder {
	return &wordsBuilder{w: Words{n: n, set: make([]uint64, (n+63)/64), rank: make([]uint32, (n+63)/64)}}
}

func (b *wordsBuilder) put(i int, v uint64) {
	if v != 0 {
		b.w.set[i>>6] |= 1 << uint(i&63)
		b.w.vals = append(b.w.vals, v)
	}
}

func (b *wordsBuilder) done() Words {
	r := uint32(0)
	for j, m := range b.w.set {
		b.w.rank[j] = r
		r += uint32(bits.OnesCount64(m))
	}
	b.w.vals = b.w.vals[:len(b.w.vals):len(b.w.vals)]
	return b.w
}
