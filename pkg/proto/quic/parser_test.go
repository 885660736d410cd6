package quic

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	stdtls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// TestServerInitialVector decrypts the server Initial of RFC 9001 appendix
// A.3 (keys from the client DCID 0x8394c8f03e515708).
func TestServerInitialVector(t *testing.T) {
	clientPkt := sealInitial(t, Version1, unhex(t, "8394c8f03e515708"), nil, 2, 4, true,
		cryptoFrame(0, buildHello(t, "example.com")))
	server := unhex(t, "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee")
	var evs []audit.Event
	p := NewParser(collect(&evs))
	p.Datagram(proto.ToServer, clientPkt, proto.Meta{Frame: 1, Time: t0})
	p.Datagram(proto.ToClient, server, proto.Meta{Frame: 2, Time: t0})
	p.End(proto.Meta{})
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	c := evs[0].Fields.(*Connection)
	if c.ServerHello == nil || c.ServerHello.CipherSuite != 0x1301 || c.ServerHello.Version != 0x0304 {
		t.Fatalf("server hello %+v, notes %v, undecrypted %v", c.ServerHello, c.Notes, c.UndecryptedInitial)
	}
	if c.SNI != "example.com" {
		t.Errorf("SNI %q", c.SNI)
	}
}

// buildHello returns a QUIC ClientHello made by crypto/tls's QUIC API.
func buildHello(t testing.TB, sni string) []byte {
	t.Helper()
	q := stdtls.QUICClient(&stdtls.QUICConfig{TLSConfig: &stdtls.Config{ServerName: sni, NextProtos: []string{"h3"}, MinVersion: stdtls.VersionTLS13}})
	q.SetTransportParameters([]byte{0x01, 0x02, 0x40, 0x64}) // max_idle_timeout=100
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for {
		e := q.NextEvent()
		switch e.Kind {
		case stdtls.QUICNoEvent:
			t.Fatal("no ClientHello produced")
		case stdtls.QUICWriteData:
			if e.Level == stdtls.QUICEncryptionLevelInitial {
				return bytes.Clone(e.Data)
			}
		}
	}
}

// serverHello feeds hello to a crypto/tls QUIC server and returns its
// Initial-level CRYPTO data (the ServerHello).
func serverHello(t testing.TB, hello []byte) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quic.example.com"},
		DNSNames: []string{"quic.example.com"}, NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	q := stdtls.QUICServer(&stdtls.QUICConfig{TLSConfig: &stdtls.Config{
		Certificates: []stdtls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"h3"}, MinVersion: stdtls.VersionTLS13}})
	q.SetTransportParameters([]byte{0x01, 0x02, 0x40, 0x64})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.HandleData(stdtls.QUICEncryptionLevelInitial, hello); err != nil {
		t.Fatal(err)
	}
	for {
		e := q.NextEvent()
		switch e.Kind {
		case stdtls.QUICNoEvent:
			t.Fatal("no ServerHello produced")
		case stdtls.QUICWriteData:
			if e.Level == stdtls.QUICEncryptionLevelInitial {
				return bytes.Clone(e.Data)
			}
		}
	}
}

func cryptoFrame(off int, data []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(0x06)
	addVarint(&b, uint64(off))
	addVarint(&b, uint64(len(data)))
	b.AddBytes(data)
	return b.BytesOrPanic()
}

func addVarint(b *cryptobyte.Builder, v uint64) {
	switch {
	case v < 1<<6:
		b.AddUint8(uint8(v))
	case v < 1<<14:
		b.AddUint16(uint16(v) | 0x4000)
	case v < 1<<30:
		b.AddUint32(uint32(v) | 0x80000000)
	default:
		b.AddUint64(v | 0xc0<<56)
	}
}

// sealInitial builds a protected client Initial packet carrying frames,
// padded with PADDING to a 1200-byte datagram; keys derive from its DCID.
func sealInitial(t testing.TB, version uint32, dcid, scid []byte, pn uint64, pnLen int, client bool, frames ...[]byte) []byte {
	return seal(t, version, dcid, dcid, scid, pn, pnLen, client, frames...)
}

// seal builds a protected Initial packet; keys derive from keyDCID (the
// client's DCID, also for server packets).
func seal(t testing.TB, version uint32, keyDCID, dcid, scid []byte, pn uint64, pnLen int, client bool, frames ...[]byte) []byte {
	t.Helper()
	vi, ok := lookupVersion(version)
	if !ok {
		t.Fatalf("version %#x", version)
	}
	ck, sk, err := initialKeys(vi, keyDCID)
	if err != nil {
		t.Fatal(err)
	}
	k := sk
	if client {
		k = ck
	}
	payload := bytes.Join(frames, nil)
	overhead := 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + pnLen + 16
	if client && overhead+len(payload) < 1200 {
		payload = append(payload, make([]byte, 1200-overhead-len(payload))...)
	}
	for len(payload)+pnLen < 20 {
		payload = append(payload, 0) // room for the header-protection sample
	}
	var b cryptobyte.Builder
	b.AddUint8(0xc0 | vi.initialType<<4 | uint8(pnLen-1))
	b.AddUint32(version)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(dcid) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(scid) })
	b.AddUint8(0) // token length
	b.AddUint16(uint16(pnLen+len(payload)+16) | 0x4000)
	for i := pnLen - 1; i >= 0; i-- {
		b.AddUint8(uint8(pn >> (8 * i)))
	}
	hdr := b.BytesOrPanic()
	pnOff := len(hdr) - pnLen
	var nonce [12]byte
	copy(nonce[:], k.iv[:])
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	pkt := k.aead.Seal(bytes.Clone(hdr), nonce[:], payload, hdr)
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < pnLen; i++ {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// datagram is one UDP payload of a generated flow.
type datagram struct {
	dir  proto.Dir
	data []byte
}

// scenarios builds generated flows exercising the parser.
func scenarios(t testing.TB) map[string][]datagram {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	scid := []byte{0xc1, 0x01}
	srvID := []byte{0x5e, 0x71, 0x0e}
	hello := buildHello(t, "quic.example.com")
	sh := serverHello(t, hello)
	half := len(hello) / 2
	third := len(hello) / 3
	out := map[string][]datagram{}
	for _, v := range []uint32{Version1, Version2} {
		name := VersionName(v)
		out[name+"-simple"] = []datagram{
			{proto.ToServer, sealInitial(t, v, dcid, scid, 0, 1, true, cryptoFrame(0, hello))},
			// The server's Initial keys come from the client's DCID; the
			// packet starts with an ACK frame.
			{proto.ToClient, seal(t, v, dcid, scid, srvID, 0, 2, false, []byte{0x02, 0x00, 0x00, 0x00, 0x00}, cryptoFrame(0, sh))},
		}
	}
	// CRYPTO split over three packets, delivered out of order, the last two
	// coalesced in one datagram, with PING and ACK frames mixed in.
	p1 := seal(t, Version1, dcid, dcid, scid, 0, 4, true, cryptoFrame(2*third, hello[2*third:]))
	p2 := seal(t, Version1, dcid, dcid, scid, 1, 4, true, []byte{0x01}, cryptoFrame(0, hello[:third]))
	p3 := seal(t, Version1, dcid, dcid, scid, 2, 4, true, cryptoFrame(third, hello[third:2*third]), []byte{0x01})
	out["v1-split-unordered-coalesced"] = []datagram{
		{proto.ToServer, p1},
		{proto.ToServer, append(p2, p3...)},
	}
	// Retry: the client's second Initial uses the Retry SCID as DCID.
	retrySCID := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	out["v1-retry"] = []datagram{
		{proto.ToServer, sealInitial(t, Version1, dcid, scid, 0, 2, true, cryptoFrame(0, hello[:half]))},
		{proto.ToClient, retryPacket(Version1, scid, retrySCID)},
		{proto.ToServer, sealInitial(t, Version1, retrySCID, scid, 1, 2, true, cryptoFrame(0, hello))},
	}
	// Version negotiation for an unsupported version.
	out["version-negotiation"] = []datagram{
		{proto.ToServer, append([]byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8}, append(append(bytes.Clone(dcid), 0), make([]byte, 1180)...)...)},
		{proto.ToClient, append([]byte{0x80, 0, 0, 0, 0, 0, 8}, append(bytes.Clone(dcid), 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf)...)},
	}
	return out
}

func retryPacket(v uint32, dcid, scid []byte) []byte {
	vi, _ := lookupVersion(v)
	b := []byte{0xc0 | vi.retryType<<4}
	b = binary.BigEndian.AppendUint32(b, v)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = append(b, []byte("token")...)
	return append(b, make([]byte, 16)...) // integrity tag (not checked)
}

func run(dgs []datagram, step bool) []audit.Event {
	var evs []audit.Event
	p := NewParser(collect(&evs))
	for i, d := range dgs {
		p.Datagram(d.dir, d.data, proto.Meta{Frame: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	p.End(proto.Meta{Frame: uint64(len(dgs) + 1)})
	return evs
}

func TestScenarios(t *testing.T) {
	sc := scenarios(t)
	tests := []struct {
		name    string
		sni     string
		sh      bool
		retry   bool
		version string
		vn      int
	}{
		{"v1-simple", "quic.example.com", true, false, "v1", 0},
		{"v2-simple", "quic.example.com", true, false, "v2", 0},
		{"v1-split-unordered-coalesced", "quic.example.com", false, false, "v1", 0},
		{"v1-retry", "quic.example.com", false, true, "v1", 0},
		{"version-negotiation", "", false, false, "grease", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := run(sc[tt.name], false)
			if tt.version == "grease" {
				// An unknown version opens no connection; only the VN does.
				if len(evs) != 1 || len(evs[0].Fields.(*Connection).ServerVersions) != tt.vn {
					t.Fatalf("events %+v", evs)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			c := evs[0].Fields.(*Connection)
			if c.SNI != tt.sni || c.Version != tt.version || c.Retry != tt.retry || (c.ServerHello != nil) != tt.sh {
				t.Errorf("got sni %q version %s retry %v sh %v notes %v", c.SNI, c.Version, c.Retry, c.ServerHello != nil, c.Notes)
			}
			if c.ClientHello == nil || c.ClientHello.JA4[0] != 'q' || len(c.ALPN) != 1 || c.ALPN[0] != "h3" {
				t.Errorf("client hello %+v", c.ClientHello)
			}
		})
	}
}

// TestGolden replays committed datagram files and compares the events.
func TestGolden(t *testing.T) {
	if golden.Update() {
		for name, dgs := range scenarios(t) {
			var b bytes.Buffer
			for _, d := range dgs {
				b.WriteByte(byte(d.dir))
				binary.Write(&b, binary.BigEndian, uint32(len(d.data)))
				b.Write(d.data)
			}
			if err := os.WriteFile(filepath.Join("testdata", name+".datagrams"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.datagrams"))
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		name := filepath.Base(f[:len(f)-len(".datagrams")])
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, e := range run(readDatagrams(raw), false) {
				j, err := json.MarshalIndent(e, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				buf.Write(j)
				buf.WriteByte('\n')
			}
			goldenPath := filepath.Join("testdata", name+".golden")
			golden.Check(t, goldenPath, buf.Bytes())
		})
	}
}

func readDatagrams(b []byte) []datagram {
	var out []datagram
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		n = min(n, len(b)-5)
		out = append(out, datagram{proto.Dir(b[0] & 1), b[5 : 5+n]})
		b = b[5+n:]
	}
	return out
}

func TestDetect(t *testing.T) {
	sc := scenarios(t)
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"v1 initial", sc["v1-simple"][0].data, true},
		{"v2 initial", sc["v2-simple"][0].data, true},
		{"vn", sc["version-negotiation"][1].data, true},
		{"unknown version", sc["version-negotiation"][0].data, false},
		{"short header", []byte{0x40, 1, 2, 3, 4, 5, 6, 7}, false},
		{"gquic q043", append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8}, []byte("Q043\x01")...), true},
		{"gquic q050", append([]byte{0xc3}, []byte("Q050\x50")...), true},
		{"dns", []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := Detect(tt.b); got != tt.want {
			t.Errorf("%s: Detect = %v", tt.name, got)
		}
	}
}
