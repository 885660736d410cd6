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
// writes, goes through json.Indent.
func appendIndent(dst *bytes.Buffer, src []byte, prefix, indent string) error {
	b := dst.AvailableBuffer()
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
			return json.Indent(dst, src, prefix, indent)
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
			// Copy the string through its closing quote.
			j := i + 1
			for j < len(src) {
				k := bytes.IndexAny(src[j:], `"\`)
				if k < 0 {
					j = len(src)
					break
				}
				j += k
				if src[j] == '"' {
					break
				}
				j += 2 // a backslash and the byte it escapes
			}
			end := min(j+1, len(src))
			b = append(b, src[i:end]...)
			i = end - 1
		default:
			b = append(b, c)
		}
	}
	dst.Write(b)
	return nil
}
