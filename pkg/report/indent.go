package report

import (
	"bytes"
	"encoding/json"

	"github.com/phonehome/phonehome/pkg/audit"
)

// appendIndent appends src, a compact JSON value as encoding/json marshals
// it, indented exactly as json.Indent(dst, src, prefix, indent) would. It
// skips json.Indent's validating scanner (about a fifth of the JSON
// writer's time on large reports): records come from json.Marshal in this
// process. Input with white space between tokens, which Marshal never
// writes, goes through json.Indent. Strings are found with IndexByte and
// numbers and literals copied as runs, not byte by byte.
func appendIndent(dst *bytes.Buffer, src []byte, prefix, indent string) error {
	b, err := indentAppend(dst.AvailableBuffer(), src, prefix, indent, nil)
	if err != nil {
		return err
	}
	dst.Write(b)
	return nil
}

// indentAppend is appendIndent appending to b, with the string values of
// src written through strs (nil: copied): masking and indenting a record
// are one pass over it. With white space in src, it is compacted through
// strs first and then indented by json.Indent.
func indentAppend(b, src []byte, prefix, indent string, strs audit.StringValues) ([]byte, error) {
	orig := len(b)
	depth := 0
	needIndent := false
	var keys keyTracker
	var key []byte
	// A newline and the indentation of up to the first depths, in one.
	var nlBuf [64]byte
	nl := append(append(nlBuf[:0], '\n'), prefix...)
	for len(nl)+len(indent) <= len(nlBuf) && len(indent) > 0 {
		nl = append(nl, indent...)
	}
	newline := func() {
		if n := 1 + len(prefix) + depth*len(indent); depth >= 0 && n <= len(nl) {
			b = append(b, nl[:n]...)
			return
		}
		b = append(b, '\n')
		b = append(b, prefix...)
		for range depth {
			b = append(b, indent...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if strs != nil {
				written := compactAppend(nil, src, keyTracker{}, strs)
				return indentAppend(b[:orig], written, prefix, indent, nil)
			}
			var ind bytes.Buffer
			if err := json.Indent(&ind, src, prefix, indent); err != nil {
				return b[:orig], err
			}
			return append(b[:orig], ind.Bytes()...), nil
		case '}', ']':
			keys.close()
			if needIndent {
				needIndent = false
			} else {
				depth--
				newline()
			}
			b = append(b, c)
			continue
		}
		if needIndent {
			needIndent = false
			depth++
			newline()
		}
		switch c {
		case '{', '[':
			keys.open(c == '{')
			needIndent = true
			b = append(b, c)
		case ',':
			keys.comma()
			b = append(b, c)
			newline()
		case ':':
			keys.expect = false
			b = append(b, c, ' ')
		case '"':
			b, i, key = stringAppend(b, src, i, &keys, key, strs)
		default:
			// A number or a literal: up to the next byte above.
			keys.expect = false
			j := i + 1
			for j < len(src) && !indentSpecial[src[j]] {
				j++
			}
			b = append(b, src[i:j]...)
			i = j - 1
		}
	}
	return b, nil
}

// compactAppend appends src, compact JSON whose state before src[0] is
// keys, as it is, with its string values written through strs.
func compactAppend(b, src []byte, keys keyTracker, strs audit.StringValues) []byte {
	if strs == nil {
		return append(b, src...)
	}
	var key []byte
	last := 0 // src[last:i] is still to be copied
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '{', '[':
			keys.open(c == '{')
		case '}', ']':
			keys.close()
		case ',':
			keys.comma()
		case ':':
			keys.expect = false
		case ' ', '\t', '\n', '\r':
		case '"':
			b = append(b, src[last:i]...)
			b, i, key = stringAppend(b, src, i, &keys, key, strs)
			last = i + 1
		default:
			// A number or a literal, left to be copied.
			keys.expect = false
			for i+1 < len(src) && !indentSpecial[src[i+1]] {
				i++
			}
		}
	}
	return append(b, src[last:]...)
}

// stringAppend appends the string literal beginning at src[i], a value
// through strs and a key as it is, and returns the index of its last
// byte and the last key.
func stringAppend(b, src []byte, i int, keys *keyTracker, key []byte, strs audit.StringValues) ([]byte, int, []byte) {
	isKey := keys.expect
	keys.expect = false
	if strs != nil && !isKey {
		if out, end := strs(b, src, i, key); end >= 0 {
			return out, end - 1, key
		}
	}
	end := quoteEnd(src, i+1) + 1
	if isKey && end-1 > i {
		key = src[i+1 : end-1]
	}
	return append(b, src[i:end]...), end - 1, key
}

// keyTracker tells the object keys of JSON text from its string values
// as the text is walked token by token: a string is a key after the { of
// an object or a comma in it.
type keyTracker struct {
	objects uint64 // bit d: the open container at depth d is an object
	deeper  []bool // the same from depth 64 on
	depth   int
	expect  bool // the next string is a key
}

func (k *keyTracker) open(object bool) {
	if d := k.depth; d < 64 {
		k.objects = k.objects&^(1<<d) | b2u(object)<<d
	} else {
		k.deeper = append(k.deeper[:d-64], object)
	}
	k.depth++
	k.expect = object
}

func (k *keyTracker) close() {
	k.depth = max(k.depth-1, 0)
	k.expect = false
}

func (k *keyTracker) comma() {
	switch d := k.depth - 1; {
	case d < 0:
		k.expect = false
	case d < 64:
		k.expect = k.objects>>d&1 != 0
	default:
		k.expect = k.deeper[d-64]
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// indentSpecial marks the bytes appendIndent handles one by one.
var indentSpecial = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r{}[],:\"") {
		t[c] = true
	}
	return t
}()

// quoteEnd is the index of the quote ending the string whose text starts
// at src[i], or len(src)-1 when it is not closed (the rest is copied).
func quoteEnd(src []byte, i int) int {
	// Keys and most values are short: a loop is faster than IndexByte.
	for short := min(i+16, len(src)); i < short; i++ {
		switch src[i] {
		case '"':
			return i
		case '\\':
			i++
		}
	}
	for i < len(src) {
		q := bytes.IndexByte(src[i:], '"')
		if q < 0 {
			break
		}
		k := bytes.IndexByte(src[i:i+q], '\\')
		if k < 0 {
			return i + q
		}
		i += k + 2 // a backslash and the byte it escapes
	}
	return len(src) - 1
}
