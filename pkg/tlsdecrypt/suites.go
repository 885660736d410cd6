package tlsdecrypt

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// cipherKind is the record protection of a suite.
type cipherKind uint8

const (
	kindGCM cipherKind = iota + 1
	kindChaCha
	kindCBC
)

// suite is what decryption needs to know of a cipher suite.
type suite struct {
	id     uint16
	tls13  bool
	kind   cipherKind
	keyLen int
	hash   crypto.Hash      // PRF (TLS 1.2) or HKDF (TLS 1.3) hash
	mac    func() hash.Hash // CBC suites: the record MAC
	macLen int
}

// Suites supported (IANA TLS Cipher Suites registry). TLS 1.2 CBC suites
// with SHA-1 or SHA-256 MACs use the SHA-256 PRF; the _SHA384 ones SHA-384.
var suites = func() map[uint16]suite {
	m := map[uint16]suite{}
	add := func(s suite) { m[s.id] = s }
	// TLS 1.3 (RFC 8446 appendix B.4).
	add(suite{id: 0x1301, tls13: true, kind: kindGCM, keyLen: 16, hash: crypto.SHA256})
	add(suite{id: 0x1302, tls13: true, kind: kindGCM, keyLen: 32, hash: crypto.SHA384})
	add(suite{id: 0x1303, tls13: true, kind: kindChaCha, keyLen: 32, hash: crypto.SHA256})
	// TLS 1.2 AES-GCM (RFC 5288, RFC 5289).
	for _, id := range []uint16{0x009c, 0x009e, 0xc02b, 0xc02f, 0x00a2, 0x00a4, 0x00a6, 0x00a8, 0x00aa, 0x00ac, 0xc02d, 0xc031} {
		add(suite{id: id, kind: kindGCM, keyLen: 16, hash: crypto.SHA256})
	}
	for _, id := range []uint16{0x009d, 0x009f, 0xc02c, 0xc030, 0x00a3, 0x00a5, 0x00a7, 0x00a9, 0x00ab, 0x00ad, 0xc02e, 0xc032} {
		add(suite{id: id, kind: kindGCM, keyLen: 32, hash: crypto.SHA384})
	}
	// TLS 1.2 ChaCha20-Poly1305 (RFC 7905).
	for _, id := range []uint16{0xcca8, 0xcca9, 0xccaa, 0xccab, 0xccac, 0xccad, 0xccae} {
		add(suite{id: id, kind: kindChaCha, keyLen: 32, hash: crypto.SHA256})
	}
	// AES-CBC with HMAC-SHA1 (RFC 3268, RFC 4492).
	for _, id := range []uint16{0x002f, 0x0033, 0x0032, 0x008c, 0xc004, 0xc009, 0xc00e, 0xc013, 0xc018} {
		add(suite{id: id, kind: kindCBC, keyLen: 16, hash: crypto.SHA256, mac: sha1.New, macLen: 20})
	}
	for _, id := range []uint16{0x0035, 0x0039, 0x0038, 0x008d, 0xc005, 0xc00a, 0xc00f, 0xc014, 0xc019} {
		add(suite{id: id, kind: kindCBC, keyLen: 32, hash: crypto.SHA256, mac: sha1.New, macLen: 20})
	}
	// AES-CBC with HMAC-SHA256 / SHA384 (RFC 5246, RFC 5289).
	for _, id := range []uint16{0x003c, 0x0067, 0x0040, 0x00ae, 0xc023, 0xc025, 0xc027, 0xc029} {
		add(suite{id: id, kind: kindCBC, keyLen: 16, hash: crypto.SHA256, mac: sha256.New, macLen: 32})
	}
	for _, id := range []uint16{0x003d, 0x006b, 0x006a} {
		add(suite{id: id, kind: kindCBC, keyLen: 32, hash: crypto.SHA256, mac: sha256.New, macLen: 32})
	}
	for _, id := range []uint16{0xc024, 0xc026, 0xc028, 0xc02a, 0x00af} {
		add(suite{id: id, kind: kindCBC, keyLen: 32, hash: crypto.SHA384, mac: sha512.New384, macLen: 48})
	}
	return m
}()

// fixedIVLen is the implicit IV a TLS 1.2 key block holds for the suite
// (RFC 5288 salt, RFC 7905 nonce; CBC in TLS 1.0: the first record IV).
func (s suite) fixedIVLen() int {
	switch s.kind {
	case kindGCM:
		return 4
	case kindChaCha:
		return 12
	}
	return 16
}
