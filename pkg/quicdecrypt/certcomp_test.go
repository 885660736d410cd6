package quicdecrypt

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
	"github.com/phonehome/phonehome/pkg/proto/quic"
)

// TestCompressedServerCertificate: OpenSSL's QUIC server sends its chain as
// a zstd CompressedCertificate (RFC 8879) in its Handshake packets
// (fixtures/decrypt/make-quic-certcomp.sh). With the key log the chain is
// decompressed and checked: the two certificates the server was given
// (subject, issuer, serial: openssl x509, *.tsv), and the leaf, for
// other.phonehome.test, does not cover the SNI fixture.phonehome.test.
// tshark 4.0 shows the type-25 message (zstd, 844 bytes uncompressed) in
// frame 4 of quic-certcomp-zstd. In quic-certcomp-zstd-retry the server
// sends two Retry packets and the client follows the first (its later
// Initials go to that Retry's SCID, tshark's quic.dcid); tshark 4.0 takes
// the second and decrypts none of the server's Initials after it, so it
// shows no Handshake message there: the frame is this decoder's. Without
// keys: no chain.
func TestCompressedServerCertificate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame uint64 // of the certificate
	}{
		{"quic-certcomp-zstd", 4},
		{"quic-certcomp-zstd-retry", 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join("testdata", tc.name)
			raw, err := os.ReadFile(base + ".tsv")
			if err != nil {
				t.Fatal(err)
			}
			var certs []string
			var retries [][]string // the Retry rows
			var hello []string     // the client's Initial with the ClientHello
			var comp []string      // the row with the CompressedCertificate
			for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				f := strings.Split(l, "\t")
				switch {
				case f[0] == "cert":
					certs = append(certs, strings.Join([]string{f[1], f[2], strings.ToLower(f[3])}, "|"))
				case f[0] == "tshark" && f[3] == "3":
					retries = append(retries, f)
				case f[0] == "tshark" && f[6] == "1" && hello == nil:
					hello = f
				case f[0] == "tshark" && strings.Contains(f[6], "25"):
					comp = f
				}
			}
			if len(retries) == 0 {
				if comp == nil || comp[1] != "4" || comp[7] != "3" || comp[8] != "844" {
					t.Fatalf("tshark truth: CompressedCertificate row %q", comp)
				}
			}
			for _, keys := range []bool{true, false} {
				kl := keylog.New()
				if keys {
					kl = loadKeys(t, base+".keys")
				}
				c, findings, st := runOpenSSL(t, base+".pcap", kl)
				var got []string
				for _, x := range c.Certificates {
					got = append(got, strings.Join([]string{x.Subject, x.Issuer, x.Serial}, "|"))
				}
				if !keys {
					if len(got) != 0 || len(findings) != 0 {
						t.Errorf("without keys: chain %q, findings %v", got, findings)
					}
					continue
				}
				if !slices.Equal(got, certs) || c.CertificateFrame != tc.frame || len(c.Notes) != 0 {
					t.Errorf("chain %q in frame %d, notes %q; want %q in frame %d", got, c.CertificateFrame, c.Notes, certs, tc.frame)
				}
				if !c.NameMismatch || !slices.Equal(findings, []string{"tls-cert-name-mismatch"}) {
					t.Errorf("name mismatch %v, findings %v", c.NameMismatch, findings)
				}
				if st.Handshake[1] == 0 || st.Decrypted[0] == 0 || st.Decrypted[1] == 0 {
					t.Errorf("status %+v", st)
				}
				if len(retries) > 0 {
					// The client followed the first Retry: its ClientHello
					// went to that Retry's SCID.
					if len(retries) != 2 || hello == nil || hello[4] != retries[0][5] {
						t.Fatalf("tshark truth: Retries %q, ClientHello %q", retries, hello)
					}
					if !c.Retry || c.RetrySCID != retries[0][5] || c.UndecryptedInitial != [2]uint64{} {
						t.Errorf("retry %v %s, undecrypted Initials %v; the client followed %s", c.Retry, c.RetrySCID, c.UndecryptedInitial, retries[0][5])
					}
				}
			}
		})
	}
}

// runOpenSSL runs one of the OpenSSL captures (the server on port 19505 or
// 19506) through a Decoder with pkg/proto/quic as its Initial decoder and
// returns its one connection, the findings and the Conn's status.
func runOpenSSL(t *testing.T, pcap string, keys *keylog.Log) (*quic.Connection, []string, Status) {
	t.Helper()
	pkts, _, ok := pcaptest.Packets(t, pcap, false)
	if !ok {
		t.Fatal("not a capture")
	}
	sink := &prototest.Sink{}
	d := NewDecoder(DecoderConfig{Keys: keys, Initial: quic.NewParser(sink)})
	for _, p := range pkts {
		dir := proto.ToServer
		if p.Src.Port() == 19505 || p.Src.Port() == 19506 {
			dir = proto.ToClient
		}
		d.Datagram(dir, p.Payload, proto.Meta{Frame: uint64(p.Frame), Time: p.Time})
	}
	d.End(proto.Meta{})
	var conns []*quic.Connection
	for _, e := range sink.Events {
		if c, ok := e.Fields.(*quic.Connection); ok {
			conns = append(conns, c)
		}
	}
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	var findings []string
	for _, f := range sink.Findings {
		findings = append(findings, f.Kind)
	}
	return conns[0], findings, d.c.Status()
}
