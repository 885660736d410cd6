package quicdecrypt

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/phonehome/phonehome/pkg/proto/quic"
	"github.com/phonehome/phonehome/pkg/tlsdecrypt"
)

// Initial salts: RFC 9001 section 5.2 (v1), RFC 9369 section 3.3.1 (v2).
var (
	saltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2 = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
)

// version is what differs between QUIC v1 and v2 for packet protection.
type version struct {
	code      uint32
	salt      []byte
	prefix    string // HKDF label prefix: "quic " or "quicv2 "
	initial   uint8  // long packet type of Initial
	handshake uint8  // of Handshake
	retry     uint8  // and of Retry
}

func lookupVersion(v uint32) (version, bool) {
	switch v {
	case quic.Version1:
		return version{code: v, salt: saltV1, prefix: "quic ", initial: 0, handshake: 2, retry: 3}, true
	case quic.Version2:
		return version{code: v, salt: saltV2, prefix: "quicv2 ", initial: 1, handshake: 3, retry: 0}, true
	}
	return version{}, false
}

// suite is a TLS 1.3 cipher suite as QUIC packet protection uses it.
type suite struct {
	id     uint16
	keyLen int
	hash   crypto.Hash
	chacha bool
}

var suites = []suite{
	{0x1301, 16, crypto.SHA256, false},
	{0x1302, 32, crypto.SHA384, false},
	{0x1303, 32, crypto.SHA256, true},
}

func suiteByID(id uint16) (suite, bool) {
	for _, s := range suites {
		if s.id == id {
			return s, true
		}
	}
	return suite{}, false
}

// hpMask computes the 5-byte header protection mask from a 16-byte sample
// (RFC 9001 section 5.4).
type hpMask interface {
	mask(sample []byte) [5]byte
}

type aesHP struct{ b cipher.Block }

func (h aesHP) mask(sample []byte) (m [5]byte) {
	var out [16]byte
	h.b.Encrypt(out[:], sample)
	copy(m[:], out[:])
	return m
}

type chachaHP struct{ key []byte }

func (h chachaHP) mask(sample []byte) (m [5]byte) {
	c, err := chacha20.NewUnauthenticatedCipher(h.key, sample[4:16])
	if err != nil {
		return m
	}
	c.SetCounter(binary.LittleEndian.Uint32(sample[:4]))
	c.XORKeyStream(m[:], m[:])
	return m
}

// keys protect the packets of one direction at one key phase.
type keys struct {
	aead   cipher.AEAD
	iv     [12]byte
	secret []byte
}

func expand(s suite, secret []byte, label string, n int) []byte {
	b, _ := tlsdecrypt.ExpandLabel(s.hash, secret, label, nil, n) // cannot fail: short labels
	return b
}

// newKeys derives the packet protection keys of a traffic secret
// (RFC 9001 section 5.1) and, with hp, the header protection key.
func newKeys(v version, s suite, secret []byte) (*keys, hpMask, error) {
	key := expand(s, secret, v.prefix+"key", s.keyLen)
	iv := expand(s, secret, v.prefix+"iv", 12)
	hpKey := expand(s, secret, v.prefix+"hp", s.keyLen)
	k := &keys{secret: secret}
	copy(k.iv[:], iv)
	var hp hpMask
	if s.chacha {
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, nil, err
		}
		k.aead, hp = a, chachaHP{hpKey}
	} else {
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, nil, err
		}
		if k.aead, err = cipher.NewGCM(b); err != nil {
			return nil, nil, err
		}
		hb, err := aes.NewCipher(hpKey)
		if err != nil {
			return nil, nil, err
		}
		hp = aesHP{hb}
	}
	return k, hp, nil
}

// next is the key phase after a key update (RFC 9001 section 6.1): a new
// secret from "quic ku"; the header protection key stays.
func (k *keys) next(v version, s suite) (*keys, error) {
	sec := expand(s, k.secret, v.prefix+"ku", s.hash.Size())
	n, _, err := newKeys(v, s, sec)
	return n, err
}

// initialKeys derives the Initial keys of both directions from the
// client's first Destination Connection ID (RFC 9001 section 5.2).
func initialKeys(v version, dcid []byte) (client, server *keys, chp, shp hpMask, err error) {
	s := suites[0]
	initial, err := hkdf.Extract(crypto.SHA256.New, dcid, v.salt)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if client, chp, err = newKeys(v, s, expand(s, initial, "client in", 32)); err != nil {
		return nil, nil, nil, nil, err
	}
	server, shp, err = newKeys(v, s, expand(s, initial, "server in", 32))
	return client, server, chp, shp, err
}

var errOpen = errors.New("packet failed authentication")

// unprotect removes header protection from hdr (a copy of the packet's
// header up to pnOff plus 4 bytes) using the sample after the packet number
// field. It returns the packet number length; hdr[0] and the packet number
// bytes are unmasked in place.
func unprotect(hp hpMask, pkt []byte, pnOff int, hdr []byte, long bool) (pnLen int, ok bool) {
	if pnOff+4+16 > len(pkt) {
		return 0, false
	}
	m := hp.mask(pkt[pnOff+4 : pnOff+4+16])
	if long {
		hdr[0] ^= m[0] & 0x0f
	} else {
		hdr[0] ^= m[0] & 0x1f
	}
	pnLen = int(hdr[0]&0x03) + 1
	for i := 0; i < pnLen; i++ {
		hdr[pnOff+i] ^= m[1+i]
	}
	return pnLen, true
}

// open decrypts a packet whose unmasked header is hdr[:pnOff+pnLen].
func (k *keys) open(dst []byte, pkt []byte, hdr []byte, pnOff, pnLen int, pn uint64) ([]byte, error) {
	var nonce [12]byte
	nonce = k.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	payload := pkt[pnOff+pnLen:]
	if len(payload) < k.aead.Overhead() {
		return nil, errOpen
	}
	out, err := k.aead.Open(dst, nonce[:], payload, hdr[:pnOff+pnLen])
	if err != nil {
		return nil, errOpen
	}
	return out, nil
}

func truncatedPN(hdr []byte, pnOff, pnLen int) uint64 {
	var pn uint64
	for i := 0; i < pnLen; i++ {
		pn = pn<<8 | uint64(hdr[pnOff+i])
	}
	return pn
}
