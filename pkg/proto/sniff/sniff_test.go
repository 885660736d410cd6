package sniff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

func random(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

const text = `GET /api/v2/telemetry?device=cam-01&fw=1.2.3 HTTP/1.1
Host: telemetry.example.com
User-Agent: CamFirmware/1.2.3
Content-Type: application/json

{"serial":"SN123456789","ssid":"HomeWiFi","lat":52.5200,"lon":13.4050,"uptime":86400}
`

func compress(t testing.TB, kind string, b []byte) []byte {
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	default:
		fw, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func xor(b []byte, key string) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[i] ^ key[i%len(key)]
	}
	return out
}

type sniffCase struct {
	name string
	in   []byte
	want Verdict
}

func cases(t testing.TB) []sniffCase {
	bigText := []byte(strings.Repeat(text, 20))
	proto := []byte{0x08, 0x96, 0x01, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g', 0x1a, 0x03, 0x01, 0x02, 0x03,
		0x20, 0x00, 0x28, 0x00, 0x30, 0x00, 0x38, 0x01, 0x40, 0x00, 0x48, 0x00, 0x50, 0x00, 0x58, 0x00, 0x60, 0x00}
	return []sniffCase{
		{"empty", nil, Empty},
		{"short-binary", []byte{0, 1, 2, 0xff, 0xfe, 9, 0, 0}, Short},
		{"http-json", []byte(text), Plaintext},
		{"base64-random", []byte(base64.StdEncoding.EncodeToString(random(96, 1))), Encoded},
		{"hex-random", []byte(hex.EncodeToString(random(48, 2))), Encoded},
		{"gzip-text", compress(t, "gzip", bigText), Compressed},
		{"zlib-text", compress(t, "zlib", bigText), Compressed},
		{"random-32", random(32, 3), LikelyEncrypted},
		{"random-64", random(64, 4), LikelyEncrypted},
		{"random-4096", random(4096, 5), LikelyEncrypted},
		{"xor-4-byte-key", xor([]byte(text), "\x5a\xa5\x3c\xc3"), Binary},
		{"xor-1-byte-key-large", xor(bigText, "\x77"), Binary},
		{"protobuf-like", proto, Binary},
		{"zero-padding", make([]byte, 256), Binary},
	}
}

func TestClassify(t *testing.T) {
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			p := Analyze(c.in)
			if p.Verdict != c.want {
				t.Errorf("verdict %s, want %s (%+v)", p.Verdict, c.want, p)
			}
			if p.Entropy < 0 || p.Entropy > 8 {
				t.Errorf("entropy %v", p.Entropy)
			}
			matchGolden(t, c.name, p)
		})
	}
}

// Random samples of every size from 32 bytes pass as random almost always
// (the limit is 5 standard deviations), and deflate without a header is not
// mistaken for plaintext.
func TestRandomSamples(t *testing.T) {
	fails := 0
	for seed := uint64(100); seed < 400; seed++ {
		n := 32 + int(seed%16)*64
		if v := Analyze(random(n, seed)).Verdict; v != LikelyEncrypted {
			fails++
		}
	}
	if fails > 1 {
		t.Errorf("%d of 300 random samples not classified likely-encrypted", fails)
	}
	if v := Analyze(compress(t, "deflate", []byte(strings.Repeat(text, 50)))).Verdict; v != LikelyEncrypted && v != Binary {
		t.Errorf("raw deflate: %s", v)
	}
}

func matchGolden(t *testing.T, name string, v any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

func TestStream(t *testing.T) {
	var s Stream
	big := random(SampleLen+100, 9)
	s.Data(proto.ToServer, big[:100], proto.Meta{Frame: 4})
	s.Data(proto.ToServer, big[100:], proto.Meta{Frame: 5})
	s.Data(proto.ToClient, []byte("hello"), proto.Meta{Frame: 6})
	s.Gap(proto.ToClient, 10, proto.Meta{})
	s.Data(proto.ToClient, []byte("world"), proto.Meta{Frame: 7})
	s.Data(proto.Dir(9), []byte("x"), proto.Meta{})
	s.End(proto.Meta{})
	up, total, first := s.Sample(proto.ToServer)
	if len(up) != SampleLen || total != uint64(len(big)) || first.Frame != 4 || !bytes.Equal(up, big[:SampleLen]) {
		t.Errorf("up: %d bytes, total %d, first %d", len(up), total, first.Frame)
	}
	down, total, _ := s.Sample(proto.ToClient)
	if string(down) != "hello" || total != 20 {
		t.Errorf("down: %q total %d", down, total)
	}
}

func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range cases(t) {
		fuzzseed.Write(t, "FuzzAnalyze", c.name, c.in[:min(len(c.in), 512)])
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, c := range cases(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Analyze(b)
		if p.Entropy < 0 || p.Entropy > 8 || p.PrintableRatio < 0 || p.PrintableRatio > 1 || p.Verdict == "" {
			t.Fatalf("profile %+v", p)
		}
		if len(p.HeadHex) > 2*HeadLen {
			t.Fatal("head too long")
		}
		checkReference(t, b)
	})
}

func BenchmarkAnalyze(b *testing.B) {
	b.Run("random", func(b *testing.B) { benchAnalyze(b, random(SampleLen, 1)) })
	b.Run("random-750", func(b *testing.B) { benchAnalyze(b, random(750, 1)) })
	b.Run("text", func(b *testing.B) { benchAnalyze(b, []byte(strings.Repeat(text, SampleLen/len(text)+1)[:SampleLen])) })
}

func benchAnalyze(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Analyze(in)
	}
}
