package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// certView is what these tests compare of a run: each tls event's
// certificate frame and chain length, and the certificate findings.
func certView(t *testing.T, pcap, keys string) string {
	t.Helper()
	cfg := Config{KeepEvents: true}
	if keys != "" {
		cfg.Keys = readKeys(t, keys)
	}
	rep, err := Run(context.Background(), cfg, []string{pcap})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range rep.Events {
		if s, ok := ev.Fields.(*ptls.Session); ok && s.Certificates != nil {
			out = append(out, fmt.Sprintf("chain frame=%d certs=%d self_signed=%v", s.CertificateFrame, len(s.Certificates), s.Certificates[0].SelfSigned))
		}
	}
	for _, d := range rep.Devices {
		for _, f := range d.Findings {
			if strings.HasPrefix(f.Kind, "tls-cert-") {
				out = append(out, fmt.Sprintf("finding %s frame=%d", f.Kind, f.Frame))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// TestDecryptTLS13Certificate: the server's TLS 1.3 Certificate, encrypted
// on the wire, is checked once a key log decrypts it, as a TLS 1.2 chain
// sent in clear is. The captures are curl/OpenSSL against openssl s_server
// with a self-signed certificate (pkg/tlsdecrypt/testdata); the truth is
// tshark 4.0 with the key log (tshark -r X.pcap -o tls.keylog_file:X.keys
// -Y tls.handshake.type==11 -T fields -e frame.number -e
// tls.handshake.certificate_length): one certificate per session, in the
// frames below. Without the key log nothing is said about the chain. The
// shared corpus's TLS 1.2 captures (chain in clear) say the same with and
// without keys.
func TestDecryptTLS13Certificate(t *testing.T) {
	dir := filepath.Join("..", "tlsdecrypt", "testdata")
	self := func(frames ...int) string {
		var out []string
		for _, f := range frames {
			out = append(out, fmt.Sprintf("chain frame=%d certs=1 self_signed=true", f), fmt.Sprintf("finding tls-cert-self-signed frame=%d", f))
		}
		slices.Sort(out)
		return strings.Join(out, "; ")
	}
	for _, tc := range []struct {
		name string
		want string // with the key log
	}{
		{"tls13-aes128gcm", self(6)},
		{"tls13-aes256gcm", self(6)},
		{"tls13-chacha20", self(6)},
		{"tls13-h2", self(6)},
		{"tls13-hrr", self(9)},
		{"tls13-keyupdate", self(6)},
		// Two sessions to one server (tshark: Certificates in frames 6
		// and 21): two chains, one finding row (the destination's rows
		// are counted, first frame kept).
		{"tls13-0rtt", self(6) + "; chain frame=21 certs=1 self_signed=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(dir, tc.name)
			want := strings.Split(tc.want, "; ")
			slices.Sort(want)
			tc.want = strings.Join(want, "; ")
			if got := certView(t, base+".pcap", base+".keys"); got != tc.want {
				t.Errorf("with keys:\n got %s\nwant %s", got, tc.want)
			}
			if got := certView(t, base+".pcap", ""); got != "" {
				t.Errorf("without keys: %s", got)
			}
		})
	}
	c := corpus.Dir()
	if c == "" {
		t.Log("corpus not found: TLS 1.2 captures skipped")
		return
	}
	for _, name := range []string{"tls12-decryption", "tls-1.2-stream-keylog"} {
		base := filepath.Join(c, "decrypt", name)
		if _, err := os.Stat(base + ".pcap"); err != nil {
			continue
		}
		with, without := certView(t, base+".pcap", base+".keys"), certView(t, base+".pcap", "")
		if with != without || with == "" {
			t.Errorf("%s: with keys %q, without %q", name, with, without)
		}
	}
}
