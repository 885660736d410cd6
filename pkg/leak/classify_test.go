package leak

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestClassifyPayload(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := []byte(strings.Repeat("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n\r\n", 40))
	var proto bytes.Buffer
	for i := 0; i < 200; i++ {
		proto.Write([]byte{0x08, byte(i), 0x12, 0x04, 'n', 'a', 'm', 'e', 0x18, 0x00, 0x00, 0x01})
	}
	tests := []struct {
		name string
		in   []byte
		want Class
	}{
		{"short", []byte("hi"), TooShort},
		{"http text", text, Plaintext},
		{"base64", []byte(base64.StdEncoding.EncodeToString(random(300))), Encoded},
		{"hex", []byte(hex.EncodeToString(random(300))), Encoded},
		{"random 4k", random(4096), Encrypted},
		{"random 64", random(64), Encrypted},
		{"random 200", random(200), Encrypted},
		{"gzip", gz(text), Compressed},
		{"zstd magic", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, random(100)...), Compressed},
		// Headerless deflate of varied text passes the chi-square test like
		// ciphertext: byte statistics cannot tell them apart (documented).
		{"raw deflate of text", deflateRaw(words(r, 20000)), Encrypted},
		{"protobuf-like", proto.Bytes(), Binary},
		{"zeros", make([]byte, 512), Binary},
	}
	for _, tt := range tests {
		v := ClassifyPayload(tt.in)
		if v.Class != tt.want {
			t.Errorf("%s: %v (entropy %.2f chi2 %.0f printable %.2f), want %v", tt.name, v.Class, v.Entropy, v.ChiSquare, v.Printable, tt.want)
		}
	}
}

func TestDetectXOR(t *testing.T) {
	s := labScanner(t)
	plain := []byte(`{"imei":"867891045582412","os":"android","mail":"someone@example.com"}`)
	for _, key := range [][]byte{{0x5a}, {0x13, 0x37}, {1, 2, 3}, {0xde, 0xad, 0xbe, 0xef}} {
		enc := make([]byte, len(plain))
		for i := range plain {
			enc[i] = plain[i] ^ key[i%len(key)]
		}
		k, h, ok := s.DetectXOR(enc)
		if !ok {
			t.Errorf("key %x: not found", key)
			continue
		}
		if !bytes.Equal(k, key) || h.Identifier != "imei" || h.Value != "867891045582412" || h.Offset != 9 || strings.Join(h.Encoding, ">") != "xor>plain" {
			t.Errorf("key %x: got key %x hit %+v", key, k, h)
		}
	}
	if _, _, ok := s.DetectXOR(plain); ok {
		t.Error("plaintext reported as XOR")
	}
	r := rand.New(rand.NewPCG(1, 1))
	noise := make([]byte, 1<<14)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	if _, _, ok := s.DetectXOR(noise); ok {
		t.Error("random bytes reported as XOR")
	}
}

func FuzzScan(f *testing.F) {
	s := labScanner(f)
	for _, seed := range []string{
		"imei=867891045582412&lat=52.5125&lon=13.3252",
		`{"device":{"imei":"867891045582412","gaid":"426672f0-0f0b-4cc5-aa43-cb92d841d8cf"}}`,
		"data=" + base64.StdEncoding.EncodeToString(gz([]byte(`{"imei":"867891045582412"}`))),
		`{"payload":"{\"imsi\":\"262023932190109\"}","x":"\u0040"}`,
		"<r><mac>f8:a4:5f:0d:e5:01</mac><phone>+49 162 89027936</phone></r>",
		"Basic Ym9iOmh1bnRlcjI=",
		string(gz([]byte("someone@example.com"))),
		string(zl([]byte("bssid=3c:a6:2f:db:5f:37"))),
		`{"a":[1,2,{"b":"`,
		"%ZZ%4",
	} {
		f.Add("body", []byte(seed))
	}
	f.Add("header:Authorization", []byte("Basic Ym9iOmh1bnRlcjI="))
	f.Add("stun.username", []byte("\x94\x10\x3e\x35\x01\xc1 94103E3501C0"))
	f.Fuzz(func(t *testing.T, loc string, data []byte) {
		in := Input{Location: loc, Data: data}
		copy(in.MACs[0][:], data) // the first bytes are a link address (linkmac.go)
		for _, h := range scanAll(s, in) {
			if h.Identifier == "" || h.Value == "" || len(h.Encoding) == 0 || h.Offset < 0 || h.Offset > len(data) {
				t.Fatalf("bad hit %+v", h)
			}
		}
		ClassifyPayload(data)
		s.DetectXOR(data)
	})
}

// words is pseudo-prose: random words from a small vocabulary with numbers.
func words(r *rand.Rand, n int) []byte {
	vocab := strings.Fields("the device sent its location and identifier to a server over plain http every minute while idle battery network wifi cellular event screen click value")
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(vocab[r.IntN(len(vocab))])
		if r.IntN(4) == 0 {
			b.WriteString(" " + randDigits(r, 1+r.IntN(6)))
		}
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// classifyRef is ClassifyPayload as it was before Histogram: one pass
// over the joined bytes with the printable share counted per byte.
func classifyRef(b []byte) Class {
	if len(b) > MaxClassify {
		b = b[:MaxClassify]
	}
	if len(b) < MinClassify {
		return TooShort
	}
	var hist [256]uint32
	printable := 0
	for _, c := range b {
		hist[c]++
		if c >= 0x20 && c < 0x7f || c == '\t' || c == '\r' || c == '\n' {
			printable++
		}
	}
	h := Histogram{counts: hist, n: len(b)}
	copy(h.head[:], b)
	n := float64(len(b))
	return h.classOf(printable, func() (float64, float64) { return entropy(&hist, n), chiSquare(&hist, n) })
}

// TestHistogramParts: the class of parts counted one after the other is
// the class of the joined bytes, wherever the parts are cut (the magic
// bytes of compressed data across a cut, past MaxClassify), and a copy
// of a Histogram counts on apart from the original.
func TestHistogramParts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := []byte(strings.Repeat("POST /log HTTP/1.1\r\nHost: t.example\r\n\r\nimei=867891045582412\n", 30))
	inputs := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", []byte("0123456789abcde")},
		{"text", text},
		{"hex", []byte(hex.EncodeToString(random(700)))},
		{"random 100", random(100)},
		{"random 5000", random(5000)},
		{"gzip", gz(text)},
		{"zstd magic", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, random(300)...)},
		{"binary", bytes.Repeat([]byte{0, 1, 2, 3, 0, 0, 9, 0x80}, 200)},
		{"past MaxClassify", random(MaxClassify + 3000)},
	}
	for _, in := range inputs {
		want := classifyRef(in.b)
		if got := ClassifyPayload(in.b).Class; got != want {
			t.Errorf("%s: ClassifyPayload %v, want %v", in.name, got, want)
		}
		if got := LooksEncrypted(in.b); got != (want == Encrypted) {
			t.Errorf("%s: LooksEncrypted %v, class %v", in.name, got, want)
		}
		for _, cut := range []int{0, 1, 3, 15, 16, 17, 255, 256, 1000, len(in.b) / 2, len(in.b) - 1, len(in.b)} {
			if cut < 0 || cut > len(in.b) {
				continue
			}
			var h Histogram
			h.Add(in.b[:cut])
			first := h
			h.Add(in.b[cut:])
			if got := h.Class(); got != want {
				t.Errorf("%s cut at %d: %v, want %v", in.name, cut, got, want)
			}
			if got, want := first.Class(), classifyRef(in.b[:cut]); got != want {
				t.Errorf("%s cut at %d: first part %v, want %v", in.name, cut, got, want)
			}
			if h.Len() != min(len(in.b), MaxClassify) || first.Len() != min(cut, MaxClassify) {
				t.Errorf("%s cut at %d: lengths %d and %d", in.name, cut, h.Len(), first.Len())
			}
		}
	}
}

// TestEntropyTerms: the entropy with each count's term computed once is
// the sum of every bucket's term, bit for bit, for flat, uneven and
// large counts.
func TestEntropyTerms(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		name string
		n    int
		gen  func() byte
	}{
		{"flat 4k", 4096, func() byte { return byte(r.Uint32()) }},
		{"flat 64k", 64 << 10, func() byte { return byte(r.Uint32()) }},
		{"skewed", 3000, func() byte { return byte(r.IntN(40) * r.IntN(7)) }},
		{"few values", 900, func() byte { return byte(r.IntN(3)) }},
	} {
		var h Histogram
		for range tc.n {
			h.Add([]byte{tc.gen()})
		}
		want, n := 0.0, float64(h.n)
		for _, c := range h.counts {
			if c > 0 {
				p := float64(c) / n
				term := p * math.Log2(p)
				want -= term
			}
		}
		if got := entropy(&h.counts, n); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s: entropy %v, want %v", tc.name, got, want)
		}
	}
}
