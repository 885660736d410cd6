package tls

import (
	"crypto/x509"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/pkg/proto"
)

// DecryptedCertificate hands the Stream the server's TLS 1.3 Certificate
// message, which travels encrypted, once a key log decrypted it
// (pkg/tlsdecrypt): its chain goes into the session's event and gets the
// checks a TLS 1.2 chain sent in clear gets (self-signed, expired, not yet
// valid, not covering the SNI, unparsable). msg is the whole message,
// header first (RFC 8446 §4.4.2); m is where it was read. The first chain
// wins; calls after End do nothing.
func (s *Stream) DecryptedCertificate(msg []byte, m proto.Meta) {
	if s.ended || s.sess.Certificates != nil {
		return
	}
	chain, leaf, err := parseChain13(msg, m.Time)
	if err != nil {
		s.sess.note(fmt.Sprintf("frame %d: %v", m.Frame, err))
		s.sess.ParseErrors++
	}
	s.sess.CertificateFrame = m.Frame
	s.sess.Certificates = chain
	if s.sess.Certificates == nil {
		s.sess.Certificates = []Certificate{}
	}
	s.leaf = leaf
}

// parseChain13 is parseChain for the TLS 1.3 layout: a request context
// before the list, and extensions after each certificate.
func parseChain13(msg []byte, now time.Time) ([]Certificate, *x509.Certificate, error) {
	body, err := handshakeBody(msg, typeCertificate)
	if err != nil {
		return nil, nil, err
	}
	s := cryptobyte.String(body)
	var ctx, list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint24LengthPrefixed(&list) {
		return nil, nil, malformed("certificate list")
	}
	var out []Certificate
	var leaf *x509.Certificate
	for !list.Empty() && len(out) < maxCerts {
		var der, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || !list.ReadUint16LengthPrefixed(&exts) {
			return out, leaf, malformed("certificate entry")
		}
		c, x := describeCert(der, now)
		if len(out) == 0 {
			leaf = x
		}
		out = append(out, c)
	}
	return out, leaf, nil
}
