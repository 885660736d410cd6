package quicdecrypt

import (
	"fmt"
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

// TestServerCertificate: the server's certificate travels in Handshake
// packets; with the key log's SERVER_HANDSHAKE_TRAFFIC_SECRET the Conn
// decrypts them and the QUIC decoder (pkg/proto/quic, the real one) gets
// the chain and the checks of a TLS session's chain. Truth is tshark's with
// the same key log (tshark -o tls.keylog_file:X.keys -Y
// tls.handshake.certificate -e frame.number -e tls.handshake.certificate,
// SHA-256 of the DER): one self-signed certificate for
// fixture.phonehome.test, valid for a day from an hour before the
// capture, so the one finding is tls-cert-self-signed (it covers the SNI,
// it has not expired). Without keys, and with another capture's keys:
// no chain, no Handshake packet decrypted.
func TestServerCertificate(t *testing.T) {
	tshark := map[string]string{ // capture: frame, SHA-256 of the DER (first 16 hex digits)
		"quic-v1-h3":           "5 322f118b68455acb",
		"quic-v2-h3":           "5 b3e600f789c7b71c",
		"quic-v1-h3-retry":     "8 88e1be5488c9bde4",
		"quic-v1-h3-keyupdate": "4 013c836130efcab6",
		"quic-v1-h3-nogso":     "6 d4d7cbd39b6a8f65",
		"chromium-h3-qpack":    "4 f05df6aa5c4ce200",
	}
	ports := map[string]uint16{"chromium-h3-qpack": 19448}
	for k, v := range serverPorts {
		ports[k] = v
	}
	for name, want := range tshark {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", name)
			for _, keys := range []string{base + ".keys", filepath.Join("testdata", otherCapture(name)+".keys"), ""} {
				kl := keylog.New()
				if keys != "" {
					kl = loadKeys(t, keys)
				}
				got, st, findings := certOf(t, base+".pcap", kl, ports[name])
				if keys != base+".keys" {
					if got != "" || st.Handshake[1] != 0 || len(findings) != 0 {
						t.Errorf("keys %q: chain %q, %d Handshake packets decrypted, findings %v", keys, got, st.Handshake[1], findings)
					}
					continue
				}
				if got != want+" CN=fixture.phonehome.test self-signed" {
					t.Errorf("chain %q, want (tshark) %q", got, want)
				}
				if !slices.Equal(findings, []string{"tls-cert-self-signed"}) {
					t.Errorf("findings %v", findings)
				}
				if st.Handshake[1] == 0 || st.Handshake[0] != 0 {
					t.Errorf("Handshake packets decrypted %v (the server's only)", st.Handshake)
				}
			}
		})
	}
}

// otherCapture names a capture whose keys belong to other connections.
func otherCapture(name string) string {
	if name == "quic-v1-h3" {
		return "quic-v2-h3"
	}
	return "quic-v1-h3"
}

// certOf runs a capture through the Decoder with pkg/proto/quic as its
// Initial decoder and returns the chains of the quic events ("frame
// sha256[:16] CN=... self-signed"), the Conn's status and the findings.
func certOf(t *testing.T, pcap string, keys *keylog.Log, port uint16) (string, Status, []string) {
	t.Helper()
	pkts, _, ok := pcaptest.Packets(t, pcap, false)
	if !ok {
		t.Fatal("not a capture")
	}
	sink := &prototest.Sink{}
	d := NewDecoder(DecoderConfig{Keys: keys, Initial: quic.NewParser(sink)})
	for _, p := range pkts {
		dir := proto.ToServer
		if p.Src.Port() == port {
			dir = proto.ToClient
		}
		d.Datagram(dir, p.Payload, proto.Meta{Frame: uint64(p.Frame), Time: p.Time})
	}
	d.End(proto.Meta{})
	var chains, findings []string
	for _, e := range sink.Events {
		c, ok := e.Fields.(*quic.Connection)
		if !ok || len(c.Certificates) == 0 {
			continue
		}
		for _, x := range c.Certificates {
			s := fmt.Sprintf("%d %s CN=%s", c.CertificateFrame, x.SHA256[:16], x.CommonName)
			if x.SelfSigned {
				s += " self-signed"
			}
			chains = append(chains, s)
		}
	}
	for _, f := range sink.Findings {
		findings = append(findings, f.Kind)
	}
	return strings.Join(chains, "; "), d.c.Status(), findings
}
