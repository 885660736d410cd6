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
	if len(b) > MaxClassify {
		b = b[:MaxClassify]
	}
	v := Verdict{N: len(b)}
	if len(b) < MinClassify {
		return v
	}
	var hist [256]int
	printable := histogram(b, &hist)
	n := float64(len(b))
	v.Entropy, v.ChiSquare = entropy(&hist, n), chiSquare(&hist, n)
	v.Printable = float64(printable) / n
	v.Class = classOf(b, &hist, printable, func() (float64, float64) { return v.Entropy, v.ChiSquare })
	return v
}

// LooksEncrypted reports whether ClassifyPayload(b).Class is Encrypted,
// computing the entropy and the chi-square only when the printable share
// and the magic bytes leave it open.
func LooksEncrypted(b []byte) bool {
	if len(b) > MaxClassify {
		b = b[:MaxClassify]
	}
	if len(b) < MinClassify {
		return false
	}
	var hist [256]int
	printable := histogram(b, &hist)
	n := float64(len(b))
	return classOf(b, &hist, printable, func() (float64, float64) { return entropy(&hist, n), chiSquare(&hist, n) }) == Encrypted
}

// histogram counts the bytes of b and returns how many are printable
// ASCII, tab, CR or LF.
func histogram(b []byte, hist *[256]int) int {
	printable := 0
	for _, c := range b {
		hist[c]++
		if c >= 0x20 && c < 0x7f || c == '\t' || c == '\r' || c == '\n' {
			printable++
		}
	}
	return printable
}

// entropy is the Shannon entropy of the histogram of n bytes, in bits per byte.
func entropy(hist *[256]int, n float64) float64 {
	e := 0.0
	for _, h := range hist {
		if h > 0 {
			p := float64(h) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

// chiSquare tests the histogram of n bytes against uniform bytes.
func chiSquare(hist *[256]int, n float64) float64 {
	exp := n / 256
	x := 0.0
	for _, h := range hist {
		d := float64(h) - exp
		x += d * d / exp
	}
	return x
}

// classOf decides the class of b (at least MinClassify bytes) from its
// histogram; stats gives the entropy and chi-square when they are needed.
func classOf(b []byte, hist *[256]int, printable int, stats func() (entropy, chi float64)) Class {
	n := float64(len(b))
	if float64(printable)/n >= PrintableText {
		if encodedAlphabet(hist, len(b)) {
			return Encoded
		}
		return Plaintext
	}
	if compressed(b) != "" || hasMagic(b) {
		return Compressed
	}
	e, chi := stats()
	high := false
	if len(b) >= 1024 {
		high = e >= HighEntropy
	} else {
		high = e >= HighEntropyRatio*math.Log2(math.Min(n, 256))
	}
	switch {
	case !high:
		return Binary
	case len(b) >= ChiSquareMinN && chi > ChiSquareMax:
		return Compressed
	default:
		return Encrypted
	}
}

// encodedAlphabet: (nearly) every byte is from the base64 or hex alphabet
// and there is no whitespace run that would make it prose.
func encodedAlphabet(hist *[256]int, n int) bool {
	b64, hx := 0, 0
	for c := 0; c < 256; c++ {
		if hist[c] == 0 {
			continue
		}
		if isB64Char(byte(c)) || c == '=' {
			b64 += hist[c]
		}
		if hexVal(byte(c)) >= 0 {
			hx += hist[c]
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
