package leak

import (
	"bytes"
	"strconv"
)

// field is one key/value pair found in a layer: the value's byte span
// [vs, ve), its key, and (for JSON) its path such as "$.device.imei".
type field struct {
	ks, ke int    // key span in the layer data
	key    []byte // set instead of ks/ke for a key inherited from a parent layer
	node   int32  // JSON path node, -1 for key/value text
	vs, ve int
}

// pnode is one step of a JSON path: a member key span or an array index.
type pnode struct {
	parent int32
	ks, ke int
	idx    int32 // -1 for an object member
}

// maxFields caps the fields extracted from one layer.
const maxFields = 4096

// extractFields finds key/value pairs: a lenient JSON walk when the data
// starts like JSON, else a scan for key=value, key: value, "key":"value"
// and <key>value</key>. Both tolerate truncated input.
func extractFields(b []byte, out []field, nodes []pnode) ([]field, []pnode, bool) {
	i := skipWS(b, 0)
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		w := jsonWalker{b: b, out: out, nodes: nodes}
		w.value(i, -1, 0, 0, 0)
		if len(w.out) > len(out) {
			return w.out, w.nodes, true
		}
	}
	return kvFields(b, out), nodes, false
}

// jsonPath renders node n as "$.a.b[2]".
func jsonPath(b []byte, nodes []pnode, n int32) string {
	var parts []int32
	for ; n >= 0 && len(parts) < 80; n = nodes[n].parent {
		parts = append(parts, n)
	}
	out := []byte{'$'}
	for i := len(parts) - 1; i >= 0; i-- {
		p := nodes[parts[i]]
		if p.idx >= 0 {
			out = append(out, '[')
			out = strconv.AppendInt(out, int64(p.idx), 10)
			out = append(out, ']')
		} else {
			out = append(out, '.')
			out = append(out, b[p.ks:p.ke]...)
		}
	}
	return string(out)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

type jsonWalker struct {
	b     []byte
	out   []field
	nodes []pnode
}

func (w *jsonWalker) node(parent int32, ks, ke int, idx int32) int32 {
	w.nodes = append(w.nodes, pnode{parent: parent, ks: ks, ke: ke, idx: idx})
	return int32(len(w.nodes) - 1)
}

// value parses one JSON value at i and returns the index after it, or -1
// when the input ends or is malformed (the walk stops, keeping fields so far).
// node is the path node of this value; ks/ke the span of the nearest
// member key (the field's key).
func (w *jsonWalker) value(i int, node int32, ks, ke, depth int) int {
	b := w.b
	i = skipWS(b, i)
	if i >= len(b) || depth > 64 || len(w.out) >= maxFields {
		return -1
	}
	switch c := b[i]; {
	case c == '{':
		i++
		for {
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == '}' {
				return i + 1
			}
			if b[i] != '"' {
				return -1
			}
			mks, mke := i+1, stringEnd(b, i+1)
			if mke < 0 {
				return -1
			}
			i = skipWS(b, mke+1)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = w.value(i+1, w.node(node, mks, mke, -1), mks, mke, depth+1); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
			}
		}
	case c == '[':
		i++
		for n := 0; ; n++ {
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if i = w.value(i, w.node(node, 0, 0, int32(n)), ks, ke, depth+1); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
			}
		}
	case c == '"':
		e := stringEnd(b, i+1)
		if e < 0 {
			w.out = append(w.out, field{ks: ks, ke: ke, node: node, vs: i + 1, ve: len(b)})
			return -1
		}
		w.out = append(w.out, field{ks: ks, ke: ke, node: node, vs: i + 1, ve: e})
		return e + 1
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] == 'E') {
			j++
		}
		if j == i {
			return -1
		}
		w.out = append(w.out, field{ks: ks, ke: ke, node: node, vs: i, ve: j})
		return j
	}
}

// stringEnd returns the index of the closing quote of a JSON string whose
// body starts at i, or -1.
func stringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// kvFields scans free text for key=value, key: value, "key": "value" and
// <key>value</key> pairs.
func kvFields(b []byte, out []field) []field {
	lt, eq, colon := finder{c: '<'}, finder{c: '='}, finder{c: ':'}
	for i := 0; i < len(b) && len(out) < maxFields; i++ {
		if i = min(lt.next(b, i), eq.next(b, i), colon.next(b, i)); i >= len(b) {
			break
		}
		c := b[i]
		if c == '<' {
			out = xmlField(b, i, out)
			continue
		}
		if c != '=' && c != ':' {
			continue
		}
		if c == ':' && i+1 < len(b) && b[i+1] == '/' {
			continue // scheme://
		}
		// key: walk back over optional quote/backslash and spaces
		j := i - 1
		for j >= 0 && (b[j] == ' ' || b[j] == '\t') && c == ':' {
			j--
		}
		quoted := false
		if j >= 0 && (b[j] == '"' || b[j] == '\'') {
			quoted = true
			j--
			if j >= 0 && b[j] == '\\' {
				j--
			}
		}
		ke := j + 1
		for j >= 0 && isKeyChar(b[j]) && ke-j <= 64 {
			j--
		}
		ks := j + 1
		if ks >= ke || ke-ks > 64 {
			continue
		}
		// value
		v := i + 1
		if c == ':' || quoted {
			for v < len(b) && (b[v] == ' ' || b[v] == '\t') {
				v++
			}
		}
		if v < len(b) && b[v] == '\\' && v+1 < len(b) && b[v+1] == '"' {
			v++
		}
		if v < len(b) && (b[v] == '"' || b[v] == '\'') {
			q := b[v]
			e := v + 1
			for e < len(b) && b[e] != q && !(b[e] == '\\' && e+1 < len(b) && b[e+1] == q) {
				if b[e] == '\\' {
					e++
				}
				e++
			}
			if e > len(b) {
				e = len(b)
			}
			out = append(out, field{ks: ks, ke: ke, node: -1, vs: v + 1, ve: e})
			i = e
			continue
		}
		e := v
		for e < len(b) && !isValueEnd(b[e]) {
			e++
		}
		if c == ':' && e == v {
			continue
		}
		out = append(out, field{ks: ks, ke: ke, node: -1, vs: v, ve: e})
	}
	return out
}

// finder finds the next occurrence of one byte with IndexByte, once per
// occurrence: a scan that looks only at a few kinds of bytes skips the
// others at memchr speed.
type finder struct {
	c  byte
	at int // next position at or after the last look-up, if > 0 or set
	ok bool
}

// next returns the first c at or after i in b, or len(b).
func (f *finder) next(b []byte, i int) int {
	if !f.ok || f.at < i {
		f.at, f.ok = len(b), true
		if j := bytes.IndexByte(b[i:], f.c); j >= 0 {
			f.at = i + j
		}
	}
	return f.at
}

// xmlField handles <key>value</key> and <key attr="..">value</key>.
func xmlField(b []byte, i int, out []field) []field {
	j := i + 1
	for j < len(b) && isKeyChar(b[j]) && j-i <= 64 {
		j++
	}
	if j == i+1 || j >= len(b) {
		return out
	}
	ks, ke := i+1, j
	for j < len(b) && b[j] != '>' && j-i < 512 {
		j++
	}
	if j >= len(b) || b[j-1] == '/' {
		return out
	}
	vs := j + 1
	ve := vs
	for ve < len(b) && b[ve] != '<' && ve-vs < 4096 {
		ve++
	}
	if ve == vs || ve >= len(b) {
		return out
	}
	return append(out, field{ks: ks, ke: ke, node: -1, vs: vs, ve: ve})
}
