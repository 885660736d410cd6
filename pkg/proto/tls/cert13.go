package tls

import (
	"crypto/x509"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// DecryptedCertificate hands the Stream the server's TLS 1.3 Certificate
// message, which travels encrypted, once a key log decrypted it
// (pkg/tlsdecrypt): its chain goes into the session's event and gets the
// checks a TLS 1.2 chain sent in clear gets (self-signed, expired, not yet
// valid, not covering the SNI, unparsable). msg is the whole message,
// header first (RFC 8446 §4.4.2), or a CompressedCertificate (RFC 8879,
// zlib, brotli or zstd), decompressed here; m is where it was read. The first chain
// wins; calls after End do nothing.
func (s *Stream) DecryptedCertificate(msg []byte, m proto.Meta) {
	if s.ended || s.sess.Certificates != nil {
		return
	}
	chain, leaf, err := parseChain13(msg, m.Time)
	s.setChain(chain, leaf, err, m)
}

// parseChain13 is parseChain for the TLS 1.3 layout: a request context
// before the list, and extensions after each certificate. A
// CompressedCertificate (RFC 8879) is decompressed first.
func parseChain13(msg []byte, now time.Time) ([]Certificate, *x509.Certificate, error) {
	if len(msg) > 0 && msg[0] == TypeCompressedCertificate {
		var err error
		if msg, err = DecompressCertificate(msg); err != nil {
			return nil, nil, err
		}
	}
	return readChain(msg, now, true)
}

// ServerChain is a server's certificate chain read from a TLS 1.3
// Certificate message outside a Stream: QUIC's, from decrypted Handshake
// packets (pkg/quicdecrypt). Its Findings are a TLS session's.
type ServerChain struct {
	Frame        uint64        // where the message was read
	Certificates []Certificate // empty, not nil, when none could be read
	Err          error         // why the message did not parse whole
	leaf         *x509.Certificate
}

// ReadServerChain13 reads a TLS 1.3 Certificate or CompressedCertificate
// message (header first); m.Time is the capture time the validity checks use.
func ReadServerChain13(msg []byte, m proto.Meta) ServerChain {
	chain, leaf, err := parseChain13(msg, m.Time)
	if chain == nil {
		chain = []Certificate{}
	}
	return ServerChain{Frame: m.Frame, Certificates: chain, Err: err, leaf: leaf}
}

// NameMismatch reports whether the leaf parsed and does not cover sni, the
// rule of a TLS session's name_mismatch (false when sni is "").
func (c *ServerChain) NameMismatch(sni string) bool { return nameMismatch(c.leaf, sni) }

// nameMismatch: a leaf that parsed does not cover the SNI the client
// asked for (false without either).
func nameMismatch(leaf *x509.Certificate, sni string) bool {
	return sni != "" && leaf != nil && !matchesName(leaf, sni)
}
