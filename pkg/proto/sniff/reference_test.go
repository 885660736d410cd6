package sniff

import (
	"math"
	"strings"
	"testing"
)

// referenceCounts is the per-byte loop Analyze used before it counted byte
// values and summed byteClass over them: what the new loop must give.
func referenceCounts(b []byte) (counts [256]int, printable int, hexOnly, b64 bool) {
	b64, hexOnly = true, true
	for _, c := range b {
		counts[c]++
		if (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n' {
			printable++
		}
		isHex := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		hexOnly = hexOnly && isHex
		b64 = b64 && (isHex || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '+' || c == '/' || c == '=' || c == '-' || c == '_')
	}
	return counts, printable, hexOnly, b64
}

// referenceAnalyze is Analyze with the counts, entropy, chi-square and
// alphabet worked out per byte as before (the head and the magic are
// Analyze's own).
func referenceAnalyze(b []byte) Profile {
	p := Analyze(b)
	if len(b) == 0 {
		return p
	}
	counts, printable, hexOnly, b64 := referenceCounts(b)
	n := float64(len(b))
	exp := n / 256
	var entropy, chiSquare float64
	for _, c := range counts {
		if c > 0 {
			pr := float64(c) / n
			entropy -= pr * math.Log2(pr)
		}
		d := float64(c) - exp
		chiSquare += d * d / exp
	}
	p.Entropy, p.ChiSquare, p.PrintableRatio = round(entropy, 4), round(chiSquare, 2), round(float64(printable)/n, 4)
	p.Alphabet = ""
	if hexOnly {
		p.Alphabet = "hex"
	} else if b64 {
		p.Alphabet = "base64"
	}
	p.Verdict = Classify(p)
	return p
}

func checkReference(t *testing.T, b []byte) {
	t.Helper()
	if got, want := Analyze(b), referenceAnalyze(b); got != want {
		t.Fatalf("Analyze(%q)\n got %+v\nwant %+v", b[:min(len(b), 64)], got, want)
	}
}

func TestAnalyzeMatchesReference(t *testing.T) {
	for _, c := range cases(t) {
		for n := range min(len(c.in), 9) + 1 { // every tail length of the four-way count
			checkReference(t, c.in[:len(c.in)-n])
		}
	}
	for _, s := range []string{"0123456789abcdefABCDEF", "aGVsbG8gd29ybGQ=", "a-b_c+d/e=", "\t\r\n plain", "\x00\x7f\x80\xff"} {
		checkReference(t, []byte(strings.Repeat(s, 300)))
	}
	for seed := uint64(0); seed < 50; seed++ {
		checkReference(t, random(int(seed)*83, seed))
	}
}
