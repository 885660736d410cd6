package quic

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/hkdf"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyVectors checks key derivation against RFC 9001 appendix A.1 and
// RFC 9369 appendix A.1 (DCID 0x8394c8f03e515708).
func TestKeyVectors(t *testing.T) {
	tests := []struct {
		version     uint32
		side        string
		key, iv, hp string
	}{
		{Version1, "client in", "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{Version1, "server in", "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"},
		{Version2, "client in", "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"},
		{Version2, "server in", "82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"},
	}
	dcid := unhex(t, "8394c8f03e515708")
	for _, tt := range tests {
		vi, _ := lookupVersion(tt.version)
		initial := hkdf.Extract(sha256.New, dcid, vi.salt)
		key, iv, hp := keyMaterial(vi, hkdfExpandLabel(initial, tt.side, 32))
		if hex.EncodeToString(key) != tt.key || hex.EncodeToString(iv) != tt.iv || hex.EncodeToString(hp) != tt.hp {
			t.Errorf("%s %s: key %x iv %x hp %x", VersionName(tt.version), tt.side, key, iv, hp)
		}
	}
	vi, _ := lookupVersion(Version1)
	secret := hkdfExpandLabel(hkdf.Extract(sha256.New, dcid, vi.salt), "client in", 32)
	if got := hex.EncodeToString(secret); got != "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea" {
		t.Errorf("client_initial_secret %s", got)
	}
}

func TestDecodePacketNumber(t *testing.T) {
	// RFC 9000 appendix A.3 example, plus edge cases.
	tests := []struct {
		largest   int64
		truncated uint64
		bits      int
		want      uint64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32},
		{-1, 0, 8, 0},
		{-1, 2, 32, 2},
		{255, 1, 8, 257},
		{0x1ff, 0x00, 8, 0x200},
	}
	for _, tt := range tests {
		if got := DecodePacketNumber(tt.largest, tt.truncated, tt.bits); got != tt.want {
			t.Errorf("DecodePacketNumber(%#x, %#x, %d) = %#x, want %#x", tt.largest, tt.truncated, tt.bits, got, tt.want)
		}
	}
}

func TestVersionName(t *testing.T) {
	tests := map[uint32]string{
		Version1: "v1", Version2: "v2", 0xff00001d: "draft-29", 0: "negotiation",
		0x51303433: "gquic-Q043", 0x1a2a3a4a: "grease", 0xfaceb002: "0xfaceb002",
	}
	for v, want := range tests {
		if got := VersionName(v); got != want {
			t.Errorf("VersionName(%#x) = %q, want %q", v, got, want)
		}
	}
}
