package ftp

import (
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto/mail"
)

// What the Spec decoder must report on the dev captures with FTP, from
// tshark 4.0 (-Y ftp -e ftp.request.command -e ftp.request.arg
// -e ftp.response.arg): the NetBSD server takes "anonymous" with the
// password "test"; the Ubuntu one "jsiwek" with "whatabadpass". The
// greetings "ftp.NetBSD.org FTP server ..." and "localhost.localdomain
// FTP server ..." — the second names no server.
var wantSpec = map[string]struct {
	passwords, anonymous []string
	findings             int
	names                string
}{
	"zeek/ftp/ipv6.pcap":               {anonymous: []string{"test"}, names: "banner:ftp.netbsd.org"},
	"zeek/var-services-std-ports.pcap": {passwords: []string{"whatabadpass"}, findings: 1},
}

// TestCorpusSpec runs every connection through the FTP Spec as the engine
// does and checks what the Sink got; only the control connections are
// claimed (the data connections carry directory listings and files).
func TestCorpusSpec(t *testing.T) {
	seen := 0
	for _, e := range corpus.Dev(t) {
		want, ok := wantSpec[e.Name()]
		if !ok {
			continue
		}
		seen++
		var pw, anon, names []string
		findings, claimed := 0, 0
		for _, c := range pcaptest.Conns(t, e.Path) {
			for _, p := range []mail.Protocol{mail.SMTP, mail.POP3, mail.IMAP} {
				if sinktest.Conn(mail.Spec(p, mail.Limits{}), c) != nil {
					t.Errorf("%s: %s claims the connection from %s", e.Name(), p, c.Client)
				}
			}
			s := sinktest.Conn(Spec(Limits{}), c)
			if s == nil {
				continue
			}
			claimed++
			pw = append(pw, s.Scanned("ftp.password")...)
			anon = append(anon, s.Scanned("ftp.anonymous-pass")...)
			findings += len(s.Findings)
			for _, n := range s.Names {
				names = append(names, string(n.Source)+":"+n.Name)
			}
		}
		if claimed != 1 {
			t.Errorf("%s: %d connections claimed, want the one control connection", e.Name(), claimed)
		}
		if strings.Join(pw, "|") != strings.Join(want.passwords, "|") || strings.Join(anon, "|") != strings.Join(want.anonymous, "|") {
			t.Errorf("%s: passwords %q anonymous %q, want %q %q", e.Name(), pw, anon, want.passwords, want.anonymous)
		}
		if findings != want.findings || strings.Join(names, " ") != want.names {
			t.Errorf("%s: %d findings, names %q; want %d, %q", e.Name(), findings, names, want.findings, want.names)
		}
	}
	if seen == 0 {
		t.Skip("no FTP captures in the dev corpus")
	}
}
