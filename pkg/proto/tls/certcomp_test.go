package tls

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// compress returns data compressed with a certificate compression
// algorithm, by the libraries' encoders.
func compress(t testing.TB, alg uint16, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch alg {
	case CertCompressionZlib:
		w := zlib.NewWriter(&b)
		w.Write(data)
		w.Close()
	case CertCompressionBrotli:
		w := brotli.NewWriter(&b)
		w.Write(data)
		w.Close()
	case CertCompressionZstd:
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		return w.EncodeAll(data, nil)
	default:
		return data
	}
	return b.Bytes()
}

// compressed builds a CompressedCertificate message announcing n
// uncompressed bytes.
func compressed(alg uint16, n int, data []byte) []byte {
	body := []byte{byte(alg >> 8), byte(alg), byte(n >> 16), byte(n >> 8), byte(n), byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data))}
	body = append(body, data...)
	return append([]byte{TypeCompressedCertificate, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// TestDecompressCertificate: each algorithm gives back the Certificate
// message; a wrong announced length, an unknown algorithm, corrupt data
// and an announced length over the limit are errors.
func TestDecompressCertificate(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	cert := msg13(nil, selfSigned13(t, "cam.example.com", now.Add(time.Hour)), selfSigned13(t, "ca.example.com", now.Add(time.Hour)))
	body := cert[4:]
	bomb := make([]byte, 8<<20) // 8 MiB of zeros, compressed to a few KiB
	for _, tc := range []struct {
		name string
		msg  []byte
		err  bool
	}{
		{"zlib", compressed(CertCompressionZlib, len(body), compress(t, CertCompressionZlib, body)), false},
		{"brotli", compressed(CertCompressionBrotli, len(body), compress(t, CertCompressionBrotli, body)), false},
		{"zstd", compressed(CertCompressionZstd, len(body), compress(t, CertCompressionZstd, body)), false},
		{"shorter than announced", compressed(CertCompressionBrotli, len(body)+1, compress(t, CertCompressionBrotli, body)), true},
		{"longer than announced", compressed(CertCompressionZlib, len(body)-1, compress(t, CertCompressionZlib, body)), true},
		{"zlib bomb", compressed(CertCompressionZlib, 1000, compress(t, CertCompressionZlib, bomb)), true},
		{"brotli bomb", compressed(CertCompressionBrotli, MaxUncompressedCertificate, compress(t, CertCompressionBrotli, bomb)), true},
		{"zstd bomb", compressed(CertCompressionZstd, MaxUncompressedCertificate, compress(t, CertCompressionZstd, bomb)), true},
		{"over the limit", compressed(CertCompressionZlib, MaxUncompressedCertificate+1, compress(t, CertCompressionZlib, body)), true},
		{"zero length", compressed(CertCompressionZlib, 0, compress(t, CertCompressionZlib, nil)), true},
		{"unknown algorithm", compressed(0x4a4a, len(body), body), true},
		{"not compressed", compressed(CertCompressionZstd, len(body), body), true},
		{"corrupt zlib", func() []byte {
			c := compress(t, CertCompressionZlib, body)
			c[len(c)-1] ^= 0xff // the Adler-32 checksum
			return compressed(CertCompressionZlib, len(body), c)
		}(), true},
		{"bytes after the data", func() []byte {
			m := compressed(CertCompressionZlib, len(body), compress(t, CertCompressionZlib, body))
			m = append(m, 0)
			n := len(m) - 4 // the handshake length covers the extra byte
			m[1], m[2], m[3] = byte(n>>16), byte(n>>8), byte(n)
			return m
		}(), true},
		{"a Certificate", cert, true},
		{"empty", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecompressCertificate(tc.msg)
			if tc.err {
				if err == nil {
					t.Fatalf("no error, %d bytes", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, cert) {
				t.Errorf("got %d bytes, want the %d-byte Certificate", len(got), len(cert))
			}
		})
	}
	if _, err := DecompressCertificate(compressed(CertCompressionZlib, MaxUncompressedCertificate+1, []byte{1})); !errors.Is(err, ErrCertCompression) {
		t.Errorf("over the limit: %v", err)
	}
}

// TestDecryptedCompressedCertificate: a compressed chain handed in after
// decryption gets the checks of an uncompressed one; one that does not
// decompress leaves a note and an empty chain.
func TestDecryptedCompressedCertificate(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	old := msg13(nil, selfSigned13(t, "other.example.com", now.Add(-time.Hour)))
	for _, tc := range []struct {
		name  string
		msg   []byte
		certs int
		kinds []string
		notes int
	}{
		{"brotli", compressed(CertCompressionBrotli, len(old)-4, compress(t, CertCompressionBrotli, old[4:])), 1,
			[]string{"tls-cert-self-signed", "tls-cert-expired", "tls-cert-name-mismatch"}, 0},
		{"zstd, wrong length", compressed(CertCompressionZstd, len(old), compress(t, CertCompressionZstd, old[4:])), 0, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &prototest.Sink{}
			s := NewStream(sink)
			s.Data(proto.ToServer, craft.ClientHello("cam.example.com", craft.TLS13), proto.Meta{Frame: 1, Time: now})
			s.DecryptedCertificate(tc.msg, proto.Meta{Frame: 6, Time: now})
			s.End(proto.Meta{Frame: 10})
			ss := s.Session()
			if len(ss.Certificates) != tc.certs || ss.CertificateFrame != 6 || len(ss.Notes) != tc.notes {
				t.Errorf("certs %d frame %d notes %q", len(ss.Certificates), ss.CertificateFrame, ss.Notes)
			}
			var kinds []string
			for _, f := range sink.Findings {
				if f.Kind != "tls-no-sni" {
					kinds = append(kinds, f.Kind)
				}
			}
			if len(kinds) != len(tc.kinds) {
				t.Fatalf("findings %v, want %v", kinds, tc.kinds)
			}
			for i := range kinds {
				if kinds[i] != tc.kinds[i] {
					t.Errorf("findings %v, want %v", kinds, tc.kinds)
				}
			}
			chain := ReadServerChain13(tc.msg, proto.Meta{Frame: 6, Time: now})
			if len(chain.Certificates) != tc.certs || (chain.Err != nil) != (tc.notes > 0) {
				t.Errorf("ReadServerChain13: %d certificates, err %v", len(chain.Certificates), chain.Err)
			}
		})
	}
}

// FuzzDecompressCertificate: any CompressedCertificate either fails or
// gives a Certificate message of exactly the announced length, within the
// limit.
func FuzzDecompressCertificate(f *testing.F) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	body := msg13(nil, selfSigned13(f, "cam.example.com", now.Add(time.Hour)))[4:]
	for _, alg := range []uint16{CertCompressionZlib, CertCompressionBrotli, CertCompressionZstd} {
		f.Add(compressed(alg, len(body), compress(f, alg, body)))
	}
	f.Add(compressed(CertCompressionZstd, 100, compress(f, CertCompressionZstd, make([]byte, 1<<16))))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, err := DecompressCertificate(msg)
		if err != nil {
			return
		}
		n := int(msg[6])<<16 | int(msg[7])<<8 | int(msg[8])
		if len(out) != 4+n || n > MaxUncompressedCertificate || out[0] != TypeCertificate {
			t.Fatalf("%d bytes out, %d announced", len(out), n)
		}
	})
}

// BenchmarkDecompressCertificate: a two-certificate chain in each
// algorithm, and bombs (8 MiB of zeros announced as the 256 KiB limit),
// which stop at the limit.
func BenchmarkDecompressCertificate(b *testing.B) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	body := msg13(nil, selfSigned13(b, "cam.example.com", now.Add(time.Hour)), selfSigned13(b, "ca.example.com", now.Add(time.Hour)))[4:]
	bomb := make([]byte, 8<<20)
	for _, alg := range []uint16{CertCompressionZlib, CertCompressionBrotli, CertCompressionZstd} {
		for _, tc := range []struct {
			name string
			msg  []byte
		}{
			{"chain", compressed(alg, len(body), compress(b, alg, body))},
			{"bomb", compressed(alg, MaxUncompressedCertificate, compress(b, alg, bomb))},
		} {
			b.Run(CertCompressionName(alg)+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					DecompressCertificate(tc.msg)
				}
			})
		}
	}
}
