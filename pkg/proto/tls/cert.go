package tls

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// maxCerts caps how many certificates of one chain are parsed.
const maxCerts = 16

// Certificate is one X.509 certificate of a server's chain (TLS <= 1.2,
// where the chain travels in clear). ParseError is set, and the name fields
// are empty, when crypto/x509 rejected the DER.
type Certificate struct {
	Subject    string    `json:"subject,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	CommonName string    `json:"cn,omitempty"`
	SANs       []string  `json:"san_dns,omitempty"`
	SANIPs     []string  `json:"san_ip,omitempty"`
	Serial     string    `json:"serial,omitempty"` // lower-case hex, as in the DER
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	SelfSigned bool      `json:"self_signed"`
	Expired    bool      `json:"expired"` // NotAfter before the capture time
	NotYet     bool      `json:"not_yet_valid,omitempty"`
	SHA256     string    `json:"sha256"` // of the DER
	ParseError string    `json:"parse_error,omitempty"`
}

// ParseCertificates parses a Certificate handshake message (4-byte header
// first, TLS <= 1.2 layout) into its chain. now is the capture time used for
// Expired. A certificate that does not parse is kept with ParseError set.
func ParseCertificates(msg []byte, now time.Time) ([]Certificate, error) {
	chain, _, err := parseChain(msg, now)
	return chain, err
}

// parseChain is ParseCertificates that also returns the parsed leaf (nil if
// it did not parse).
func parseChain(msg []byte, now time.Time) ([]Certificate, *x509.Certificate, error) {
	return readChain(msg, now, false)
}

// readChain reads a Certificate message's chain: tls13 is the TLS 1.3
// layout, with a request context before the list and extensions after
// each certificate (RFC 8446 §4.4.2).
func readChain(msg []byte, now time.Time, tls13 bool) ([]Certificate, *x509.Certificate, error) {
	body, err := handshakeBody(msg, TypeCertificate)
	if err != nil {
		return nil, nil, err
	}
	s := cryptobyte.String(body)
	var ctx, list cryptobyte.String
	if (tls13 && !s.ReadUint8LengthPrefixed(&ctx)) || !s.ReadUint24LengthPrefixed(&list) {
		return nil, nil, malformed("certificate list")
	}
	var out []Certificate
	var leaf *x509.Certificate
	for !list.Empty() && len(out) < maxCerts {
		var der, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || (tls13 && !list.ReadUint16LengthPrefixed(&exts)) {
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

func describeCert(der []byte, now time.Time) (Certificate, *x509.Certificate) {
	sum := sha256.Sum256(der)
	c, x := certs.get(sum)
	if c == nil {
		d, px := parseCert(der, sum)
		c, x = certs.put(sum, d, px)
	}
	out := *c
	out.SANs, out.SANIPs = slices.Clone(c.SANs), slices.Clone(c.SANIPs)
	if x != nil && !now.IsZero() {
		out.Expired = now.After(x.NotAfter)
		out.NotYet = now.Before(x.NotBefore)
	}
	return out, x
}

// parseCert describes a certificate without the fields that depend on the
// capture time (Expired, NotYet). It parses a copy of der: the result is
// cached, and der belongs to a stream's handshake buffer.
func parseCert(der []byte, sum [sha256.Size]byte) (Certificate, *x509.Certificate) {
	c := Certificate{SHA256: hex.EncodeToString(sum[:])}
	x, err := x509.ParseCertificate(bytes.Clone(der))
	if err != nil {
		c.ParseError = err.Error()
		return c, nil
	}
	c.Subject = x.Subject.String()
	c.Issuer = x.Issuer.String()
	c.CommonName = x.Subject.CommonName
	c.SANs = x.DNSNames
	for _, ip := range x.IPAddresses {
		c.SANIPs = append(c.SANIPs, ip.String())
	}
	if x.SerialNumber != nil {
		c.Serial = hex.EncodeToString(x.SerialNumber.Bytes())
	}
	c.NotBefore = x.NotBefore.UTC()
	c.NotAfter = x.NotAfter.UTC()
	c.SelfSigned = selfSigned(x)
	return c, x
}

// certs remembers the certificates already described, by the SHA-256 of
// their DER: a capture sees the same few server chains on most of its TLS
// connections, and parsing (x509, names, the self-signature check) was the
// largest cost of a TLS session. Entries are immutable; the cache is
// emptied when full.
var certs = certCache{m: map[[sha256.Size]byte]certEntry{}}

const maxCachedCerts = 4096

type certEntry struct {
	c *Certificate
	x *x509.Certificate
}

type certCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]certEntry
}

func (cc *certCache) get(sum [sha256.Size]byte) (*Certificate, *x509.Certificate) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e := cc.m[sum]
	return e.c, e.x
}

func (cc *certCache) put(sum [sha256.Size]byte, c Certificate, x *x509.Certificate) (*Certificate, *x509.Certificate) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.m) >= maxCachedCerts {
		clear(cc.m)
	}
	e := certEntry{c: &c, x: x}
	cc.m[sum] = e
	return e.c, e.x
}

// selfSigned: issuer equals subject and the signature verifies with the
// certificate's own key (or uses an algorithm Go no longer verifies).
func selfSigned(x *x509.Certificate) bool {
	if string(x.RawIssuer) != string(x.RawSubject) {
		return false
	}
	err := x.CheckSignature(x.SignatureAlgorithm, x.RawTBSCertificate, x.Signature)
	var insecure x509.InsecureAlgorithmError
	return err == nil || errors.Is(err, x509.ErrUnsupportedAlgorithm) || errors.As(err, &insecure)
}

// matchesName reports whether leaf is valid for host under crypto/x509's
// rules (wildcards included). A certificate without any SAN is matched on
// its Common Name, as old clients did, so that legacy devices are not
// flagged for a mismatch they do not have.
func matchesName(leaf *x509.Certificate, host string) bool {
	if leaf.VerifyHostname(host) == nil {
		return true
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && leaf.Subject.CommonName != "" {
		cp := *leaf
		cp.DNSNames = []string{leaf.Subject.CommonName}
		return cp.VerifyHostname(host) == nil
	}
	return false
}
