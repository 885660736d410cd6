// Package coding says which content codings an HTTP decoder undid on a
// body, in the order the leak scanner's encoding chain wants them.
package coding

import (
	"slices"
	"strings"
)

// Undone returns the codings of a Content-Encoding value, outermost (last
// applied) first ("gzip, br" was gzipped, then brotli-compressed: br,
// gzip), or nil when the body was kept encoded (flags unknown-encoding or
// decode-error) or had none.
func Undone(encoding string, flags []string) []string {
	if encoding == "" || slices.Contains(flags, "unknown-encoding") || slices.Contains(flags, "decode-error") {
		return nil
	}
	var out []string
	for _, c := range strings.Split(encoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
			continue
		case "x-gzip":
			c = "gzip"
		}
		out = append(out, c)
	}
	slices.Reverse(out)
	return out
}
