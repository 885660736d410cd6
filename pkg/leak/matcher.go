package leak

// matcher finds many fixed patterns (4 bytes or longer) in one pass at a
// cost per input byte that does not depend on how many patterns there
// are: a rolling 4-byte anchor (case-folded) is tested against a bit
// filter, and only anchors that start some pattern are looked up and
// verified. Patterns are matched case-insensitively or exactly, each by
// its own flag. It replaces a general Aho-Corasick automaton for the
// known-value search because building the automaton for hundreds of
// identifiers took seconds and its scan ran at a few MB/s; see
// docs/leaks.md for the figures.
type matcher struct {
	mask    uint32 // of the filter's bit index
	filter  []uint64
	anchors map[uint32][]int32
	pats    []mpat
}

type mpat struct {
	text []byte // folded to lower case when fold is set
	fold bool
}

const filterBits = 1 << 20

var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 32
		}
	}
	return t
}()

func newMatcher() *matcher { return newMatcherBits(filterBits) }

// newMatcherBits makes a matcher whose filter has bits bits (a power of
// two from 64 to filterBits): fewer for a few patterns.
func newMatcherBits(bits int) *matcher {
	return &matcher{mask: uint32(bits - 1), filter: make([]uint64, bits/64), anchors: map[uint32][]int32{}}
}

func anchorHash(a uint32) uint32 { return (a * 2654435761) >> 12 }

// add registers a pattern of at least 4 bytes and returns its index.
func (m *matcher) add(p []byte, fold bool) int {
	t := append([]byte(nil), p...)
	if fold {
		for i, c := range t {
			t[i] = lowerTab[c]
		}
	}
	a := uint32(lowerTab[t[0]])<<24 | uint32(lowerTab[t[1]])<<16 | uint32(lowerTab[t[2]])<<8 | uint32(lowerTab[t[3]])
	h := anchorHash(a) & m.mask
	m.filter[h>>6] |= 1 << (h & 63)
	m.anchors[a] = append(m.anchors[a], int32(len(m.pats)))
	m.pats = append(m.pats, mpat{text: t, fold: fold})
	return len(m.pats) - 1
}

// scan calls fn for every (possibly overlapping) occurrence.
func (m *matcher) scan(b []byte, fn func(pat, start, end int)) {
	if len(b) < 4 || len(m.pats) == 0 {
		return
	}
	a := uint32(lowerTab[b[0]])<<16 | uint32(lowerTab[b[1]])<<8 | uint32(lowerTab[b[2]])
	for i := 3; i < len(b); i++ {
		a = a<<8 | uint32(lowerTab[b[i]])
		h := anchorHash(a) & m.mask
		if m.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		s := i - 3
		for _, pi := range m.anchors[a] {
			p := &m.pats[pi]
			e := s + len(p.text)
			if e > len(b) {
				continue
			}
			if p.fold {
				ok := true
				for j, c := range p.text {
					if lowerTab[b[s+j]] != c {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
			} else if string(b[s:e]) != string(p.text) {
				continue
			}
			fn(int(pi), s, e)
		}
	}
}
