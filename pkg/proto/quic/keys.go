package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/hkdf"
)

// Known versions.
const (
	Version1       uint32 = 0x00000001
	Version2       uint32 = 0x6b3343cf
	versionDraft29 uint32 = 0xff00001d
)

// Initial salts (RFC 9001 section 5.2, RFC 9369 section 3.3.1, draft-29).
var (
	saltV1      = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2      = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29 = []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
)

// versionInfo is what differs between versions for Initial packets.
type versionInfo struct {
	salt        []byte
	labelPrefix string // "quic " or "quicv2 "
	initialType uint8  // long packet type of Initial
	retryType   uint8
	name        string
}

func lookupVersion(v uint32) (versionInfo, bool) {
	switch {
	case v == Version1:
		return versionInfo{saltV1, "quic ", 0, 3, "v1"}, true
	case v == Version2:
		return versionInfo{saltV2, "quicv2 ", 1, 0, "v2"}, true
	case v >= versionDraft29 && v <= 0xff000022: // drafts 29..34 share draft-29's salt
		return versionInfo{saltDraft29, "quic ", 0, 3, "draft-" + itoa(int(v&0xff))}, true
	}
	return versionInfo{}, false
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// VersionName names a QUIC version: "v1", "v2", "draft-29", "gquic-Q050",
// "negotiation" for 0, else hex.
func VersionName(v uint32) string {
	if vi, ok := lookupVersion(v); ok {
		return vi.name
	}
	switch {
	case v == 0:
		return "negotiation"
	case isGQUIC(v):
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], v)
		return "gquic-" + string(b[:])
	case v&0x0f0f0f0f == 0x0a0a0a0a:
		return "grease"
	}
	const hexd = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 0; i < 8; i++ {
		b[9-i] = hexd[v>>(4*i)&0xf]
	}
	return string(b)
}

// isGQUIC: Google QUIC versions are "Q0xx" or "T0xx" in ASCII.
func isGQUIC(v uint32) bool {
	c := byte(v >> 24)
	d := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
	return (c == 'Q' || c == 'T') && d[0] >= '0' && d[0] <= '9' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9'
}

// keys protect the Initial packets of one direction.
type keys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func hkdfExpandLabel(secret []byte, label string, length int) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("tls13 " + label)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
	out := make([]byte, length)
	// Cannot fail: lengths here are far below HKDF's 255*32-byte limit.
	_, _ = io.ReadFull(hkdf.Expand(sha256.New, secret, b.BytesOrPanic()), out)
	return out
}

// initialKeys derives the client and server Initial keys from the client's
// Destination Connection ID.
func initialKeys(vi versionInfo, dcid []byte) (client, server *keys, err error) {
	initial := hkdf.Extract(sha256.New, dcid, vi.salt)
	client, err = newKeys(vi, hkdfExpandLabel(initial, "client in", 32))
	if err != nil {
		return nil, nil, err
	}
	server, err = newKeys(vi, hkdfExpandLabel(initial, "server in", 32))
	return client, server, err
}

// keyMaterial derives the AEAD key, IV and header-protection key.
func keyMaterial(vi versionInfo, secret []byte) (key, iv, hp []byte) {
	return hkdfExpandLabel(secret, vi.labelPrefix+"key", 16),
		hkdfExpandLabel(secret, vi.labelPrefix+"iv", 12),
		hkdfExpandLabel(secret, vi.labelPrefix+"hp", 16)
}

func newKeys(vi versionInfo, secret []byte) (*keys, error) {
	key, iv, hpKey := keyMaterial(vi, secret)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	hp, err := aes.NewCipher(hpKey)
	if err != nil {
		return nil, err
	}
	k := &keys{aead: aead, hp: hp}
	copy(k.iv[:], iv)
	return k, nil
}

var errDecrypt = errors.New("quic: cannot decrypt packet")

// open removes header protection and decrypts one long-header packet in
// place. pkt is the whole packet (header through end of payload) and pnOff
// the offset of the packet number. It returns the packet number and the
// plaintext payload (aliasing pkt). largest is the largest packet number
// decrypted so far in this space (-1: none).
func (k *keys) open(pkt []byte, pnOff int, largest int64) (uint64, []byte, error) {
	if pnOff+4+16 > len(pkt) {
		return 0, nil, errDecrypt
	}
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+4+16])
	hdr0 := pkt[0] ^ mask[0]&0x0f
	pnLen := int(hdr0&0x03) + 1
	if pnOff+pnLen+k.aead.Overhead() > len(pkt) {
		return 0, nil, errDecrypt
	}
	// Work on a copy of the header so that a failed attempt (wrong keys)
	// leaves pkt intact for another try.
	hdr := make([]byte, pnOff+pnLen)
	copy(hdr, pkt)
	hdr[0] = hdr0
	var truncated uint64
	for i := 0; i < pnLen; i++ {
		hdr[pnOff+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(hdr[pnOff+i])
	}
	pn := DecodePacketNumber(largest, truncated, pnLen*8)
	var nonce [12]byte
	copy(nonce[:], k.iv[:])
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	payload := pkt[pnOff+pnLen:]
	out, err := k.aead.Open(nil, nonce[:], payload, hdr)
	if err != nil {
		return 0, nil, errDecrypt
	}
	return pn, out, nil
}

// DecodePacketNumber recovers a full packet number from its truncated
// form of bits bits (RFC 9000 appendix A.3); largest is -1 before the
// first packet.
func DecodePacketNumber(largest int64, truncated uint64, bits int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << bits
	hwin := win / 2
	mask := win - 1
	candidate := expected&^mask | truncated
	switch {
	case candidate+hwin <= expected && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}
