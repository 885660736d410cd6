package tlsdecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Record content types (RFC 8446 section 5.1).
const (
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
)

// errAuth is returned by a record cipher when a record does not
// authenticate: wrong key, corrupted or reordered data.
var errAuth = errors.New("record failed authentication")

// recordCipher decrypts the protected records of one direction in order.
// open returns the content type and the plaintext (appended to dst); a
// failed open leaves the sequence number unchanged.
type recordCipher interface {
	open(dst []byte, hdr []byte, frag []byte) (typ uint8, plain []byte, err error)
}

func newAEAD(s suite, key []byte) (cipher.AEAD, error) {
	if s.kind == kindChaCha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// aead12 is TLS 1.2 AEAD record protection: AES-GCM with a 4-byte salt and
// an 8-byte explicit nonce per record (RFC 5288), or ChaCha20-Poly1305
// with the 12-byte IV XOR the sequence number (RFC 7905).
type aead12 struct {
	aead     cipher.AEAD
	iv       []byte
	explicit bool
	seq      uint64
	nonce    [12]byte
	ad       [13]byte
}

func (c *aead12) open(dst, hdr, frag []byte) (uint8, []byte, error) {
	ct := frag
	if c.explicit {
		if len(frag) < 8 {
			return 0, nil, errAuth
		}
		copy(c.nonce[:4], c.iv)
		copy(c.nonce[4:], frag[:8])
		ct = frag[8:]
	} else {
		copy(c.nonce[:], c.iv)
		xorSeq(c.nonce[:], c.seq)
	}
	if len(ct) < c.aead.Overhead() {
		return 0, nil, errAuth
	}
	binary.BigEndian.PutUint64(c.ad[:8], c.seq)
	c.ad[8], c.ad[9], c.ad[10] = hdr[0], hdr[1], hdr[2]
	binary.BigEndian.PutUint16(c.ad[11:], uint16(len(ct)-c.aead.Overhead()))
	out, err := c.aead.Open(dst, c.nonce[:], ct, c.ad[:])
	if err != nil {
		return 0, nil, errAuth
	}
	c.seq++
	return hdr[0], out, nil
}

// xorSeq XORs the big-endian sequence number into the last 8 bytes.
func xorSeq(nonce []byte, seq uint64) {
	n := len(nonce)
	for i := 0; i < 8; i++ {
		nonce[n-1-i] ^= byte(seq >> (8 * i))
	}
}

// cbc12 is AES-CBC with HMAC: MAC-then-encrypt (RFC 5246 section 6.2.3.2),
// or encrypt-then-MAC when the extension was negotiated (RFC 7366). TLS 1.1
// and 1.2 carry an explicit IV per record; TLS 1.0 chains the IV from the
// previous record (chained true).
type cbc12 struct {
	block   cipher.Block
	mac     hash.Hash
	macLen  int
	etm     bool
	chained bool
	iv      []byte // TLS 1.0: the next record's IV
	seq     uint64
	hdr     [13]byte
	sum     []byte
}

func newCBC(s suite, key, macKey, iv []byte, etm, chained bool) (*cbc12, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &cbc12{block: b, mac: hmac.New(s.mac, macKey), macLen: s.macLen, etm: etm, chained: chained, iv: append([]byte(nil), iv...)}, nil
}

func (c *cbc12) macOf(typ uint8, hdr []byte, n int, parts ...[]byte) []byte {
	c.mac.Reset()
	binary.BigEndian.PutUint64(c.hdr[:8], c.seq)
	c.hdr[8], c.hdr[9], c.hdr[10] = typ, hdr[1], hdr[2]
	binary.BigEndian.PutUint16(c.hdr[11:], uint16(n))
	c.mac.Write(c.hdr[:])
	for _, p := range parts {
		c.mac.Write(p)
	}
	c.sum = c.mac.Sum(c.sum[:0])
	return c.sum
}

func (c *cbc12) open(dst, hdr, frag []byte) (uint8, []byte, error) {
	const bs = aes.BlockSize
	typ := hdr[0]
	body := frag
	if c.etm {
		if len(frag) < c.macLen {
			return 0, nil, errAuth
		}
		body = frag[:len(frag)-c.macLen]
		if !hmac.Equal(c.macOf(typ, hdr, len(body), body), frag[len(body):]) {
			return 0, nil, errAuth
		}
	}
	iv := c.iv
	if !c.chained {
		if len(body) < bs {
			return 0, nil, errAuth
		}
		iv, body = body[:bs], body[bs:]
	}
	if len(body) == 0 || len(body)%bs != 0 {
		return 0, nil, errAuth
	}
	start := len(dst)
	dst = append(dst, body...)
	p := dst[start:]
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(p, p)
	pad := int(p[len(p)-1])
	minLen := pad + 1
	if !c.etm {
		minLen += c.macLen
	}
	if minLen > len(p) {
		return 0, nil, errAuth
	}
	for _, b := range p[len(p)-pad-1:] {
		if int(b) != pad {
			return 0, nil, errAuth
		}
	}
	p = p[:len(p)-pad-1]
	if !c.etm {
		content := p[:len(p)-c.macLen]
		if !hmac.Equal(c.macOf(typ, hdr, len(content), content), p[len(content):]) {
			return 0, nil, errAuth
		}
		p = content
	}
	if c.chained {
		c.iv = append(c.iv[:0], body[len(body)-bs:]...)
	}
	c.seq++
	return typ, dst[:start+len(p)], nil
}

// aead13 is TLS 1.3 record protection (RFC 8446 section 5.2): the outer
// type is application_data, the inner type is the last non-zero byte of the
// plaintext.
type aead13 struct {
	aead  cipher.AEAD
	iv    [12]byte
	seq   uint64
	nonce [12]byte
}

func (c *aead13) open(dst, hdr, frag []byte) (uint8, []byte, error) {
	if len(frag) < c.aead.Overhead() {
		return 0, nil, errAuth
	}
	c.nonce = c.iv
	xorSeq(c.nonce[:], c.seq)
	out, err := c.aead.Open(dst, c.nonce[:], frag, hdr)
	if err != nil {
		return 0, nil, errAuth
	}
	c.seq++
	p := out[len(dst):]
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, errMalformedInner
	}
	return p[i], out[:len(dst)+i], nil
}

var errMalformedInner = errors.New("TLS 1.3 record with no content type")
