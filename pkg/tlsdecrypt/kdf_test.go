package tlsdecrypt

import (
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 8448 section 3 (simple 1-RTT handshake): the traffic keys and IVs
// derived from the handshake and application traffic secrets.
func TestExpandLabelRFC8448(t *testing.T) {
	tests := []struct {
		name, secret, label, want string
		n                         int
	}{
		{"server handshake key", "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38", "key", "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", 16},
		{"server handshake iv", "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38", "iv", "5d 31 3e b2 67 12 76 ee 13 00 0b 30", 12},
		{"client handshake key", "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21", "key", "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01", 16},
		{"client handshake iv", "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21", "iv", "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f", 12},
		{"server application key", "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43", "key", "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56", 16},
		{"server application iv", "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43", "iv", "cf 78 2b 88 dd 83 54 9a ad f1 e9 84", 12},
		{"client application key", "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5", "key", "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51", 16},
		{"client application iv", "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5", "iv", "5b 78 92 3d ee 08 57 90 33 e5 23 d9", 12},
	}
	for _, tc := range tests {
		got, err := ExpandLabel(crypto.SHA256, unhex(tc.secret), tc.label, nil, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != hex.EncodeToString(unhex(tc.want)) {
			t.Errorf("%s: got %x", tc.name, got)
		}
	}
	// RFC 8448 section 3: derived secret from the early secret, a
	// Derive-Secret with the empty transcript hash as context.
	early := unhex("33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a")
	empty := sha256.Sum256(nil)
	got, _ := ExpandLabel(crypto.SHA256, early, "derived", empty[:], 32)
	if want := "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"; hex.EncodeToString(got) != want {
		t.Errorf("derived: got %x", got)
	}
}

// TLS 1.2 PRF test vector (SHA-256) distributed on the IETF TLS list and
// used by many implementations' tests.
func TestPRF12(t *testing.T) {
	secret := unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35")
	seed := unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c")
	want := unhex(`e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66`)
	got := prf12(sha256.New, secret, "test label", seed, len(want))
	if hex.EncodeToString(got) != hex.EncodeToString(want) {
		t.Errorf("got %x", got)
	}
}

// TestSuiteTable checks the suite table against the names crypto/tls
// knows: key length, AEAD or CBC, MAC and PRF hash must agree with the
// name.
func TestSuiteTable(t *testing.T) {
	names := map[uint16]string{}
	for _, l := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range l {
			names[cs.ID] = cs.Name
		}
	}
	checked := 0
	for id, s := range suites {
		name, ok := names[id]
		if !ok {
			continue
		}
		checked++
		want := map[bool]int{true: 32, false: 16}[strings.Contains(name, "_256_") || strings.Contains(name, "CHACHA20")]
		kind := map[bool]cipherKind{true: kindCBC, false: kindGCM}[strings.Contains(name, "_CBC_")]
		if strings.Contains(name, "CHACHA20") {
			kind = kindChaCha
		}
		hash := map[bool]crypto.Hash{true: crypto.SHA384, false: crypto.SHA256}[strings.HasSuffix(name, "_SHA384")]
		tls13 := strings.HasPrefix(name, "TLS_AES_") || strings.HasPrefix(name, "TLS_CHACHA20_")
		if s.keyLen != want || s.kind != kind || s.hash != hash || s.tls13 != tls13 {
			t.Errorf("%s (%#04x): %+v", name, id, s)
		}
		if s.kind == kindCBC {
			macLen := map[bool]int{true: 20, false: 32}[strings.HasSuffix(name, "_SHA")]
			if strings.HasSuffix(name, "_SHA384") {
				macLen = 48
			}
			if s.macLen != macLen {
				t.Errorf("%s: MAC length %d", name, s.macLen)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d suites checked", checked)
	}
}
