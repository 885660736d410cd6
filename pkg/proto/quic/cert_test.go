package quic

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// certDER makes a certificate for names, valid from nb to na, signed by
// itself or, with a parent, by the parent's key.
func certDER(t *testing.T, cn string, names []string, nb, na time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, DNSNames: names, NotBefore: nb, NotAfter: na, IsCA: parent == nil, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return der, c, key
}

// certificate13 is a TLS 1.3 Certificate message (RFC 8446 §4.4.2).
func certificate13(ders ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(11)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(0) // request context
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, d := range ders {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d) })
				b.AddUint16(0) // extensions
			}
		})
	})
	return b.BytesOrPanic()
}

// TestDecryptedCertificate: a chain handed over from decrypted Handshake
// packets gets a TLS session's checks against the connection's SNI
// (quic.example.com) and the capture time; the first chain wins, a chain
// after End or without a connection does nothing.
func TestDecryptedCertificate(t *testing.T) {
	now := t0
	day := 24 * time.Hour
	caDER, ca, caKey := certDER(t, "Lab CA", nil, now.Add(-day), now.Add(365*day), nil, nil)
	good, _, _ := certDER(t, "quic.example.com", []string{"quic.example.com"}, now.Add(-day), now.Add(day), ca, caKey)
	other, _, _ := certDER(t, "other.example", []string{"other.example"}, now.Add(-day), now.Add(day), ca, caKey)
	old, _, _ := certDER(t, "quic.example.com", []string{"quic.example.com"}, now.Add(-30*day), now.Add(-day), ca, caKey)
	early, _, _ := certDER(t, "quic.example.com", []string{"quic.example.com"}, now.Add(day), now.Add(30*day), ca, caKey)
	self, _, _ := certDER(t, "quic.example.com", []string{"quic.example.com"}, now.Add(-day), now.Add(day), nil, nil)
	full := certificate13(good, caDER)
	tests := []struct {
		name     string
		msgs     [][]byte
		noConn   bool
		afterEnd bool
		chain    int
		mismatch bool
		findings []string
		notes    int
	}{
		{"valid chain", [][]byte{full}, false, false, 2, false, nil, 0},
		{"name mismatch", [][]byte{certificate13(other, caDER)}, false, false, 2, true, []string{"tls-cert-name-mismatch"}, 0},
		{"expired", [][]byte{certificate13(old, caDER)}, false, false, 2, false, []string{"tls-cert-expired"}, 0},
		{"not yet valid", [][]byte{certificate13(early)}, false, false, 1, false, []string{"tls-cert-not-yet-valid"}, 0},
		{"self-signed", [][]byte{certificate13(self)}, false, false, 1, false, []string{"tls-cert-self-signed"}, 0},
		{"unparsable leaf", [][]byte{certificate13([]byte("not a certificate"))}, false, false, 1, false, []string{"tls-cert-unparsable"}, 0},
		{"cut message", [][]byte{full[:len(full)-40]}, false, false, 0, false, nil, 1},
		{"first chain wins", [][]byte{full, certificate13(self)}, false, false, 2, false, nil, 0},
		{"no connection", [][]byte{full}, true, false, 0, false, nil, 0},
		{"after End", [][]byte{full}, false, true, 0, false, nil, 0},
	}
	simple := scenarios(t)["v1-simple"]
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &prototest.Sink{}
			p := NewParser(sink)
			if !tc.noConn {
				for i, d := range simple {
					p.Datagram(d.dir, d.data, proto.Meta{Frame: uint64(i + 1), Time: now})
				}
			}
			if tc.afterEnd {
				p.End(proto.Meta{Frame: 9})
			}
			for _, m := range tc.msgs {
				p.DecryptedCertificate(m, proto.Meta{Frame: 5, Time: now})
			}
			p.End(proto.Meta{Frame: 9})
			var c *Connection
			for _, e := range sink.Events {
				c = e.Fields.(*Connection)
			}
			if tc.noConn {
				if c != nil {
					t.Fatalf("event without a connection: %+v", c)
				}
				return
			}
			if c == nil || c.SNI != "quic.example.com" {
				t.Fatalf("connection %+v", c)
			}
			if len(c.Certificates) != tc.chain || c.NameMismatch != tc.mismatch || len(c.Notes) != tc.notes {
				t.Errorf("chain %d, mismatch %v, notes %q", len(c.Certificates), c.NameMismatch, c.Notes)
			}
			if tc.chain > 0 && c.CertificateFrame != 5 {
				t.Errorf("certificate frame %d", c.CertificateFrame)
			}
			var kinds []string
			for _, f := range sink.Findings {
				kinds = append(kinds, f.Kind)
				if f.Frame != 5 {
					t.Errorf("finding %s at frame %d", f.Kind, f.Frame)
				}
			}
			if !slices.Equal(kinds, tc.findings) {
				t.Errorf("findings %v, want %v", kinds, tc.findings)
			}
		})
	}
}
