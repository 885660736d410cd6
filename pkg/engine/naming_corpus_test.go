package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/signature"
)

// TestCorpusNameRanking: a name the device looked up in DNS ranks above
// the name a server announces for itself in its greeting (SMTP 220, FTP
// 220). The corpus has no capture in which both name one flow, so each
// real capture is read after a crafted one-datagram capture holding the
// DNS answer its client would have received (several inputs are one
// recording); without it the banner still names the flow.
func TestCorpusNameRanking(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	type dnsAnswer struct {
		client, resolver craft.Host
		name, addr       string
		at               time.Time
	}
	cases := []struct {
		file   string
		server string
		answer dnsAnswer
		banner string // the greeting's host (tshark: smtp.response.parameter, ftp.response.arg)
	}{
		{file: "pcaps/zeek/tls/smtp-starttls.pcap", server: "74.125.142.26:25", banner: "mx.google.com",
			answer: dnsAnswer{client: craft.NewHost("a8:20:66:48:ca:51", "192.168.4.149"), resolver: craft.NewHost("00:26:88:e7:8d:81", "192.168.4.1"),
				name: "smtp.gmail.com", addr: "74.125.142.26", at: time.Unix(1400168396, 0)}},
		{file: "pcaps/zeek/ftp/ipv6.pcap", server: "[2001:470:4867:99::21]:21", banner: "ftp.netbsd.org",
			answer: dnsAnswer{client: craft.NewHost("c4:2c:03:3b:6c:aa", "2001:470:1f11:81f:c999:d94:aa7c:2e3e"), resolver: craft.NewHost("d8:30:62:48:c5:b5", "2001:470:1f11:81f::1"),
				name: "ftp6.netbsd.org", addr: "2001:470:4867:99::21", at: time.Unix(1329327777, 0)}},
	}
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, server string, inputs ...string) flowView {
		t.Helper()
		rep, err := Run(context.Background(), Config{Scanner: sc, Signatures: sigs, KeepFlows: true}, inputs)
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatal(err)
		}
		return flowsOf(rep)[server]
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("corpus file missing: %v", err)
			}
			dnsFile := filepath.Join(t.TempDir(), "dns.pcap")
			f, err := os.Create(dnsFile)
			if err != nil {
				t.Fatal(err)
			}
			c, err := craft.New(f, tc.answer.at)
			if err != nil {
				t.Fatal(err)
			}
			a := tc.answer
			c.UDP(a.resolver, 53, a.client, 53000, craft.DNSAnswer(7, a.name, nil, a.addr))
			if err := c.Err(); err != nil {
				t.Fatal(err)
			}
			f.Close()

			if got := run(t, tc.server, path); got.name != tc.banner || got.source != "banner" {
				t.Errorf("alone: %s (%s), want %s (banner)", got.name, got.source, tc.banner)
			}
			if got := run(t, tc.server, dnsFile, path); got.name != a.name || got.source != "dns" {
				t.Errorf("after the DNS answer: %s (%s), want %s (dns)", got.name, got.source, a.name)
			}
		})
	}
}
