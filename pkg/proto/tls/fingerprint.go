package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// JA4 transport prefixes.
const (
	JA4TCP  = 't'
	JA4QUIC = 'q'
	JA4DTLS = 'd'
)

// JA3 returns the JA3 string (version,ciphers,extensions,groups,point
// formats; decimal, dash-joined, GREASE removed) and its MD5 in hex.
func (ch *ClientHello) JA3() (text, hash string) {
	// One buffer of the largest size the text can take (5 digits and a
	// dash per value), one string.
	var stack [512]byte
	b := stack[:0]
	if n := 6*(len(ch.CipherSuites)+len(ch.Extensions)+len(ch.Groups)+len(ch.PointFormats)) + 10; n > len(stack) {
		b = make([]byte, 0, n)
	}
	b = strconv.AppendInt(b, int64(ch.LegacyVersion), 10)
	b = append(b, ',')
	b = appendDecimal(b, ch.CipherSuites)
	b = append(b, ',')
	b = appendDecimal(b, ch.Extensions)
	b = append(b, ',')
	b = appendDecimal(b, ch.Groups)
	b = append(b, ',')
	for i, f := range ch.PointFormats {
		if i > 0 {
			b = append(b, '-')
		}
		b = strconv.AppendInt(b, int64(f), 10)
	}
	sum := md5.Sum(b)
	return string(b), hex.EncodeToString(sum[:])
}

func appendDecimal(b []byte, vs []uint16) []byte {
	first := true
	for _, v := range vs {
		if IsGREASE(v) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

// JA4 returns the FoxIO JA4 fingerprint, e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1".
// transport is JA4TCP, JA4QUIC or JA4DTLS.
func (ch *ClientHello) JA4(transport byte) string {
	ja4, _ := ch.ja4Both(transport)
	return ja4
}

// ja4Both returns JA4 and JA4Raw, from one computation of their parts.
func (ch *ClientHello) ja4Both(transport byte) (ja4, raw string) {
	a, ciphers, exts := ch.ja4Parts(transport)
	return a + "_" + ja4Hash(ciphers) + "_" + ja4Hash(exts), a + "_" + ciphers + "_" + exts
}

// JA4Raw returns the unhashed JA4 (FoxIO "JA4_r"): sorted cipher list and
// sorted extensions_signature algorithms in hex.
func (ch *ClientHello) JA4Raw(transport byte) string {
	a, ciphers, exts := ch.ja4Parts(transport)
	return a + "_" + ciphers + "_" + exts
}

func (ch *ClientHello) ja4Parts(transport byte) (a, ciphers, exts string) {
	cs := withoutGREASE(ch.CipherSuites)
	all := withoutGREASE(ch.Extensions)
	var es []uint16
	for _, e := range all {
		if e != extServerName && e != extALPN {
			es = append(es, e)
		}
	}
	slices.Sort(cs)
	slices.Sort(es)

	var b strings.Builder
	b.WriteByte(transport)
	b.WriteString(ja4Version(ch.ja4MaxVersion()))
	if slices.Contains(ch.Extensions, extServerName) {
		b.WriteByte('d')
	} else {
		b.WriteByte('i')
	}
	b.WriteString(twoDigits(len(cs)))
	b.WriteString(twoDigits(len(all)))
	b.WriteString(ja4ALPN(ch.ALPN))

	ciphers = hexList(cs)
	exts = hexList(es)
	if len(es) > 0 {
		if sig := withoutGREASE(ch.SignatureAlgorithms); len(sig) > 0 {
			exts += "_" + hexList(sig)
		}
	}
	return b.String(), ciphers, exts
}

// ja4MaxVersion is the highest supported_versions value (GREASE ignored),
// else the legacy version.
func (ch *ClientHello) ja4MaxVersion() uint16 {
	if !slices.Contains(ch.Extensions, extSupportedVersions) {
		return ch.LegacyVersion
	}
	return ch.MaxVersion()
}

func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func ja4ALPN(alpn []string) string {
	if len(alpn) == 0 || alpn[0] == "" {
		return "00"
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString([]byte(p))
	return string([]byte{h[0], h[len(h)-1]})
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func twoDigits(n int) string {
	n = min(n, 99)
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

func hexList(vs []uint16) string {
	b := make([]byte, 0, len(vs)*5)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// ja4Hash is the first 12 hex digits of SHA-256(s), or twelve zeros for an
// empty list.
func ja4Hash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
