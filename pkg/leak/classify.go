package leak

import (
	"bytes"
	"math"
)

// Class is what a payload's bytes look like.
type Class uint8

const (
	// TooShort: fewer than MinClassify bytes; no verdict.
	TooShort Class = iota
	// Plaintext: mostly printable text.
	Plaintext
	// Encoded: printable text made only of a base64 or hex alphabet.
	Encoded
	// Compressed: a known compression header, or high entropy whose byte
	// histogram is too uneven for ciphertext (chi-square above the bound).
	Compressed
	// Encrypted: high entropy with a flat histogram: likely ciphertext,
	// random data, or headerless compressed data (which byte statistics
	// cannot always tell from ciphertext).
	Encrypted
	// Binary: structured binary (low or medium entropy, not text).
	Binary
)

var classNamesV = [...]string{"too-short", "plaintext", "encoded", "compressed", "encrypted", "binary"}

func (c Class) String() string {
	if int(c) < len(classNamesV) {
		return classNamesV[c]
	}
	return "unknown"
}

// Verdict is ClassifyPayload's answer with the statistics behind it.
type Verdict struct {
	Class     Class
	Entropy   float64 // Shannon entropy, bits per byte
	ChiSquare float64 // against a uniform byte distribution (255 degrees of freedom)
	Printable float64 // share of printable ASCII, tab, CR, LF
	N         int     // bytes examined
}

// Thresholds of ClassifyPayload (documented in docs/leaks.md).
const (
	MinClassify      = 16 // shorter payloads are TooShort
	MaxClassify      = 64 << 10
	PrintableText    = 0.95  // printable share for text
	EncodedAlphabet  = 0.98  // alphabet share for base64/hex text
	HighEntropyRatio = 0.85  // entropy / log2(min(n, 256)) for n < 1024
	HighEntropy      = 7.2   // bits per byte for n >= 1024
	ChiSquareMax     = 400.0 // above: too uneven for ciphertext (p < ~0.0001 at 255 df)
	ChiSquareMinN    = 512   // the chi-square test is used from this size on
)

// ClassifyPayload says whether b looks like plaintext, encoded text,
// compressed data, ciphertext or structured binary, from the printable
// ratio, Shannon entropy and a chi-square test against uniform bytes.
// Only the first MaxClassify bytes are examined.
func ClassifyPayload(b []byte) Verdict {
	var h Histogram
	h.Add(b)
	v := Verdict{N: h.n}
	if h.n < MinClassify {
		return v
	}
	printable := h.printable()
	n := float64(h.n)
	v.Entropy, v.ChiSquare = entropy(&h.counts, n), chiSquare(&h.counts, n)
	v.Printable = float64(printable) / n
	v.Class = h.classOf(printable, func() (float64, float64) { return v.Entropy, v.ChiSquare })
	return v
}

// LooksEncrypted reports whether ClassifyPayload(b).Class is Encrypted,
// computing the entropy and the chi-square only when the printable share
// and the magic bytes leave it open.
func LooksEncrypted(b []byte) bool {
	var h Histogram
	h.Add(b)
	return h.Class() == Encrypted
}

// Histogram counts the bytes of a payload given in parts (Add), the
// first MaxClassify of them, for ClassifyPayload's class of the parts
// joined without joining them: a flow's two directions, or what a
// direction sent so far (a copy of the value goes on counting apart).
type Histogram struct {
	counts [256]uint32
	n      int
	head   [16]byte // the first bytes, for the magic numbers of compressed data
}

// Add counts b after the bytes counted so far, up to MaxClassify in all.
func (h *Histogram) Add(b []byte) {
	b = b[:min(len(b), MaxClassify-h.n)]
	if h.n < len(h.head) {
		copy(h.head[h.n:], b)
	}
	h.n += len(b)
	for _, c := range b {
		h.counts[c]++
	}
}

// Len is the number of bytes counted.
func (h *Histogram) Len() int { return h.n }

// Class is ClassifyPayload(the bytes counted).Class; the entropy and the
// chi-square are computed only when the printable share and the magic
// bytes leave it open.
func (h *Histogram) Class() Class {
	if h.n < MinClassify {
		return TooShort
	}
	n := float64(h.n)
	return h.classOf(h.printable(), func() (float64, float64) { return entropy(&h.counts, n), chiSquare(&h.counts, n) })
}

// printableByte: printable ASCII, tab, CR, LF.
var printableByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c < 0x7f || c == '\t' || c == '\r' || c == '\n'
	}
	return t
}()

// printable counts the printable bytes (printableByte).
func (h *Histogram) printable() int {
	p := 0
	for c, k := range h.counts {
		if printableByte[c] {
			p += int(k)
		}
	}
	return p
}

// entropy is the Shannon entropy of the histogram of n bytes, in bits per byte.
// A count's term p·log2(p) depends on the count alone: the terms of the
// counts below 64, most of a flat histogram's (4 KiB of ciphertext: 16 on
// average), are computed once each, in the same order and with the same
// rounding.
func entropy(hist *[256]uint32, n float64) float64 {
	var memo [64]float64
	var have uint64
	e := 0.0
	for _, h := range hist {
		if h == 0 {
			continue
		}
		if h < 64 && have&(1<<h) != 0 {
			e -= memo[h]
			continue
		}
		p := float64(h) / n
		t := p * math.Log2(p)
		if h < 64 {
			memo[h], have = t, have|1<<h
		}
		e -= t
	}
	return e
}

// chiSquare tests the histogram of n bytes against uniform bytes.
func chiSquare(hist *[256]uint32, n float64) float64 {
	exp := n / 256
	x := 0.0
	for _, h := range hist {
		d := float64(h) - exp
		x += d * d / exp
	}
	return x
}

// classOf decides the class of the bytes counted (at least MinClassify)
// from their histogram; stats gives the entropy and chi-square when they
// are needed.
func (h *Histogram) classOf(printable int, stats func() (entropy, chi float64)) Class {
	n := float64(h.n)
	if float64(printable)/n >= PrintableText {
		if encodedAlphabet(&h.counts, h.n) {
			return Encoded
		}
		return Plaintext
	}
	if head := h.head[:min(h.n, len(h.head))]; compressed(head) != "" || hasMagic(head) {
		return Compressed
	}
	e, chi := stats()
	high := false
	if h.n >= 1024 {
		high = e >= HighEntropy
	} else {
		high = e >= HighEntropyRatio*math.Log2(math.Min(n, 256))
	}
	switch {
	case !high:
		return Binary
	case h.n >= ChiSquareMinN && chi > ChiSquareMax:
		return Compressed
	default:
		return Encrypted
	}
}

// encodedAlphabet: (nearly) every byte is from the base64 or hex alphabet
// and there is no whitespace run that would make it prose.
func encodedAlphabet(hist *[256]uint32, n int) bool {
	b64, hx := 0, 0
	for c := 0; c < 256; c++ {
		if hist[c] == 0 {
			continue
		}
		if isB64Char(byte(c)) || c == '=' {
			b64 += int(hist[c])
		}
		if hexVal(byte(c)) >= 0 {
			hx += int(hist[c])
		}
	}
	lim := int(math.Ceil(EncodedAlphabet * float64(n)))
	return b64 >= lim || hx >= lim
}

// hasMagic recognises other compression containers: zstd, xz, bzip2, lz4.
func hasMagic(b []byte) bool {
	for _, m := range [][]byte{{0x28, 0xb5, 0x2f, 0xfd}, {0xfd, '7', 'z', 'X', 'Z', 0}, []byte("BZh"), {0x04, 0x22, 0x4d, 0x18}} {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}
