package tls

import (
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types (RFC 8446 section 4).
const (
	typeClientHello = 1
	typeServerHello = 2
	TypeCertificate = 11
)

// Extension numbers used by the parser (IANA TLS ExtensionType registry).
const (
	extServerName          = 0x0000
	extSupportedGroups     = 0x000a
	extECPointFormats      = 0x000b
	extSignatureAlgorithms = 0x000d
	extALPN                = 0x0010
	extSupportedVersions   = 0x002b
	extKeyShare            = 0x0033
	extECH                 = 0xfe0d
)

// Caps on what a hello may carry; beyond them the rest is ignored.
const (
	maxList = 512 // entries kept per list (ciphers, extensions, groups...)
	maxName = 255 // bytes of SNI / ALPN value kept
)

// ErrMalformed is wrapped by every parse error of this package.
var ErrMalformed = errors.New("tls: malformed message")

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest:
// SHA-256("HelloRetryRequest") (RFC 8446 section 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// ClientHello is what a client offered. Lists keep wire order and include
// GREASE values (fingerprints drop them). Versions are 16-bit TLS codes
// (0x0303 = TLS 1.2); see VersionName.
type ClientHello struct {
	RecordVersion       uint16   `json:"record_version,omitempty"` // 0 inside QUIC
	LegacyVersion       uint16   `json:"legacy_version"`
	SessionIDLen        int      `json:"session_id_len"`
	SNI                 string   `json:"sni,omitempty"`
	ALPN                []string `json:"alpn,omitempty"`
	SupportedVersions   []uint16 `json:"supported_versions,omitempty"`
	CipherSuites        []uint16 `json:"cipher_suites"`
	Compression         ByteList `json:"compression_methods"`
	Extensions          []uint16 `json:"extensions"`
	Groups              []uint16 `json:"groups,omitempty"`
	PointFormats        ByteList `json:"ec_point_formats,omitempty"`
	SignatureAlgorithms []uint16 `json:"signature_algorithms,omitempty"`
	KeyShareGroups      []uint16 `json:"key_share_groups,omitempty"`
	ECH                 bool     `json:"ech,omitempty"` // encrypted_client_hello extension present
}

// ServerHello is what a server chose. Version is the negotiated version:
// supported_versions when present, else the legacy version.
type ServerHello struct {
	LegacyVersion   uint16   `json:"legacy_version"`
	SelectedVersion uint16   `json:"selected_version,omitempty"` // supported_versions extension
	Version         uint16   `json:"version"`                    // negotiated
	VersionName     string   `json:"version_name"`
	CipherSuite     uint16   `json:"cipher_suite"`
	CipherName      string   `json:"cipher_suite_name"`
	Compression     uint8    `json:"compression_method"`
	Extensions      []uint16 `json:"extensions"`
	ALPN            string   `json:"alpn,omitempty"`
	KeyShareGroup   uint16   `json:"key_share_group,omitempty"`
	HelloRetry      bool     `json:"hello_retry_request,omitempty"`
}

// ByteList is a list of 8-bit codes; JSON writes it as numbers, not base64.
type ByteList []uint8

// MarshalJSON writes [0,1,2].
func (l ByteList) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return append(b, ']'), nil
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// ParseClientHello parses one ClientHello handshake message: msg starts with
// the 4-byte handshake header (type 1, 24-bit length), as found in TLS
// records or QUIC CRYPTO frames. Bytes after the message are ignored.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	body, err := handshakeBody(msg, typeClientHello)
	if err != nil {
		return nil, err
	}
	ch := &ClientHello{}
	s := cryptobyte.String(body)
	var random, sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&ch.LegacyVersion) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&comp) {
		return nil, malformed("client hello header")
	}
	ch.SessionIDLen = len(sid)
	if len(suites)%2 != 0 {
		return nil, malformed("cipher suite list")
	}
	ch.CipherSuites = make([]uint16, 0, min(len(suites)/2, maxList))
	for !suites.Empty() && len(ch.CipherSuites) < maxList {
		var c uint16
		suites.ReadUint16(&c)
		ch.CipherSuites = append(ch.CipherSuites, c)
	}
	ch.Compression = append(ByteList{}, comp[:min(len(comp), maxList)]...)
	if s.Empty() { // SSLv3-style hello without extensions
		return ch, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return nil, malformed("extension block")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, malformed("extension")
		}
		if len(ch.Extensions) < maxList {
			ch.Extensions = append(ch.Extensions, typ)
		}
		if err := ch.parseExtension(typ, data); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

func (ch *ClientHello) parseExtension(typ uint16, data cryptobyte.String) error {
	switch typ {
	case extServerName:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) {
			return malformed("server_name")
		}
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				return malformed("server_name entry")
			}
			if nameType == 0 && ch.SNI == "" {
				ch.SNI = string(name[:min(len(name), maxName)])
			}
		}
	case extALPN:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) {
			return malformed("alpn")
		}
		for !list.Empty() {
			var p cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&p) {
				return malformed("alpn entry")
			}
			if len(ch.ALPN) < maxList {
				ch.ALPN = append(ch.ALPN, string(p))
			}
		}
	case extSupportedVersions:
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 {
			return malformed("supported_versions")
		}
		ch.SupportedVersions = readUint16s(list, ch.SupportedVersions)
	case extSupportedGroups:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
			return malformed("supported_groups")
		}
		ch.Groups = readUint16s(list, ch.Groups)
	case extECPointFormats:
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) {
			return malformed("ec_point_formats")
		}
		ch.PointFormats = append(ch.PointFormats, list[:min(len(list), maxList)]...)
	case extSignatureAlgorithms:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
			return malformed("signature_algorithms")
		}
		ch.SignatureAlgorithms = readUint16s(list, ch.SignatureAlgorithms)
	case extKeyShare:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) {
			return malformed("key_share")
		}
		for !list.Empty() {
			var g uint16
			var kx cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&kx) {
				return malformed("key_share entry")
			}
			if len(ch.KeyShareGroups) < maxList {
				ch.KeyShareGroups = append(ch.KeyShareGroups, g)
			}
		}
	case extECH:
		ch.ECH = true
	}
	return nil
}

func readUint16s(list cryptobyte.String, dst []uint16) []uint16 {
	for !list.Empty() && len(dst) < maxList {
		var v uint16
		if !list.ReadUint16(&v) {
			break
		}
		dst = append(dst, v)
	}
	return dst
}

// ParseServerHello parses one ServerHello handshake message (4-byte header
// first). A HelloRetryRequest is a ServerHello with HelloRetry set.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	body, err := handshakeBody(msg, typeServerHello)
	if err != nil {
		return nil, err
	}
	sh := &ServerHello{}
	s := cryptobyte.String(body)
	var random []byte
	var sid cryptobyte.String
	if !s.ReadUint16(&sh.LegacyVersion) || !s.ReadBytes(&random, 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&sh.CipherSuite) || !s.ReadUint8(&sh.Compression) {
		return nil, malformed("server hello header")
	}
	sh.HelloRetry = [32]byte(random) == helloRetryRandom
	sh.Version = sh.LegacyVersion
	if s.Empty() {
		return sh.finish(), nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return nil, malformed("server hello extensions")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, malformed("server hello extension")
		}
		if len(sh.Extensions) < maxList {
			sh.Extensions = append(sh.Extensions, typ)
		}
		switch typ {
		case extSupportedVersions:
			if !data.ReadUint16(&sh.SelectedVersion) {
				return nil, malformed("server supported_versions")
			}
			sh.Version = sh.SelectedVersion
		case extALPN:
			var list, p cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&p) {
				return nil, malformed("server alpn")
			}
			sh.ALPN = string(p[:min(len(p), maxName)])
		case extKeyShare:
			// ServerHello: group + key; HelloRetryRequest: group only.
			if !data.ReadUint16(&sh.KeyShareGroup) {
				return nil, malformed("server key_share")
			}
		}
	}
	return sh.finish(), nil
}

// finish fills the derived name fields.
func (sh *ServerHello) finish() *ServerHello {
	sh.VersionName = VersionName(sh.Version)
	sh.CipherName = cipherName(sh.CipherSuite)
	return sh
}

// cipherNames holds crypto/tls's names of the suites it knows;
// stdtls.CipherSuiteName builds its list anew on every call.
var cipherNames = sync.OnceValue(func() map[uint16]string {
	m := map[uint16]string{}
	for _, list := range [][]*stdtls.CipherSuite{stdtls.CipherSuites(), stdtls.InsecureCipherSuites()} {
		for _, cs := range list {
			m[cs.ID] = cs.Name
		}
	}
	return m
})

// cipherName is the standard name of a cipher suite, or its number in hex
// as crypto/tls writes unknown ones.
func cipherName(id uint16) string {
	if n, ok := cipherNames()[id]; ok {
		return n
	}
	return stdtls.CipherSuiteName(id)
}

// handshakeBody checks the 4-byte handshake header and returns the body.
func handshakeBody(msg []byte, want uint8) ([]byte, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) {
		return nil, malformed("empty handshake message")
	}
	if typ != want {
		return nil, malformed(fmt.Sprintf("handshake type %d, want %d", typ, want))
	}
	if !s.ReadUint24LengthPrefixed(&body) {
		return nil, malformed("truncated handshake message")
	}
	return body, nil
}

// IsGREASE reports whether v is a GREASE value (RFC 8701): 0x?a?a with both
// bytes equal.
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// VersionName names a TLS/SSL version code: "TLS1.2", "SSL3.0", "DTLS1.2"...
// Unknown codes are printed in hex ("0x7f17" stays draft-looking).
func VersionName(v uint16) string {
	switch v {
	case 0x0002:
		return "SSL2.0"
	case 0x0300:
		return "SSL3.0"
	case 0x0301:
		return "TLS1.0"
	case 0x0302:
		return "TLS1.1"
	case 0x0303:
		return "TLS1.2"
	case 0x0304:
		return "TLS1.3"
	case 0xfeff:
		return "DTLS1.0"
	case 0xfefd:
		return "DTLS1.2"
	case 0xfefc:
		return "DTLS1.3"
	}
	if v>>8 == 0x7f { // TLS 1.3 drafts: 0x7fNN
		return fmt.Sprintf("TLS1.3-draft%d", v&0xff)
	}
	return fmt.Sprintf("0x%04x", v)
}

// MaxVersion is the highest non-GREASE version the client offered:
// supported_versions if present, else the legacy version.
func (ch *ClientHello) MaxVersion() uint16 {
	if len(ch.SupportedVersions) == 0 {
		return ch.LegacyVersion
	}
	var best uint16
	for _, v := range ch.SupportedVersions {
		if !IsGREASE(v) && versionRank(v) > versionRank(best) {
			best = v
		}
	}
	return best
}

// versionRank orders versions: SSL2 < SSL3 < TLS1.0 < ... < TLS1.2 < TLS1.3
// drafts < TLS1.3; DTLS codes rank with the TLS version they map to.
func versionRank(v uint16) int {
	switch {
	case v == 0x0002:
		return 1
	case v>>8 == 0x03:
		return 10 + 10*int(v&0xff)
	case v>>8 == 0x7f:
		return 45
	case v == 0xfeff:
		return 30
	case v == 0xfefd:
		return 40
	case v == 0xfefc:
		return 50
	}
	return 0
}
