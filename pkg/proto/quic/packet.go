package quic

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

// readVarint reads a QUIC variable-length integer (RFC 9000 section 16).
func readVarint(s *cryptobyte.String, v *uint64) bool {
	var b0 uint8
	if !s.ReadUint8(&b0) {
		return false
	}
	n := 1 << (b0 >> 6)
	x := uint64(b0 & 0x3f)
	for i := 1; i < n; i++ {
		var b uint8
		if !s.ReadUint8(&b) {
			return false
		}
		x = x<<8 | uint64(b)
	}
	*v = x
	return true
}

// longHeader is the version-independent part of a long-header packet.
type longHeader struct {
	first   byte
	version uint32
	dcid    []byte
	scid    []byte
	rest    []byte // bytes after the SCID
	hdrLen  int    // offset of rest in the packet
}

// parseLongHeader reads a long header; it does not check the version.
func parseLongHeader(b []byte) (longHeader, bool) {
	var h longHeader
	s := cryptobyte.String(b)
	var dcid, scid cryptobyte.String
	if !s.ReadUint8(&h.first) || h.first&0x80 == 0 || !s.ReadUint32(&h.version) ||
		!s.ReadUint8LengthPrefixed(&dcid) || !s.ReadUint8LengthPrefixed(&scid) {
		return h, false
	}
	h.dcid, h.scid, h.rest = dcid, scid, s
	h.hdrLen = len(b) - len(s)
	return h, true
}

// Detect reports whether payload starts with a QUIC long header of a known
// version (v1, v2, drafts 29-34), a Version Negotiation packet, or a Google
// QUIC packet carrying its version.
func Detect(payload []byte) bool {
	if len(payload) >= 5 && payload[0]&0x80 != 0 && isGQUIC(binary.BigEndian.Uint32(payload[1:5])) {
		return true
	}
	if h, ok := parseLongHeader(payload); ok {
		if _, known := lookupVersion(h.version); known {
			return len(h.dcid) <= 20 && len(h.scid) <= 20
		}
		if h.version == 0 {
			return len(h.rest) >= 4 && len(h.rest)%4 == 0
		}
	}
	_, ok := gquicVersion(payload)
	return ok
}

// gquicVersion reads the version of a Google QUIC (Q043 and older) public
// header: flags with the version bit (0x01) and an 8-byte connection ID
// (0x08), then the connection ID and the version.
func gquicVersion(b []byte) (uint32, bool) {
	if len(b) < 13 || b[0]&0x80 != 0 || b[0]&0x09 != 0x09 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(b[9:13])
	return v, isGQUIC(v)
}

// Varint reads a QUIC variable-length integer (RFC 9000 section 16) from
// the start of b: its value, its length, and false when b is too short.
func Varint(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, false
	}
	v = uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, true
}
