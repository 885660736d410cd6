package tls

import (
	"crypto/sha256"
	stdtls "crypto/tls"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// helloSpec describes a ClientHello to build by hand.
type helloSpec struct {
	legacy   uint16
	ciphers  []uint16
	exts     []uint16 // order on the wire; known ones get real bodies
	sni      string
	alpn     []string
	versions []uint16
	groups   []uint16
	sigalgs  []uint16
	formats  []uint8
}

// buildClientHello encodes spec as a handshake message (with header).
func buildClientHello(h helloSpec) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(h.legacy)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, c := range h.ciphers {
				b.AddUint16(c)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range h.exts {
				b.AddUint16(e)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { extBody(b, e, h) })
			}
		})
	})
	return b.BytesOrPanic()
}

func extBody(b *cryptobyte.Builder, e uint16, h helloSpec) {
	u16list := func(vs []uint16) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, v := range vs {
				b.AddUint16(v)
			}
		})
	}
	switch e {
	case extServerName:
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(h.sni)) })
		})
	case extALPN:
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, p := range h.alpn {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
			}
		})
	case extSupportedVersions:
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, v := range h.versions {
				b.AddUint16(v)
			}
		})
	case extSupportedGroups:
		u16list(h.groups)
	case extSignatureAlgorithms:
		u16list(h.sigalgs)
	case extECPointFormats:
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.formats) })
	case extKeyShare:
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, g := range h.groups[:min(1, len(h.groups))] {
				b.AddUint16(g)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
			}
		})
	}
}

// foxioExample is the ClientHello of the FoxIO JA4 specification example,
// with GREASE values added that must be ignored.
var foxioExample = helloSpec{
	legacy:   0x0303,
	ciphers:  []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
	exts:     []uint16{0x2a2a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015},
	sni:      "www.example.com",
	alpn:     []string{"h2", "http/1.1"},
	versions: []uint16{0x7a7a, 0x0304, 0x0303},
	groups:   []uint16{0x4a4a, 0x001d, 0x0017, 0x0018},
	sigalgs:  []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	formats:  []uint8{0},
}

func TestParseClientHelloFoxIOExample(t *testing.T) {
	ch, err := ParseClientHello(buildClientHello(foxioExample))
	if err != nil {
		t.Fatal(err)
	}
	if ch.SNI != "www.example.com" || !slices.Equal(ch.ALPN, []string{"h2", "http/1.1"}) {
		t.Errorf("sni %q alpn %q", ch.SNI, ch.ALPN)
	}
	if got := ch.MaxVersion(); got != 0x0304 {
		t.Errorf("max version %#x", got)
	}
	if got, want := ch.JA4(JA4TCP), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
	wantRaw := "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := ch.JA4Raw(JA4TCP); got != wantRaw {
		t.Errorf("JA4_r = %s\nwant    %s", got, wantRaw)
	}
	if got := ch.JA4(JA4QUIC); got[0] != 'q' || got[1:] != "13d1516h2_8daaf6152771_e5627efa2ab1" {
		t.Errorf("QUIC JA4 = %s", got)
	}
	text, hash := ch.JA3()
	wantText := "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53," +
		"27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
	if text != wantText {
		t.Errorf("JA3 = %s\nwant  %s", text, wantText)
	}
	if len(hash) != 32 {
		t.Errorf("JA3 hash %q", hash)
	}
}

func TestJA4Hash(t *testing.T) {
	// Values from the FoxIO JA4 specification.
	tests := []struct{ in, want string }{
		{"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9", "8daaf6152771"},
		{"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601", "e5627efa2ab1"},
		{"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01", "6d807ffa2a79"},
		{"", "000000000000"},
	}
	for _, tt := range tests {
		if got := ja4Hash(tt.in); got != tt.want {
			t.Errorf("ja4Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJA4ALPN(t *testing.T) {
	tests := []struct {
		alpn []string
		want string
	}{
		{nil, "00"},
		{[]string{""}, "00"},
		{[]string{"h2"}, "h2"},
		{[]string{"http/1.1", "h2"}, "h1"},
		{[]string{"h"}, "hh"},
		{[]string{"\xab"}, "ab"},
		{[]string{"\xab\xcd"}, "ad"},
		{[]string{"0\xab"}, "3b"},
		{[]string{"01\xab\xcd"}, "3d"},
		{[]string{"0\xab\xcd1"}, "01"},
	}
	for _, tt := range tests {
		if got := ja4ALPN(tt.alpn); got != tt.want {
			t.Errorf("ja4ALPN(%q) = %q, want %q", tt.alpn, got, tt.want)
		}
	}
}

func TestJA4Parts(t *testing.T) {
	tests := []struct {
		name string
		h    helloSpec
		want string
	}{
		{"no extensions tls1.0", helloSpec{legacy: 0x0301, ciphers: []uint16{0x002f}}, "t10i010000_" + ja4Hash("002f") + "_000000000000"},
		{"sni only", helloSpec{legacy: 0x0303, ciphers: []uint16{0x002f}, exts: []uint16{0}, sni: "a"}, "t12d010100_" + ja4Hash("002f") + "_000000000000"},
		{"no sigalgs", helloSpec{legacy: 0x0303, exts: []uint16{0x000a}, groups: []uint16{29}}, "t12i000100_000000000000_" + ja4Hash("000a")},
		{"ssl3", helloSpec{legacy: 0x0300, ciphers: []uint16{4}}, "ts3i010000_" + ja4Hash("0004") + "_000000000000"},
		{"unknown version", helloSpec{legacy: 0x0303, exts: []uint16{0x002b}, versions: []uint16{0x7f17}}, "t00i000100_000000000000_" + ja4Hash("002b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseClientHello(buildClientHello(tt.h))
			if err != nil {
				t.Fatal(err)
			}
			if got := ch.JA4(JA4TCP); got != tt.want {
				t.Errorf("JA4 = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	good := buildClientHello(foxioExample)
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"wrong type", append([]byte{2}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"header only", good[:4]},
		{"odd cipher list", buildOddCiphers()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseClientHello(tt.msg); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func buildOddCiphers() []byte {
	var b cryptobyte.Builder
	b.AddUint8(typeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{1, 2, 3}) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	})
	return b.BytesOrPanic()
}

func TestParseServerHello(t *testing.T) {
	build := func(random []byte, version, cipher uint16, exts func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddUint8(typeServerHello)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(random)
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
			b.AddUint16(cipher)
			b.AddUint8(0)
			if exts != nil {
				b.AddUint16LengthPrefixed(exts)
			}
		})
		return b.BytesOrPanic()
	}
	sv := func(v uint16) func(b *cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) {
			b.AddUint16(extSupportedVersions)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(v) })
			b.AddUint16(extKeyShare)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x001d) })
		}
	}
	tests := []struct {
		name    string
		msg     []byte
		version string
		cipher  string
		hrr     bool
	}{
		{"tls1.2", build(make([]byte, 32), 0x0303, 0xc02f, nil), "TLS1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false},
		{"tls1.3", build(make([]byte, 32), 0x0303, 0x1301, sv(0x0304)), "TLS1.3", "TLS_AES_128_GCM_SHA256", false},
		{"hrr", build(helloRetryRandom[:], 0x0303, 0x1302, sv(0x0304)), "TLS1.3", "TLS_AES_256_GCM_SHA384", true},
		{"draft", build(make([]byte, 32), 0x0303, 0x1301, sv(0x7f17)), "TLS1.3-draft23", "TLS_AES_128_GCM_SHA256", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := ParseServerHello(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if sh.VersionName != tt.version || sh.CipherName != tt.cipher || sh.HelloRetry != tt.hrr {
				t.Errorf("got %s %s hrr=%v", sh.VersionName, sh.CipherName, sh.HelloRetry)
			}
		})
	}
	if sum := sha256.Sum256([]byte("HelloRetryRequest")); hex.EncodeToString(sum[:]) != hex.EncodeToString(helloRetryRandom[:]) {
		t.Error("helloRetryRandom is not SHA-256(\"HelloRetryRequest\")")
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		b    []byte
		want bool
	}{
		{[]byte{22, 3, 1, 0, 200, 1}, true},
		{[]byte{22, 3, 3, 0, 90, 2}, true},
		{[]byte{22, 3, 1}, true},
		{[]byte{22, 3, 1, 0, 0}, false},
		{[]byte{22, 3, 1, 0xff, 0xff, 1}, false},
		{[]byte{22, 3, 1, 0, 200, 11}, false},
		{[]byte{23, 3, 3, 0, 20, 1}, false},
		{[]byte("GET / HTTP/1.1\r\n"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := Detect(tt.b); got != tt.want {
			t.Errorf("Detect(% x) = %v", tt.b, got)
		}
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := 0; v <= 0xffff; v++ {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != 0x0a|(v&0xf0) && v>>8 != v&0xff {
				t.Errorf("%#04x is not GREASE", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16", n)
	}
}

func TestCipherNameMatchesCryptoTLS(t *testing.T) {
	for id := 0; id <= 0xffff; id++ {
		if got, want := cipherName(uint16(id)), stdtls.CipherSuiteName(uint16(id)); got != want {
			t.Fatalf("cipherName(%#04x) = %q, crypto/tls says %q", id, got, want)
		}
	}
}
