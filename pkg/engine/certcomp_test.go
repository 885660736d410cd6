package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// TestDecryptCompressedCertificate: pkg/tlsdecrypt/testdata/
// tls13-certcomp-zlib is openssl s_client against OpenSSL 3.5's s_server
// -cert_comp (fixtures/decrypt/make-certcomp.sh): the server sends its
// chain as a zlib CompressedCertificate (RFC 8879, handshake type 25),
// which tshark 4.0 shows in frame 6 (algorithm 1, 844 bytes uncompressed)
// but does not decompress. With the key log the chain is read: the two
// certificates the server was given (subject, issuer, serial as openssl
// x509 prints them, *.certs.tsv), and the leaf, for other.phonehome.test,
// does not cover the SNI fixture.phonehome.test. Without the key log
// nothing is said about the chain.
func TestDecryptCompressedCertificate(t *testing.T) {
	base := filepath.Join("..", "tlsdecrypt", "testdata", "tls13-certcomp-zlib")
	want := "chain frame=6 certs=2 self_signed=false; finding tls-cert-name-mismatch frame=6"
	if got := certView(t, base+".pcap", base+".keys"); got != want {
		t.Errorf("with keys:\n got %s\nwant %s", got, want)
	}
	if got := certView(t, base+".pcap", ""); got != "" {
		t.Errorf("without keys: %s", got)
	}

	raw, err := os.ReadFile(base + ".certs.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var truth, tsh []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Split(l, "\t")
		switch f[0] {
		case "cert":
			truth = append(truth, fmt.Sprintf("%s|%s|%s", f[1], f[2], strings.ToLower(f[3])))
		case "tshark":
			tsh = f[1:]
		}
	}
	rep, err := Run(context.Background(), Config{KeepEvents: true, Keys: readKeys(t, base+".keys")}, []string{base + ".pcap"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range rep.Events {
		if s, ok := ev.Fields.(*ptls.Session); ok {
			for _, c := range s.Certificates {
				got = append(got, fmt.Sprintf("%s|%s|%s", c.Subject, c.Issuer, c.Serial))
			}
			if !s.NameMismatch || len(s.Notes) != 0 {
				t.Errorf("name_mismatch %v, notes %q", s.NameMismatch, s.Notes)
			}
		}
	}
	if strings.Join(got, "\n") != strings.Join(truth, "\n") {
		t.Errorf("chain\n%s\nwant (openssl x509)\n%s", strings.Join(got, "\n"), strings.Join(truth, "\n"))
	}
	if len(tsh) != 4 || tsh[0] != "6" || tsh[2] != "1" {
		t.Fatalf("recorded tshark truth %q", tsh)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: compared with the values recorded above only")
		return
	}
	out, err := exec.Command("tshark", "-r", base+".pcap", "-o", "tls.keylog_file:"+base+".keys", "-Y", "tls.handshake.type==25",
		"-T", "fields", "-e", "frame.number", "-e", "tls.handshake.type", "-e", "tls.compress_certificate.algorithm",
		"-e", "tls.compress_certificate.uncompressed_length").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if g := strings.TrimSpace(string(out)); g != strings.Join(tsh, "\t") {
		t.Errorf("tshark %q, recorded %q", g, tsh)
	}
}
