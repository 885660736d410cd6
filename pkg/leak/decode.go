package leak

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// minBlob is the shortest base64 or hex run that is decoded and rescanned.
const minBlob = 16

// decodeChildren finds encoded regions of the layer, decodes them within
// the Scan's byte budget and scans each result as a child layer.
func (lc *layerCtx) decodeChildren() {
	b := lc.data
	// Whole-layer compression (gzip/zlib magic, or deflate by content type).
	if kind := compressed(b); kind != "" {
		lc.child(b, 0, len(b), kind)
		return
	}
	if lc.depth == 0 && lowerContains(lc.st.ctype, "deflate") {
		lc.child(b, 0, len(b), "deflate")
		return
	}
	// Field values with %XX escapes or JSON string escapes.
	for i := range lc.fields {
		f := &lc.fields[i]
		v := b[f.vs:f.ve]
		if bytes.IndexByte(v, '%') >= 0 && pctEscaped(v) {
			lc.child(v, f.vs, f.ve, "url")
		} else if bytes.IndexByte(v, '\\') >= 0 {
			lc.child(v, f.vs, f.ve, "json-string")
		}
	}
	if len(lc.fields) == 0 && pctEscaped(b) {
		lc.child(b, 0, len(b), "url")
	}
	// base64 and hex runs: maximal runs of base64 characters, with at
	// most two '=' after them, of at least minBlob bytes. Such a run has
	// at least minRun characters, so when the byte minRun-1 places on is
	// not one, no run of interest starts before it.
	const minRun = minBlob - 2
	for i := 0; i+minRun <= len(b); {
		// No run of interest starts before i, and b[i-1] is not a base64
		// character.
		k := i + minRun - 1
		if !isB64Char(b[k]) {
			i = k + 1
			continue
		}
		s := k
		for s > i && isB64Char(b[s-1]) {
			s--
		}
		j := k + 1
		for j < len(b) && isB64Char(b[j]) {
			j++
		}
		e := j
		for e < len(b) && b[e] == '=' && e-j < 2 {
			e++
		}
		if e-s >= minBlob {
			run := b[s:e]
			if allHex(run[:j-s]) && (j-s)%2 == 0 {
				if !allDigits(run) {
					lc.child(run, s, e, "hex")
				}
			} else if !allDigits(run) {
				lc.child(run, s, e, "base64")
			}
		}
		i = e
		if e == j {
			i++ // b[j] is not a base64 character
		}
	}
}

// lowerIs, lowerHasPrefix, lowerHasSuffix and lowerContains test
// strings.ToLower(s) against t (lower case) without allocating when s is
// ASCII.
func lowerIs(s, t string) bool {
	if !isASCII(s) {
		return strings.ToLower(s) == t
	}
	return equalFold(s, t)
}

func lowerHasPrefix(s, t string) bool {
	if !isASCII(s) {
		return strings.HasPrefix(strings.ToLower(s), t)
	}
	return len(s) >= len(t) && equalFold(s[:len(t)], t)
}

func lowerHasSuffix(s, t string) bool {
	if !isASCII(s) {
		return strings.HasSuffix(strings.ToLower(s), t)
	}
	return len(s) >= len(t) && equalFold(s[len(s)-len(t):], t)
}

func lowerContains(s, t string) bool {
	if !isASCII(s) {
		return strings.Contains(strings.ToLower(s), t)
	}
	for i := 0; i+len(t) <= len(s); i++ {
		if equalFold(s[i:i+len(t)], t) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// compressed names the container of b by its magic bytes.
func compressed(b []byte) string {
	if len(b) >= 10 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 {
		return "gzip"
	}
	if len(b) >= 6 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[1]&0x20 == 0 {
		return "zlib"
	}
	return ""
}

// child decodes one region with the named decoding and scans the result.
func (lc *layerCtx) child(enc []byte, s, e int, kind string) {
	st := lc.st
	if st.layers >= st.s.opt.MaxLayers || len(st.hits) >= st.s.opt.MaxHits {
		return
	}
	room := st.s.opt.MaxDecoded - st.decodedLen
	if room <= 0 {
		return
	}
	// The decoded bytes go to the end of the arena and are dropped from
	// it when this child's subtree has been scanned.
	mark := len(st.arena)
	defer func() { st.arena = st.arena[:mark] }()
	var out []byte
	var ok bool
	label := kind
	switch kind {
	case "gzip", "zlib", "deflate":
		st.arena, ok = st.inf.inflate(st.arena, enc, kind, room)
	case "url":
		st.arena, ok = appendURLDecoded(st.arena, enc), true
	case "json-string":
		st.arena, ok = appendJSONUnescaped(st.arena, enc), true
		label = ""
	case "hex":
		st.arena = slices.Grow(st.arena, len(enc)/2)
		n, err := hex.Decode(st.arena[mark:mark+len(enc)/2], enc)
		st.arena, ok = st.arena[:mark+n], err == nil
	case "base64":
		st.arena, ok = appendB64(st.arena, enc)
	}
	out = st.arena[mark:]
	if !ok || len(out) == 0 || bytes.Equal(out, enc) {
		return
	}
	if len(out) > room {
		out = out[:room]
		st.arena = st.arena[:mark+room]
	}
	st.decodedLen += len(out)
	nchain := lc.nchain
	if label != "" {
		st.chain = append(st.chain[:nchain], label)
		nchain++
	}
	f := lc.fieldAt(s, e)
	loc := lc.refine(f)
	var key []byte
	if f != nil {
		key = lc.keyBytes(f)
	}
	off := s
	if lc.off >= 0 {
		off = lc.off
	}
	top := lc.top
	if lc.depth == 0 {
		top = loc
	}
	nwire := lc.nwire
	if compressed(enc) == "" && kind != "deflate" && len(enc) <= MaxSpelling {
		st.wire = append(st.wire[:nwire], enc)
		st.wireStr = append(st.wireStr[:nwire], "")
		nwire++
	}
	if kind == "base64" || kind == "hex" {
		// Decoded binary: look inside compressed data, else scan only for
		// known values unless it reads as text.
		if c := compressed(out); c != "" {
			st.layerBinary(out, loc, nchain, nwire, lc.depth+1, off, top, c)
			return
		}
		if !textLike(out) {
			st.knownOnly(out, loc, nchain, nwire, lc.depth+1, off, top)
			return
		}
	}
	st.layer(out, loc, nchain, nwire, lc.depth+1, off, key, top)
}

// layerBinary scans a compressed child one level deeper.
func (st *scanState) layerBinary(b []byte, loc string, nchain, nwire, depth, off int, top, kind string) {
	if depth > st.s.opt.MaxDepth {
		return
	}
	lc := layerCtx{st: st, data: b, loc: loc, nchain: nchain, nwire: nwire, depth: depth, off: off, id: st.layers, top: top}
	st.layers++
	lc.child(b, 0, len(b), kind)
}

// knownOnly scans decoded binary data for known values only.
func (st *scanState) knownOnly(b []byte, loc string, nchain, nwire, depth, off int, top string) {
	if len(st.s.m.pats) == 0 {
		st.layers++ // as if scanned: the layer count bounds the Scan
		return
	}
	lc := layerCtx{st: st, data: b, loc: loc, nchain: nchain, nwire: nwire, depth: depth, off: off, id: st.layers, top: top, whole: true}
	st.layers++
	lc.known()
}

// inflaters are one Scan state's decompressors, reset for each stream.
type inflaters struct {
	gz  *gzip.Reader
	zl  io.ReadCloser
	fl  io.ReadCloser
	src bytes.Reader
}

// inflate appends up to limit decompressed bytes to dst; a truncated
// stream still gives what was decoded. ok is false when nothing was.
func (in *inflaters) inflate(dst, b []byte, kind string, limit int) (out []byte, ok bool) {
	if limit <= 0 {
		return dst, false
	}
	in.src.Reset(b)
	var r io.Reader
	var err error
	switch kind {
	case "gzip":
		if in.gz == nil {
			in.gz, err = gzip.NewReader(&in.src)
		} else {
			err = in.gz.Reset(&in.src)
		}
		r = in.gz
	case "zlib":
		if in.zl == nil {
			in.zl, err = zlib.NewReader(&in.src)
		} else {
			err = in.zl.(zlib.Resetter).Reset(&in.src, nil)
		}
		r = in.zl
	default:
		if in.fl == nil {
			in.fl = flate.NewReader(&in.src)
		} else {
			err = in.fl.(flate.Resetter).Reset(&in.src, nil)
		}
		r = in.fl
	}
	if err != nil {
		return dst, false
	}
	start := len(dst)
	for len(dst)-start < limit {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(max(512, len(dst)-start), limit-(len(dst)-start)))
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), start+limit)])
		dst = dst[:len(dst)+n]
		if err != nil {
			break
		}
	}
	return dst, len(dst) > start
}

// decodeB64 decodes standard or URL-safe base64, padded or not.
func decodeB64(b []byte) ([]byte, bool) {
	out, ok := appendB64(nil, b)
	return out, ok
}

// appendB64 appends the decoding of standard or URL-safe base64, padded
// or not, to dst; on failure dst is returned as it was.
func appendB64(dst, b []byte) ([]byte, bool) {
	s := bytes.TrimRight(b, "=")
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(s, "-_") {
		if bytes.ContainsAny(s, "+/") {
			return dst, false
		}
		enc = base64.RawURLEncoding
	}
	if len(s)%4 == 1 {
		s = s[:len(s)-1]
	}
	n0 := len(dst)
	dst = slices.Grow(dst, enc.DecodedLen(len(s)))
	n, err := enc.Decode(dst[n0:n0+enc.DecodedLen(len(s))], s)
	if err != nil {
		return dst[:n0], false
	}
	return dst[:n0+n], true
}

// textLike reports decoded bytes that read as text: valid UTF-8 with at
// least 85% printable characters.
func textLike(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	p := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t' || c >= 0x80 {
			p++
		}
	}
	return p*100 >= len(b)*85
}

// urlDecode replaces %XX escapes and, in form-like data, "+" by a space.
func urlDecode(b []byte) []byte { return appendURLDecoded(make([]byte, 0, len(b)), b) }

// appendURLDecoded appends b with %XX escapes undone and, in form-like
// data (no space), "+" read as a space; the runs between them are copied
// whole.
func appendURLDecoded(dst, b []byte) []byte {
	dst = slices.Grow(dst, len(b))
	pct, plus := indexFrom(b, 0, '%'), -1
	if bytes.IndexByte(b, ' ') < 0 {
		plus = indexFrom(b, 0, '+')
	}
	pos := 0
	for pct >= 0 || plus >= 0 {
		if plus >= 0 && (pct < 0 || plus < pct) {
			dst = append(append(dst, b[pos:plus]...), ' ')
			pos = plus + 1
			plus = indexFrom(b, pos, '+')
			continue
		}
		dst = append(dst, b[pos:pct]...)
		if i := pct; i+2 < len(b) && hexVal(b[i+1]) >= 0 && hexVal(b[i+2]) >= 0 {
			dst = append(dst, byte(hexVal(b[i+1])<<4|hexVal(b[i+2])))
			pos = i + 3
		} else {
			dst = append(dst, '%')
			pos = i + 1
		}
		pct = indexFrom(b, pos, '%')
	}
	return append(dst, b[pos:]...)
}

// indexFrom is the index of the first c at or after i in b, or -1.
func indexFrom(b []byte, i int, c byte) int {
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// appendJSONUnescaped appends b with the escapes of a JSON string body
// decoded.
func appendJSONUnescaped(out, b []byte) []byte {
	out = slices.Grow(out, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b', 'f':
		case 'u':
			if i+4 < len(b) && allHex(b[i+1:i+5]) {
				r := rune(hexVal(b[i+1])<<12 | hexVal(b[i+2])<<8 | hexVal(b[i+3])<<4 | hexVal(b[i+4]))
				out = utf8.AppendRune(out, r)
				i += 4
			}
		default:
			out = append(out, b[i])
		}
	}
	return out
}
