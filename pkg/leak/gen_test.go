package leak

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
)

// Generators for synthetic identifiers used by tests and benchmarks.

func randDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func randHex(r *rand.Rand, n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[r.IntN(16)]
	}
	return string(b)
}

func genIMEI(r *rand.Rand) string {
	s := "35" + randDigits(r, 12)
	return s + string(luhnDigit(s))
}

func genUUID(r *rand.Rand) string {
	h := randHex(r, 32)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

func deflateRaw(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}
