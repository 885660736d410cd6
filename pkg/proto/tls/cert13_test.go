package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// msg13 builds a TLS 1.3 Certificate message: context, then each DER with
// an empty extension block.
func msg13(ctx []byte, ders ...[]byte) []byte {
	var list []byte
	for _, d := range ders {
		list = append(list, byte(len(d)>>16), byte(len(d)>>8), byte(len(d)))
		list = append(list, d...)
		list = append(list, 0, 0)
	}
	body := append([]byte{byte(len(ctx))}, ctx...)
	body = append(body, byte(len(list)>>16), byte(len(list)>>8), byte(len(list)))
	body = append(body, list...)
	return append([]byte{TypeCertificate, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func selfSigned13(t testing.TB, cn string, notAfter time.Time) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestDecryptedCertificate: a TLS 1.3 chain handed in after decryption
// gets the findings a TLS 1.2 chain in clear gets; malformed ones a note.
func TestDecryptedCertificate(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	good := selfSigned13(t, "cam.example.com", now.Add(24*time.Hour))
	old := selfSigned13(t, "cam.example.com", now.Add(-24*time.Hour))
	for _, tc := range []struct {
		name  string
		msg   []byte
		certs int
		kinds []string
		notes int
	}{
		{"self-signed", msg13(nil, good), 1, []string{"tls-cert-self-signed"}, 0},
		{"expired, with context", msg13([]byte{1, 2}, old), 1, []string{"tls-cert-self-signed", "tls-cert-expired"}, 0},
		{"two", msg13(nil, good, old), 2, []string{"tls-cert-self-signed"}, 0},
		{"not a certificate", append([]byte{TypeCertificate, 0, 0, 3}, 0, 0, 0), 0, nil, 1},
		{"TLS 1.2 layout", func() []byte { m := msg13(nil, good); return append(m[:4:4], m[5:]...) }(), 0, nil, 1},
		{"truncated", msg13(nil, good)[:40], 0, nil, 1},
		{"empty", nil, 0, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &prototest.Sink{}
			s := NewStream(sink)
			// A ClientHello first, so that the session is reported.
			s.Data(proto.ToServer, craft.ClientHello("cam.example.com", craft.TLS13), proto.Meta{Frame: 1, Time: now})
			s.DecryptedCertificate(tc.msg, proto.Meta{Frame: 6, Time: now})
			s.DecryptedCertificate(msg13(nil, good, good, good), proto.Meta{Frame: 9, Time: now}) // ignored: the first wins
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
		})
	}
}

// FuzzDecryptedCertificate: any bytes handed in as a decrypted TLS 1.3
// Certificate give a session (with a note when they do not parse), never a
// panic, and at most maxCerts certificates.
func FuzzDecryptedCertificate(f *testing.F) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	der := selfSigned13(f, "cam.example.com", now.Add(time.Hour))
	f.Add(msg13(nil, der))
	f.Add(msg13([]byte{9}, der, der))
	f.Add(msg13(nil, []byte("not a certificate")))
	f.Add([]byte{TypeCertificate, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := NewStream(&prototest.Sink{})
		s.Data(proto.ToServer, craft.ClientHello("cam.example.com", craft.TLS13), proto.Meta{Frame: 1, Time: now})
		s.DecryptedCertificate(msg, proto.Meta{Frame: 2, Time: now})
		s.End(proto.Meta{Frame: 3})
		if n := len(s.Session().Certificates); n > maxCerts {
			t.Fatalf("%d certificates", n)
		}
	})
}
