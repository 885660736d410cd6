package mail

import (
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto/ftp"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// What the Spec decoders must report on the dev captures with mail, read
// from tshark 4.0 (-Y 'smtp.req || smtp.response.code == 220 || pop'
// -e smtp.req.command -e smtp.req.parameter -e smtp.rsp.parameter
// -e pop.request.parameter; base64 of the AUTH PLAIN lines decoded by
// hand). Greetings: "mail01 ESMTP Postfix" names no server (not a dotted
// name), "mx.google.com ESMTP ..." does; EHLO "[172.16.16.225]" is an
// address literal, "openssl.client.net" the client's own name.
var wantSpec = map[string]struct {
	protocol          string
	scanned           map[string][]string
	findings          int
	names             []string
	switchFrame       uint64 // the frame of the server's yes to STARTTLS
	switchTLSUp, down bool   // TLS records after the switch
}{
	"chrissanders-packets/mail_sender_client_1.pcapng": {protocol: "smtp",
		scanned: map[string][]string{"smtp.mail_from": {"sanders@skynet.local"}, "smtp.rcpt_to": {"sanders@cyberdyne.local"}, "smtp.hostname": {"[172.16.16.225]"}}},
	"zeek/tls/smtp-starttls.pcap": {protocol: "smtp", names: []string{"banner:mx.google.com", "device:openssl.client.net"},
		scanned: map[string][]string{"smtp.hostname": {"openssl.client.net"}}, switchFrame: 11, switchTLSUp: true, down: true},
	"zeek/pop3/pop3.pcap": {protocol: "pop3", findings: 3,
		scanned: map[string][]string{"pop3.password": {"napier", "napier123", "napier123"}}},
}

// TestCorpusSpec runs every connection of the mail captures through the
// SMTP, POP3 and IMAP Specs as the engine does (Detect on the first
// bytes, then the decoder with a Sink) and checks what they report.
func TestCorpusSpec(t *testing.T) {
	seen := 0
	for _, e := range corpus.Dev(t) {
		want, ok := wantSpec[e.Name()]
		if !ok {
			continue
		}
		seen++
		all := &prototest.Sink{}
		claimed := map[string]int{}
		for _, c := range pcaptest.Conns(t, e.Path) {
			if sinktest.Conn(ftp.Spec(ftp.Limits{}), c) != nil {
				t.Errorf("%s: ftp claims the connection from %s", e.Name(), c.Client)
			}
			for _, p := range []Protocol{SMTP, POP3, IMAP} {
				s := sinktest.Conn(Spec(p, Limits{}), c)
				if s == nil {
					continue
				}
				claimed[p.String()]++
				all.Events = append(all.Events, s.Events...)
				all.Fields = append(all.Fields, s.Fields...)
				all.Findings = append(all.Findings, s.Findings...)
				all.Names = append(all.Names, s.Names...)
				all.Switches = append(all.Switches, s.Switches...)
				break
			}
		}
		if len(claimed) != 1 || claimed[want.protocol] == 0 {
			t.Errorf("%s: connections claimed %v, want only %s", e.Name(), claimed, want.protocol)
		}
		for loc, w := range want.scanned {
			if g := all.Scanned(loc); strings.Join(g, "|") != strings.Join(w, "|") {
				t.Errorf("%s: scanned %s %q, want %q", e.Name(), loc, g, w)
			}
		}
		if len(all.Findings) != want.findings {
			t.Errorf("%s: %d findings, want %d: %+v", e.Name(), len(all.Findings), want.findings, all.Findings)
		}
		var names []string
		for _, n := range all.Names {
			names = append(names, string(n.Source)+":"+n.Name)
		}
		if strings.Join(names, " ") != strings.Join(want.names, " ") {
			t.Errorf("%s: names %q, want %q", e.Name(), names, want.names)
		}
		if want.switchFrame == 0 {
			if len(all.Switches) > 0 {
				t.Errorf("%s: unexpected switch %+v", e.Name(), all.Switches)
			}
		} else if len(all.Switches) != 1 || all.Switches[0].To != "tls" || all.Switches[0].Meta.Frame != want.switchFrame ||
			isTLS(all.Switches[0].Up) != want.switchTLSUp || isTLS(all.Switches[0].Down) != want.down {
			t.Errorf("%s: switches %+v, want one to tls at frame %d", e.Name(), all.Switches, want.switchFrame)
		}
		t.Logf("%s: %d events, %d fields, %d findings, names %q, %d switches", e.Name(), len(all.Events), len(all.Fields), len(all.Findings), names, len(all.Switches))
	}
	if seen == 0 {
		t.Skip("no mail captures in the dev corpus")
	}
}

// isTLS says whether b begins with a TLS handshake record.
func isTLS(b []byte) bool { return len(b) >= 3 && b[0] == 0x16 && b[1] == 3 }
