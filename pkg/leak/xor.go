package leak

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
)

// maxXORKey is the longest repeating XOR key DetectXOR tries.
const maxXORKey = 4

// MaxXORInput is the number of bytes DetectXOR examines.
const MaxXORInput = 64 << 10

// minCrib is the shortest known value used as a crib (it must leave at
// least 6 bytes of key-free differences for the longest key).
const minCrib = 10

type crib struct {
	v    int32
	text []byte
}

// xorAuto finds, for one key length L, the byte differences
// c[i] ^ c[i+L] of every crib: repeating-key XOR with period L leaves
// those differences unchanged, so they can be searched for in the
// ciphertext's own differences without knowing the key.
type xorAuto struct {
	m     *matcher // the cribs' differences, pattern i from cribs[i]
	cribs []crib
	ok    bool
}

func (s *Scanner) buildXOR(cribs []crib) {
	for l := 1; l <= maxXORKey; l++ {
		var pats [][]byte
		var used []crib
		seen := map[string]bool{}
		for _, c := range cribs {
			if len(c.text) < minCrib || len(c.text)-l < 6 || seen[string(c.text)] {
				continue
			}
			seen[string(c.text)] = true
			d := make([]byte, len(c.text)-l)
			for i := range d {
				d[i] = c.text[i] ^ c.text[i+l]
			}
			pats = append(pats, d)
			used = append(used, c)
		}
		if len(pats) == 0 {
			continue
		}
		m := newMatcherBits(1 << 16)
		for _, p := range pats {
			m.add(p, false)
		}
		s.xor[l-1] = xorAuto{m: m, cribs: used, ok: true}
	}
}

// DetectXOR looks for a known identifier hidden by XOR with a single-byte
// or short repeating key (up to 4 bytes). It returns the shortest key, a
// hit with Encoding ["xor", "plain"] and Offset where the value starts, and
// ok. Plain (unencrypted) occurrences are not reported. Only the first
// MaxXORInput bytes are examined; cost does not grow with the number of
// identifiers.
//
// Cost per byte is bounded whatever the payload: for each key length one
// XOR and one matcher step per byte, plus a check of the crib's length per
// match. A match of the differences always decodes to its crib (equal
// differences make the key periodic), so the matches passed over are plain
// occurrences, of which at most maxXORMatches per key length are kept
// (BenchmarkDetectXORHostile; docs/leaks.md).
func (s *Scanner) DetectXOR(b []byte) (key []byte, hit Hit, ok bool) {
	if len(b) > MaxXORInput {
		b = b[:MaxXORInput]
	}
	bp := diffPool.Get().(*[]byte)
	defer diffPool.Put(bp)
	if cap(*bp) < len(b) {
		*bp = make([]byte, len(b))
	}
	diff := (*bp)[:len(b)]
	var mbuf [16]xorMatch
	for l := 1; l <= maxXORKey; l++ {
		x := &s.xor[l-1]
		if !x.ok || len(b) <= l {
			continue
		}
		d := diff[:len(b)-l]
		for i := range d {
			d[i] = b[i] ^ b[i+l]
		}
		// Every occurrence, in the order of their ends, the longest
		// first at one end (an Aho-Corasick automaton's order).
		ms := mbuf[:0]
		x.m.scan(d, func(pi, start, end int) {
			if len(ms) < maxXORMatches {
				ms = append(ms, xorMatch{pi: int32(pi), start: int32(start), end: int32(end)})
			}
		})
		slices.SortFunc(ms, func(a, b xorMatch) int {
			return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(b.start, a.start), cmp.Compare(a.pi, b.pi))
		})
		for _, m := range ms {
			c := x.cribs[m.pi]
			p := int(m.start)
			if p+len(c.text) > len(b) {
				continue
			}
			var kb [maxXORKey]byte
			k := kb[:l]
			for j := 0; j < l; j++ {
				k[(p+j)%l] = b[p+j] ^ c.text[j]
			}
			good, zero := true, true
			for j := range c.text {
				if b[p+j]^k[(p+j)%l] != c.text[j] {
					good = false
					break
				}
			}
			for _, kb := range k {
				if kb != 0 {
					zero = false
				}
			}
			if !good || zero {
				continue
			}
			kv := s.values[c.v]
			return bytes.Clone(shortestPeriod(k)), Hit{Identifier: kv.typ, Known: true, DeviceID: kv.dev, Value: kv.value, Encoding: []string{"xor", "plain"}, Offset: p}, true
		}
	}
	return nil, Hit{}, false
}

// xorMatch is one occurrence of a crib's differences.
type xorMatch struct{ pi, start, end int32 }

// maxXORMatches bounds the occurrences checked per key length: a
// difference matched always decodes to its crib, so the ones passed over
// are plain occurrences; this many of them mean a payload made of known
// values, not one hiding them.
const maxXORMatches = 4096

// diffPool holds DetectXOR's difference buffers (up to MaxXORInput bytes).
var diffPool = sync.Pool{New: func() any { return new([]byte) }}

// shortestPeriod reduces a repeating key such as "abab" to "ab".
func shortestPeriod(k []byte) []byte {
	for p := 1; p < len(k); p++ {
		if len(k)%p != 0 {
			continue
		}
		same := true
		for i := p; i < len(k); i++ {
			if k[i] != k[i-p] {
				same = false
				break
			}
		}
		if same {
			return k[:p]
		}
	}
	return k
}
