// Package sniff profiles bytes that no decoder recognised: the first bytes
// as hex and text, Shannon entropy, a chi-square test against uniformly
// random bytes, the printable ratio and a verdict (plaintext, encoded,
// compressed, likely encrypted, binary). Devices that "encrypt" with home-made
// schemes or send raw binary to the cloud show up here.
package sniff

import (
	"bytes"
	"encoding/hex"
	"math"

	"github.com/phonehome/phonehome/pkg/proto"
)

// HeadLen is how many leading bytes a Profile shows.
const HeadLen = 32

// SampleLen is how many bytes per direction Stream keeps for analysis.
const SampleLen = 4096

// Verdict is the conclusion of Classify.
type Verdict string

// Verdicts, see Classify.
const (
	Empty           Verdict = "empty"
	Short           Verdict = "short"
	Plaintext       Verdict = "plaintext"
	Encoded         Verdict = "encoded"
	Compressed      Verdict = "compressed"
	LikelyEncrypted Verdict = "likely-encrypted"
	Binary          Verdict = "binary"
)

// Profile describes a sample of bytes.
type Profile struct {
	Len            int     `json:"len"`       // bytes analysed
	HeadHex        string  `json:"head_hex"`  // first HeadLen bytes in hex
	HeadText       string  `json:"head_text"` // the same bytes, non-printable as '.'
	Entropy        float64 `json:"entropy"`   // Shannon entropy, bits per byte (0 to 8)
	ChiSquare      float64 `json:"chi_square"`
	PrintableRatio float64 `json:"printable_ratio"`
	Magic          string  `json:"magic,omitempty"` // container or compression format found at the start
	Alphabet       string  `json:"alphabet,omitempty"`
	Verdict        Verdict `json:"verdict"`
}

// Analyze profiles b and classifies it.
func Analyze(b []byte) Profile {
	p := Profile{Len: len(b)}
	head := b[:min(len(b), HeadLen)]
	p.HeadHex = hex.EncodeToString(head)
	t := make([]byte, len(head))
	for i, c := range head {
		if c >= 0x20 && c < 0x7f {
			t[i] = c
		} else {
			t[i] = '.'
		}
	}
	p.HeadText = string(t)
	if len(b) == 0 {
		p.Verdict = Empty
		return p
	}
	counts := countBytes(b)
	printable := 0
	b64, hexOnly := true, true
	for c, k := range counts {
		if k == 0 {
			continue
		}
		class := byteClass[c]
		if class&printableByte != 0 {
			printable += k
		}
		hexOnly = hexOnly && class&hexByte != 0
		b64 = b64 && class&base64Byte != 0
	}
	n := float64(len(b))
	exp := n / 256
	for _, c := range counts {
		if c > 0 {
			pr := float64(c) / n
			p.Entropy -= pr * math.Log2(pr)
		}
		d := float64(c) - exp
		p.ChiSquare += d * d / exp
	}
	p.Entropy = round(p.Entropy, 4)
	p.ChiSquare = round(p.ChiSquare, 2)
	p.PrintableRatio = round(float64(printable)/n, 4)
	switch {
	case hexOnly:
		p.Alphabet = "hex"
	case b64:
		p.Alphabet = "base64"
	}
	p.Magic = magic(b)
	p.Verdict = Classify(p)
	return p
}

// countBytes counts each byte value of b. Four tables, summed at the end,
// let a run of one byte value count without each increment waiting for
// the one before.
func countBytes(b []byte) (counts [256]int) {
	var t [4][256]uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		t[0][b[i]]++
		t[1][b[i+1]]++
		t[2][b[i+2]]++
		t[3][b[i+3]]++
	}
	for ; i < len(b); i++ {
		t[0][b[i]]++
	}
	for c := range counts {
		counts[c] = int(t[0][c]) + int(t[1][c]) + int(t[2][c]) + int(t[3][c])
	}
	return counts
}

// The classes of byte values Analyze counts.
const (
	printableByte = 1 << iota // ASCII letters, digits, punctuation, space, tab, CR, LF
	hexByte                   // 0-9, a-f, A-F
	base64Byte                // the standard and URL-safe base64 alphabets, with '='
)

var byteClass = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		if (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n' {
			t[c] |= printableByte
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			t[c] |= hexByte | base64Byte
		}
		if (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' {
			t[c] |= base64Byte
		}
	}
	return t
}()

func round(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(v*s) / s
}

// chiSquareLimit is the largest chi-square statistic (255 degrees of
// freedom) still taken for random bytes: the mean 255 plus five standard
// deviations (sqrt(510)). Ciphertext passes at every sample size; text and
// structured binary fail by far once 32 or more bytes are seen.
const chiSquareLimit = 255 + 5*22.5832 // sqrt(510) ≈ 22.5832

// Classify decides, in this order:
//   - Empty: no bytes.
//   - Compressed: a known compression or archive header (gzip, zlib, zstd,
//     bzip2, xz, lz4, zip, 7z).
//   - Encoded: at least 95% printable, at least 16 bytes, all of them hex
//     digits or the base64 alphabet (standard or URL-safe).
//   - Plaintext: at least 95% printable (ASCII letters, digits,
//     punctuation, space, tab, CR, LF).
//   - Short: fewer than 32 bytes, too few for a statistical verdict.
//   - LikelyEncrypted: chi-square at most 255+5·sqrt(510) (≈368), that is
//     indistinguishable from uniformly random bytes. Compressed data without
//     a header also lands here.
//   - Binary: anything else (structured binary).
func Classify(p Profile) Verdict {
	switch {
	case p.Len == 0:
		return Empty
	case p.Magic != "":
		return Compressed
	case p.PrintableRatio >= 0.95 && p.Len >= 16 && p.Alphabet != "":
		return Encoded
	case p.PrintableRatio >= 0.95:
		return Plaintext
	case p.Len < 32:
		return Short
	case p.ChiSquare <= chiSquareLimit:
		return LikelyEncrypted
	}
	return Binary
}

var magics = []struct {
	name   string
	prefix []byte
}{
	{"gzip", []byte{0x1f, 0x8b, 0x08}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"bzip2", []byte("BZh")},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
	{"lz4", []byte{0x04, 0x22, 0x4d, 0x18}},
	{"zip", []byte("PK\x03\x04")},
	{"7z", []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}},
}

func magic(b []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(b, m.prefix) {
			return m.name
		}
	}
	// zlib: CM 8, window <= 32K, header checksum (RFC 1950).
	if len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
		return "zlib"
	}
	return ""
}

// Stream keeps the first SampleLen bytes of each direction of a TCP stream
// that no decoder claimed. It implements proto.StreamParser.
type Stream struct {
	sample  [2][]byte
	total   [2]uint64
	first   [2]proto.Meta
	gaps    [2]int
	stopped [2]bool
}

var _ proto.StreamParser = (*Stream)(nil)

// Data keeps up to SampleLen bytes of dir.
func (s *Stream) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	if s.total[dir] == 0 {
		s.first[dir] = m
	}
	s.total[dir] += uint64(len(data))
	if room := SampleLen - len(s.sample[dir]); room > 0 && !s.stopped[dir] {
		s.sample[dir] = append(s.sample[dir], data[:min(room, len(data))]...)
	}
}

// Gap counts missing bytes; the sample stops at the first gap so that it
// stays contiguous.
func (s *Stream) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	s.gaps[dir]++
	s.total[dir] += uint64(max(n, 0))
	s.stopped[dir] = true
}

// End does nothing; the sample stays readable.
func (s *Stream) End(proto.Meta) {}

// Sample returns the kept bytes of dir, the total bytes seen (gaps
// included) and the Meta of its first data.
func (s *Stream) Sample(dir proto.Dir) (sample []byte, total uint64, first proto.Meta) {
	if dir > proto.ToClient {
		return nil, 0, proto.Meta{}
	}
	return s.sample[dir], s.total[dir], s.first[dir]
}
