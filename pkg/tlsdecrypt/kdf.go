package tlsdecrypt

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"fmt"
	"hash"
)

// ExpandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446 section 7.1):
// HKDF-Expand(secret, HkdfLabel{length, "tls13 " + label, context}, length).
// QUIC uses it with labels such as "quic key" (RFC 9001 section 5.1).
func ExpandLabel(h crypto.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	full := "tls13 " + label
	if len(full) > 255 || len(context) > 255 || length > 0xffff {
		return nil, fmt.Errorf("tlsdecrypt: HKDF label too long")
	}
	info := make([]byte, 0, 4+len(full)+len(context))
	info = append(info, byte(length>>8), byte(length), byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h.New, secret, string(info), length)
}

// prf12 is the TLS 1.2 PRF (RFC 5246 section 5): P_hash(secret, label+seed).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	out := make([]byte, 0, n+64)
	ls := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// prf10 is the TLS 1.0/1.1 PRF (RFC 2246 section 5): P_MD5 on the first
// half of the secret XOR P_SHA1 on the second half.
func prf10(secret []byte, label string, seed []byte, n int) []byte {
	half := (len(secret) + 1) / 2
	a := prf12(md5.New, secret[:half], label, seed, n)
	b := prf12(sha1.New, secret[len(secret)-half:], label, seed, n)
	for i := range a {
		a[i] ^= b[i]
	}
	return a
}
