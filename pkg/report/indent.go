package report

import (
	"bytes"
	"encoding/json"
)

// appendIndent appends src, a compact JSON value as encoding/json marshals
// it, indented exactly as json.Indent(dst, src, prefix, indent) would. It
// skips json.Indent's validating scanner (about a fifth of the JSON
// writer's time on large reports): records come from json.Marshal in this
// process. Input with white space between tokens, which Marshal never
// writes, goes through json.Indent. Strings are found with IndexByte and
// numbers and literals copied as runs, not byte by byte.
func appendIndent(dst *bytes.Buffer, src []byte, prefix, indent string) error {
	b, err := indentAppend(dst.AvailableBuffer(), src, prefix, indent)
	if err != nil {
		return err
	}
	dst.Write(b)
	return nil
}

// indentAppend is appendIndent appending to b.
func indentAppend(b, src []byte, prefix, indent string) ([]byte, error) {
	orig := len(b)
	depth := 0
	needIndent := false
	newline := func() {
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
			var ind bytes.Buffer
			if err := json.Indent(&ind, src, prefix, indent); err != nil {
				return b[:orig], err
			}
			return append(b[:orig], ind.Bytes()...), nil
		case '}', ']':
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
			needIndent = true
			b = append(b, c)
		case ',':
			b = append(b, c)
			newline()
		case ':':
			b = append(b, c, ' ')
		case '"':
			end := quoteEnd(src, i+1) + 1
			b = append(b, src[i:end]...)
			i = end - 1
		default:
			// A number or a literal: up to the next byte above.
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
