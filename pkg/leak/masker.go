package leak

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/phonehome/phonehome/internal/jsonw"
)

// Masker replaces leaked spellings in report text. A spelling is replaced
// only where it stands as a whole token: the characters around it are not
// letters or digits (a %XX escape before it counts as a boundary, as in the
// scanner), so "pass" is masked in "user=pass" but not in
// "myvoiceismypassport". Lookups cost one map probe per run of letters and
// digits of the text, whatever the number of spellings.
//
// A Masker is built once (Add, then only String and JSON) and is then safe
// for concurrent use.
type Masker struct {
	byRun map[string][]maskEntry // by the first run of letters and digits of the spelling
	n     int
	// runs has a bit for every (length, first byte) of a key of byRun
	// (lengths from maxRunBit on share one bit): a run of the text whose
	// bit is clear is no key, and costs no map probe (most runs of a
	// report are short numbers and words that no spelling begins with).
	runs [maxRunBit + 1][4]uint64
	// ends is runs for the last byte of the first run: a run must be in
	// both (fewer runs of a report's text pass than with runs alone).
	ends [maxRunBit + 1][4]uint64
}

const maxRunBit = 63

// runBit is the runs entry of a run of length n beginning with c.
func runBit(n int, c byte) (l int, w int, bit uint64) {
	return min(n, maxRunBit), int(c >> 6), 1 << (c & 63)
}

type maskEntry struct {
	pre      string // the spelling's characters before its first run
	spelling string
	repl     string
}

// NewMasker returns an empty Masker.
func NewMasker() *Masker { return &Masker{byRun: map[string][]maskEntry{}} }

// Len returns the number of spellings added.
func (m *Masker) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// Add registers one spelling and the text that replaces it. The first
// replacement given for a spelling wins; a spelling without a letter or
// digit is ignored.
func (m *Masker) Add(spelling, repl string) {
	s := 0
	for s < len(spelling) && !isAlnum(spelling[s]) {
		s++
	}
	if s == len(spelling) {
		return
	}
	e := s
	for e < len(spelling) && isAlnum(spelling[e]) {
		e++
	}
	run := spelling[s:e]
	l, w, bit := runBit(len(run), run[0])
	m.runs[l][w] |= bit
	l, w, bit = runBit(len(run), run[len(run)-1])
	m.ends[l][w] |= bit
	list := m.byRun[run]
	for _, x := range list {
		if x.spelling == spelling {
			return
		}
	}
	list = append(list, maskEntry{pre: spelling[:s], spelling: spelling, repl: repl})
	// Longest first: a spelling inside a longer one must not win.
	slices.SortStableFunc(list, func(a, b maskEntry) int { return cmp.Compare(len(b.spelling), len(a.spelling)) })
	m.byRun[run] = list
	m.n++
}

// AddLeak registers every spelling of a leaked value, each replaced by
// MaskSpelling.
func (m *Masker) AddLeak(identifier, value string, spellings []string) {
	for _, sp := range spellings {
		m.Add(sp, MaskSpelling(identifier, value, sp))
	}
}

// String returns s with every registered spelling that stands as a whole
// token replaced, and whether anything was replaced.
func (m *Masker) String(s string) (string, bool) {
	var out []byte
	last, changed := 0, false
	m.each(s, func(start, end int, repl string) {
		out = append(out, s[last:start]...)
		out = append(out, repl...)
		last, changed = end, true
	})
	if !changed {
		return s, false
	}
	out = append(out, s[last:]...)
	return string(out), true
}

// Spans returns the [start, end) byte ranges of s that String replaces.
func (m *Masker) Spans(s string) [][2]int {
	var out [][2]int
	m.each(s, func(start, end int, _ string) { out = append(out, [2]int{start, end}) })
	return out
}

// each calls fn for every match in s, left to right, without overlaps.
func (m *Masker) each(s string, fn func(start, end int, repl string)) { eachMatch(m, s, fn) }

// eachMatch is each for text held as a string or as bytes (bytes are
// probed without copying).
func eachMatch[T string | []byte](m *Masker, s T, fn func(start, end int, repl string)) {
	eachMatchFrom(m, s, 0, fn)
}

// eachMatchFrom is eachMatch for the matches that begin in a run of s
// from s[from] on (from is 0 or the end of a run).
func eachMatchFrom[T string | []byte](m *Masker, s T, from int, fn func(start, end int, repl string)) {
	if m == nil || m.n == 0 || len(s) < minPlain {
		return
	}
	last := 0
	for i := from; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		starts := runStarts(s, i, j)
		next := j
		for _, rs := range starts {
			if rs < 0 {
				continue
			}
			if start, end, repl, ok := matchAt(m, s, rs, j, last); ok {
				fn(start, end, repl)
				last, next = end, end
				break
			}
		}
		i = next
	}
}

// runStarts are where a spelling's first run can begin in the run
// s[i:j]: at i, and after a %XX escape at its start (-1: none), as in
// "%3D867..." which holds the token "867...".
func runStarts[T string | []byte](s T, i, j int) [2]int {
	starts := [2]int{i, -1}
	if i >= 1 && s[i-1] == '%' && j-i > 2 && hexVal(s[i]) >= 0 && hexVal(s[i+1]) >= 0 {
		starts[1] = i + 2
	}
	return starts
}

// matchAt tries the spellings whose first run is s[rs:re]; none may begin
// before floor (text already replaced).
func matchAt[T string | []byte](m *Masker, s T, rs, re, floor int) (start, end int, repl string, ok bool) {
	if !mayBeRun(m, s, rs, re) {
		return 0, 0, "", false
	}
	for _, x := range m.byRun[string(s[rs:re])] {
		start = rs - len(x.pre)
		end = start + len(x.spelling)
		if start < floor || end > len(s) || string(s[start:rs]) != x.pre || string(s[start:end]) != x.spelling {
			continue
		}
		if end < len(s) && isAlnum(s[end]) && isAlnum(x.spelling[len(x.spelling)-1]) {
			continue
		}
		return start, end, x.repl, true
	}
	return 0, 0, "", false
}

// matches reports whether b holds a registered spelling as a token.
func (m *Masker) matches(b []byte) bool {
	found := false
	eachMatch(m, b, func(int, int, string) { found = true })
	return found
}

// JSON appends to dst the JSON text js with registered spellings masked in
// its string values, and reports whether anything changed. Object keys,
// numbers, literals and structure are copied unchanged, so the output is
// valid JSON whenever the input is; the value of a key for which skip
// returns true is copied unchanged too (identity fields such as a flow's
// device). js is expected to be what encoding/json writes; other text is
// copied as it is.
func (m *Masker) JSON(dst, js []byte, skip func(key []byte) bool) ([]byte, bool) {
	return m.maskJSON(nil, dst, js, skip, true)
}

// MaskCache remembers string literals in which Masker.JSON found nothing,
// so that a literal seen again (user agents, host names, header values:
// most of the text of a capture's events repeats) is not probed again.
// Its memory is bounded: it starts afresh when full. It is not safe for
// concurrent use; give each goroutine its own.
type MaskCache struct {
	clean map[string]struct{}
	size  int
	limit int
}

// NewMaskCache returns an empty cache of the default size (8 MiB).
func NewMaskCache() *MaskCache { return NewMaskCacheSize(maskCacheSize) }

// NewMaskCacheSize returns an empty cache that keeps about n bytes (the
// goroutines that mask one stream share one budget).
func NewMaskCacheSize(n int) *MaskCache {
	return &MaskCache{clean: map[string]struct{}{}, limit: max(n, 1<<16)}
}

const (
	minCachedLiteral = 16      // shorter literals are probed faster than looked up
	maskCacheSize    = 8 << 20 // bytes of literals (and a map entry's overhead) kept
)

func (c *MaskCache) has(lit []byte) bool {
	if c == nil || len(lit) < minCachedLiteral {
		return false
	}
	_, ok := c.clean[string(lit)]
	return ok
}

func (c *MaskCache) add(lit []byte) {
	if c == nil || len(lit) < minCachedLiteral {
		return
	}
	if c.size+len(lit)+64 > c.limit {
		clear(c.clean)
		c.size = 0
	}
	c.clean[string(lit)] = struct{}{}
	c.size += len(lit) + 64
}

// JSONCached is JSON with the literals known clean in c (nil: none)
// skipped, and some of the clean ones it probes remembered in c (see
// maskLiteral), for a caller that keeps js when nothing changes: then dst
// is returned as it was given (js is not copied). When something changed,
// dst and the report are JSON's.
func (m *Masker) JSONCached(c *MaskCache, dst, js []byte, skip func(key []byte) bool) ([]byte, bool) {
	return m.maskJSON(c, dst, js, skip, false)
}

// maskJSON is JSON and JSONCached; whole: js is appended to dst also when
// nothing changed.
func (m *Masker) maskJSON(c *MaskCache, dst, js []byte, skip func(key []byte) bool, whole bool) ([]byte, bool) {
	if m == nil || m.n == 0 {
		if !whole {
			return dst, false
		}
		return append(dst, js...), false
	}
	changed := false
	var key []byte
	var sc literalScan
	last := 0
	for i := 0; i < len(js); {
		// The next literal: between two of them there are only a few
		// bytes of structure or a number.
		for i < len(js) && js[i] != '"' {
			i++
		}
		if i == len(js) {
			break
		}
		m.scanLiteral(js, i, &sc)
		if sc.end < 0 {
			break
		}
		end := sc.end + 1
		lit := js[i:end]
		k := end
		for k < len(js) && (js[k] == ' ' || js[k] == '\n' || js[k] == '\t' || js[k] == '\r') {
			k++
		}
		if k < len(js) && js[k] == ':' {
			key = lit[1 : len(lit)-1]
			i = end
			continue
		}
		if skip == nil || key == nil || !skip(key) {
			if enc := m.maskLiteral(c, js, i, &sc); enc != nil {
				dst = append(dst, js[last:i]...)
				dst = append(dst, enc...)
				last = end
				changed = true
			}
		}
		i = end
	}
	if !changed && !whole {
		return dst, false
	}
	return append(dst, js[last:]...), changed
}

// AppendLiteral appends to dst the JSON string literal that begins at
// js[i] (a quote), masked as JSON masks a string value, and returns the
// index after its closing quote; when no quote closes it, dst is returned
// as it was and the index is -1. Some of the literals found clean are
// remembered in c (nil: none; see maskLiteral). It is the masking of
// JSONCached for a caller that copies the structure itself (an indenting
// writer).
func (m *Masker) AppendLiteral(c *MaskCache, dst, js []byte, i int) ([]byte, int) {
	if m == nil || m.n == 0 {
		end := literalEnd(js, i+1)
		if end < 0 {
			return dst, -1
		}
		return append(dst, js[i:end+1]...), end + 1
	}
	var sc literalScan
	m.scanLiteral(js, i, &sc)
	if sc.end < 0 {
		return dst, -1
	}
	end := sc.end + 1
	if enc := m.maskLiteral(c, js, i, &sc); enc != nil {
		return append(dst, enc...), end
	}
	return append(dst, js[i:end]...), end
}

// maskLiteral is the string literal js[i:sc.end+1], scanned into sc,
// with its spellings masked and encoded again as encoding/json writes
// it; nil when nothing in it is masked. A literal without escapes is
// probed only at the candidate runs scanLiteral found; one with escapes
// is decoded first. Those two kinds of clean literal are remembered in c:
// the ones with escapes and the ones with many candidate runs.
func (m *Masker) maskLiteral(c *MaskCache, js []byte, i int, sc *literalScan) []byte {
	if !sc.escaped && sc.n == 0 {
		return nil
	}
	lit := js[i : sc.end+1]
	var val string
	if sc.escaped {
		if c.has(lit) {
			return nil
		}
		var scratch [512]byte
		text, ok := appendUnquoted(scratch[:0], lit)
		if !ok {
			v, ok := unquote(lit)
			if !ok {
				return nil
			}
			text = []byte(v)
		}
		if !m.matches(text) {
			c.add(lit)
			return nil
		}
		val = string(text)
	} else {
		// A literal with more candidate runs than sc keeps is read again:
		// cached when clean.
		many := sc.n > len(sc.runs)
		if many && c.has(lit) {
			return nil
		}
		if !m.runsMatch(js[i+1:sc.end], sc, i+1) {
			if many {
				c.add(lit)
			}
			return nil
		}
		val = string(lit[1 : len(lit)-1])
	}
	masked, ok := m.String(val)
	if !ok {
		return nil
	}
	return jsonw.String(nil, masked)
}

// literalScan is what scanLiteral learns of a string literal in its one
// pass over the bytes.
type literalScan struct {
	end     int  // the index of its closing quote; -1: none closes it
	escaped bool // it holds an escape: its decoded text decides
	// The runs of letters and digits (or the run after a %XX escape at
	// their start) that are the first run of a spelling by (length,
	// first byte): n of them, the first len(runs) kept as [start, end)
	// in the scanned text. None: no spelling can be in the literal.
	n    int
	runs [4][2]int
}

// scanLiteral scans the string literal beginning at js[i] (a quote) into
// sc: where it ends, and where a spelling may be in it. The literal's
// bytes are read once; runsMatch probes the candidates, and a literal
// with an escape is decoded and probed whole.
func (m *Masker) scanLiteral(js []byte, i int, sc *literalScan) {
	sc.n, sc.escaped = 0, false
	run := -1 // where the current run of letters and digits began
	for k := i + 1; k < len(js); k++ {
		c := js[k]
		if isAlnum(c) {
			if run < 0 {
				run = k
			}
			continue
		}
		if run >= 0 {
			if m.mayBegin(js, run, k) {
				if sc.n < len(sc.runs) {
					sc.runs[sc.n] = [2]int{run, k}
				}
				sc.n++
			}
			run = -1
		}
		switch c {
		case '"':
			sc.end = k
			return
		case '\\':
			sc.end, sc.escaped = literalEnd(js, k), true
			return
		}
	}
	sc.end = -1
}

// runsMatch is matches(s) for the text s of a literal without escapes,
// which begins at js[off] of the text sc scanned: a match starts in a
// candidate run (eachMatch finds its first match at the first run where
// matchAt does), and only the runs after the kept ones are read again.
func (m *Masker) runsMatch(s []byte, sc *literalScan, off int) bool {
	if len(s) < minPlain {
		return false
	}
	for _, r := range sc.runs[:min(sc.n, len(sc.runs))] {
		rs, re := r[0]-off, r[1]-off
		for _, start := range runStarts(s, rs, re) {
			if start >= 0 {
				if _, _, _, ok := matchAt(m, s, start, re, 0); ok {
					return true
				}
			}
		}
	}
	if sc.n <= len(sc.runs) {
		return false
	}
	// The candidates not kept: after the last kept one.
	found := false
	eachMatchFrom(m, s, sc.runs[len(sc.runs)-1][1]-off, func(int, int, string) { found = true })
	return found
}

// mayBegin reports whether a spelling's first run can be s[rs:re], a
// whole run, or the run after a %XX escape at its start.
func (m *Masker) mayBegin(s []byte, rs, re int) bool {
	if mayBeRun(m, s, rs, re) {
		return true
	}
	return rs >= 1 && s[rs-1] == '%' && re-rs > 2 && hexVal(s[rs]) >= 0 && hexVal(s[rs+1]) >= 0 && mayBeRun(m, s, rs+2, re)
}

// mayBeRun reports whether s[rs:re] can be the first run of a spelling
// by its length and its first and last bytes.
func mayBeRun[T string | []byte](m *Masker, s T, rs, re int) bool {
	if l, w, bit := runBit(re-rs, s[rs]); m.runs[l][w]&bit == 0 {
		return false
	}
	l, w, bit := runBit(re-rs, s[re-1])
	return m.ends[l][w]&bit != 0
}

// literalEnd is the index of the quote that ends the string literal whose
// text starts at js[i], -1 if none does (stringEnd with the search for
// quotes and backslashes done by IndexByte).
func literalEnd(js []byte, i int) int {
	for i < len(js) {
		q := bytes.IndexByte(js[i:], '"')
		if q < 0 {
			return -1
		}
		b := bytes.IndexByte(js[i:i+q], '\\')
		if b < 0 {
			return i + q
		}
		i += b + 2 // a backslash and the byte it escapes
	}
	return -1
}

// unquote decodes one JSON string literal (kept apart so that the
// result escapes to the heap only for literals with escapes).
func unquote(lit []byte) (string, bool) {
	var v string
	err := json.Unmarshal(lit, &v)
	return v, err == nil
}

// appendUnquoted appends the text of the JSON string literal lit (quotes
// included) as json.Unmarshal decodes it, for the literals encoding/json
// writes: valid UTF-8, no control bytes, the escapes \" \\ \/ \b \f \n
// \r \t and \uXXXX outside the surrogates. For any other it reports
// false, and unquote decides.
func appendUnquoted(dst, lit []byte) ([]byte, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return dst, false
	}
	s := lit[1 : len(lit)-1]
	if !utf8.Valid(s) {
		return dst, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' {
			return dst, false
		}
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(s) {
			return dst, false
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(s) {
				return dst, false
			}
			r := rune(0)
			for _, h := range s[i+1 : i+5] {
				v := hexVal(h)
				if v < 0 {
					return dst, false
				}
				r = r<<4 | rune(v)
			}
			if utf16.IsSurrogate(r) {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			i += 4
		default:
			return dst, false
		}
	}
	return dst, true
}
