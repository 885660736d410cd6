package leak

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"io"
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
	if lc.depth == 0 && bytesContains(lc.st.ctype, "deflate") {
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
	// base64 and hex runs.
	for i := 0; i < len(b); {
		if !isB64Char(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isB64Char(b[j]) {
			j++
		}
		e := j
		for e < len(b) && b[e] == '=' && e-j < 2 {
			e++
		}
		if e-i >= minBlob {
			run := b[i:e]
			if allHex(string(run[:j-i])) && (j-i)%2 == 0 {
				if !allDigits(string(run)) {
					lc.child(run, i, e, "hex")
				}
			} else if !allDigits(string(run)) {
				lc.child(run, i, e, "base64")
			}
		}
		i = e
		if i == j && j < len(b) {
			i++
		}
	}
}

func bytesContains(s, sub string) bool {
	return len(s) >= len(sub) && bytes.Contains([]byte(s), []byte(sub))
}

func isB64Char(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '-' || c == '_'
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
	var out []byte
	var ok bool
	label := kind
	switch kind {
	case "gzip", "zlib", "deflate":
		out, ok = inflate(enc, kind, room)
	case "url":
		out, ok = urlDecode(enc), true
	case "json-string":
		out, ok = jsonUnescape(enc)
		label = ""
	case "hex":
		out = make([]byte, len(enc)/2)
		_, err := hex.Decode(out, enc)
		ok = err == nil
	case "base64":
		out, ok = decodeB64(enc)
	}
	if !ok || len(out) == 0 || bytes.Equal(out, enc) {
		return
	}
	if len(out) > room {
		out = out[:room]
	}
	st.decodedLen += len(out)
	chain := lc.chain
	if label != "" {
		chain = append(chain[:len(chain):len(chain)], label)
	}
	f := lc.fieldAt(s, e)
	loc := lc.refine(f)
	key := ""
	if f != nil {
		key = lc.key(f)
	}
	off := s
	if lc.off >= 0 {
		off = lc.off
	}
	top := lc.top
	if lc.depth == 0 {
		top = loc
	}
	wire := lc.wire
	if compressed(enc) == "" && kind != "deflate" && len(enc) <= MaxSpelling {
		wire = append(wire[:len(wire):len(wire)], string(enc))
	}
	if kind == "base64" || kind == "hex" {
		// Decoded binary: look inside compressed data, else scan only for
		// known values unless it reads as text.
		if c := compressed(out); c != "" {
			st.layerBinary(out, loc, chain, wire, lc.depth+1, off, key, top, c)
			return
		}
		if !textLike(out) {
			st.knownOnly(out, loc, chain, wire, lc.depth+1, off, top)
			return
		}
	}
	st.layer(out, loc, chain, wire, lc.depth+1, off, key, top)
}

// layerBinary scans a compressed child one level deeper.
func (st *scanState) layerBinary(b []byte, loc string, chain, wire []string, depth, off int, key, top, kind string) {
	if depth > st.s.opt.MaxDepth {
		return
	}
	lc := layerCtx{st: st, data: b, loc: loc, chain: chain, wire: wire, depth: depth, off: off, id: st.layers, top: top}
	st.layers++
	lc.child(b, 0, len(b), kind)
}

// knownOnly scans decoded binary data for known values only.
func (st *scanState) knownOnly(b []byte, loc string, chain, wire []string, depth, off int, top string) {
	lc := layerCtx{st: st, data: b, loc: loc, chain: chain, wire: wire, depth: depth, off: off, id: st.layers, top: top, whole: true}
	st.layers++
	lc.known()
}

// inflate decompresses up to limit bytes; a truncated stream still
// returns what was decoded.
func inflate(b []byte, kind string, limit int) ([]byte, bool) {
	if limit <= 0 {
		return nil, false
	}
	var r io.Reader
	var err error
	switch kind {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "zlib":
		r, err = zlib.NewReader(bytes.NewReader(b))
	default:
		r = flate.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		return nil, false
	}
	var out bytes.Buffer
	n, _ := io.Copy(&out, io.LimitReader(r, int64(limit)))
	if n == 0 {
		return nil, false
	}
	return out.Bytes(), true
}

// decodeB64 decodes standard or URL-safe base64, padded or not.
func decodeB64(b []byte) ([]byte, bool) {
	s := bytes.TrimRight(b, "=")
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(s, "-_") {
		if bytes.ContainsAny(s, "+/") {
			return nil, false
		}
		enc = base64.RawURLEncoding
	}
	if len(s)%4 == 1 {
		s = s[:len(s)-1]
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, false
	}
	return out[:n], true
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
func urlDecode(b []byte) []byte {
	form := bytes.IndexByte(b, ' ') < 0
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '%' && i+2 < len(b) && hexVal(b[i+1]) >= 0 && hexVal(b[i+2]) >= 0:
			out = append(out, byte(hexVal(b[i+1])<<4|hexVal(b[i+2])))
			i += 2
		case c == '+' && form:
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	return out
}

// jsonUnescape decodes the escapes of a JSON string body.
func jsonUnescape(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
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
			if i+4 < len(b) && allHex(string(b[i+1:i+5])) {
				r := rune(hexVal(b[i+1])<<12 | hexVal(b[i+2])<<8 | hexVal(b[i+3])<<4 | hexVal(b[i+4]))
				out = utf8.AppendRune(out, r)
				i += 4
			}
		default:
			out = append(out, b[i])
		}
	}
	return out, true
}
