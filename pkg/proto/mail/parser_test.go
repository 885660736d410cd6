package mail

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

type op = fuzzseed.Op

func up(s ...string) op   { return op{Dir: proto.ToServer, Data: []byte(strings.Join(s, ""))} }
func down(s ...string) op { return op{Dir: proto.ToClient, Data: []byte(strings.Join(s, ""))} }
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

type testCase struct {
	name  string
	proto Protocol
	lim   Limits
	ops   []op
}

// tlsHello stands for the first bytes of a ClientHello record.
const tlsHello = "\x16\x03\x01\x00\x05hello"

func cases() []testCase {
	return []testCase{
		{name: "smtp-session", proto: SMTP, ops: []op{
			down("220 mx.example.net ESMTP Postfix (Debian)\r\n"),
			up("EHLO cam-7f3a.local\r\n"),
			down("250-mx.example.net\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
			up("AUTH LOGIN\r\n"), down("334 VXNlcm5hbWU6\r\n"),
			up(b64("camera@example.net"), "\r\n"), down("334 UGFzc3dvcmQ6\r\n"),
			up(b64("s3cret!"), "\r\n"), down("235 2.7.0 Authentication successful\r\n"),
			// Pipelined MAIL and RCPTs.
			up("MAIL FROM:<camera@example.net> SIZE=300\r\nRCPT TO:<owner@example.org>\r\nRCPT TO:<backup@example.org> NOTIFY=NEVER\r\n"),
			down("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n"),
			up("DATA\r\n"), down("354 End data with <CR><LF>.<CR><LF>\r\n"),
			up("From: Camera <camera@example.net>\r\nTo: owner@example.org\r\nSubject: =?UTF-8?Q?Bewegung_erkannt?=\r\nContent-Type: text/plain\r\n\r\n"),
			up("Motion at 52.5200,13.4050\r\n..leading dot\r\n.\r\n"),
			down("250 2.0.0 Ok: queued as 4F2A\r\n"),
			up("QUIT\r\n"), down("221 2.0.0 Bye\r\n"),
		}},
		{name: "smtp-auth-plain-bdat", proto: SMTP, ops: []op{
			down("220 smtp.example.com ESMTP\r\n"),
			up("EHLO [10.0.0.5]\r\n"), down("250-smtp.example.com\r\n250 CHUNKING\r\n"),
			up("AUTH PLAIN ", b64("\x00dev@example.com\x00pa55"), "\r\n"), down("235 ok\r\n"),
			up("AUTH XOAUTH2 ", b64("user=dev@example.com\x01auth=Bearer ya29.TOKEN\x01\x01"), "\r\n"), down("235 ok\r\n"),
			up("AUTH PLAIN\r\n"), down("334 \r\n"), up("*\r\n"), down("501 cancelled\r\n"),
			up("AUTH PLAIN\r\n"), down("334 \r\n"), up("!!notbase64\r\n"), down("501 bad\r\n"),
			up("MAIL FROM:<dev@example.com>\r\n"), down("250 ok\r\n"),
			up("BDAT 12\r\nSubject: x\r\n"), down("250 ok\r\n"),
			up("BDAT 6 LAST\r\n\r\nbody!"), down("250 ok\r\n"),
		}},
		{name: "smtp-starttls", proto: SMTP, ops: []op{
			down("220 mx.example.net ESMTP\r\n"),
			up("EHLO host\r\n"), down("250-mx.example.net\r\n250 STARTTLS\r\n"),
			up("STARTTLS\r\n"), down("454 4.7.0 TLS not available\r\n"),
			up("STARTTLS\r\n"), up(tlsHello), down("220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x02hi"),
			up("more tls"),
		}},
		{name: "pop3-session", proto: POP3, ops: []op{
			down("+OK Dovecot ready. <1896.697170952@dbc.mtview.ca.us>\r\n"),
			up("CAPA\r\n"), down("+OK\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"),
			up("USER alice\r\n"), down("+OK\r\n"),
			up("PASS hunter2\r\n"), down("-ERR [AUTH] Authentication failed.\r\n"),
			up("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"), down("+OK maildrop has 1 message\r\n"),
			up("AUTH PLAIN\r\n"), down("+ \r\n"), up(b64("\x00bob\x00pw"), "\r\n"), down("+OK logged in\r\n"),
			up("RETR 1\r\n"), down("+OK 120 octets\r\nSubject: hi\r\n\r\n+OK this line is mail\r\n..\r\n.\r\n"),
			up("LIST 1\r\n"), down("+OK 1 120\r\n"),
			up("STLS\r\n"), down("+OK Begin TLS negotiation\r\n"), up(tlsHello),
		}},
		{name: "imap-session", proto: IMAP, ops: []op{
			down("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"),
			up("a1 CAPABILITY\r\n"), down("* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n"),
			up(`a2 LOGIN "alice@example.com" "pa\"ss"`, "\r\n"), down("a2 NO [AUTHENTICATIONFAILED] no\r\n"),
			up("a3 LOGIN {3}\r\n"), down("+ OK\r\n"), up("bob {6+}\r\n"), up("secret\r\n"), down("a3 OK logged in\r\n"),
			up("a4 AUTHENTICATE PLAIN\r\n"), down("+ \r\n"), up(b64("\x00carol\x00pw3"), "\r\n"), down("a4 OK\r\n"),
			up("a5 SELECT INBOX\r\na6 FETCH 1 BODY[]\r\n"),
			down("* 1 EXISTS\r\na5 OK [READ-WRITE] SELECT completed\r\n* 1 FETCH (BODY[] {26}\r\na6 OK fake line in literal)\r\na6 OK FETCH done\r\n"),
			up("a7 STARTTLS\r\n"), down("a7 OK Begin TLS negotiation now\r\n"), up(tlsHello),
		}},
		{name: "gaps", proto: SMTP, ops: []op{
			down("220 mx ESMTP\r\n"),
			up("EHLO a\r\nMAIL FROM:<lost@exa"), {Dir: proto.ToServer, Gap: 30}, up("mple.com>\r\nRCPT TO:<after@example.org>\r\n"),
			down("250 ok\r\n250 ok\r\n250 ok\r\n"),
			up("DATA\r\n"), down("354 go\r\n"), up("Subject: t\r\n\r\nline one\r\n"), {Dir: proto.ToServer, Gap: 100},
			up("tail of a line\r\nline after\r\n.\r\n"), down("250 queued\r\n"),
			up("BDAT 10 LAST\r\n0123"), {Dir: proto.ToServer, Gap: 6}, down("250 ok\r\n"),
			up("QUIT\r\n"),
		}},
		{name: "limits", proto: SMTP, lim: Limits{MaxLine: 32, MaxMessage: 40, MaxPending: 2}, ops: []op{
			down("220 mx ESMTP\r\n"),
			up("EHLO " + strings.Repeat("h", 60) + "\r\n"),
			up("NOOP\r\nNOOP\r\nNOOP\r\n"),
			up("DATA\r\n"), down("354 go\r\n"),
			up(strings.Repeat("0123456789", 8), "\r\nline2\r\n.\r\n"),
		}},
		{name: "malformed", proto: IMAP, ops: []op{
			down("* OK ready\r\n"),
			up("\r\n   \r\na1\r\n\x00\xff binary {99999999999999999999}\r\n"),
			up("a2 LOGIN {x}\r\n", "a3 NOOP\r\n"),
			down("a1 BAD\r\nnot a reply\r\n+ go\r\na3 OK\r\n"),
			up("a9 LOGIN {5}\r\nab"),
		}},
	}
}

func run(tc testCase, split func(int) int) ([]*Event, *Parser) {
	var evs []*Event
	p := New(tc.proto, tc.lim, func(e *Event) { evs = append(evs, e) })
	fuzzseed.Feed(p, tc.ops, 1, split)
	return evs, p
}

func render(evs []*Event, p *Parser) string {
	var b strings.Builder
	for _, e := range evs {
		j, err := json.Marshal(e)
		if err != nil {
			fmt.Fprintf(&b, "marshal: %v\n", err)
		}
		fmt.Fprintf(&b, "frame=%d %s\n", e.Frame, j)
		e.ScanFields(func(f Field) { fmt.Fprintf(&b, "  scan %s %q %s\n", f.Location, f.Data, f.ContentType) })
		if k, m := e.Finding(); k != "" {
			fmt.Fprintf(&b, "  finding %s: %s\n", k, m)
		}
	}
	if k, u, d := p.Tunnel(); k != "" {
		fmt.Fprintf(&b, "tunnel %s up=%q down=%q\n", k, u, d)
	}
	return b.String()
}

func TestParserGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := render(run(tc, nil))
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), []byte(got))
			for name, split := range map[string]func(int) int{
				"bytewise": func(int) int { return 1 },
				"random":   func(n int) int { return 1 + rand.IntN(n) },
			} {
				if g := render(run(tc, split)); g != got {
					t.Errorf("%s split differs:\n%s", name, g)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		down, up string
		port     uint16
		want     Protocol
	}{
		{"smtp-ehlo", "220 mail01 ESMTP Postfix\r\n", "EHLO x\r\n", 2525, SMTP},
		{"smtp-banner", "220 mx.google.com ESMTP gsmtp\r\n", "", 10025, SMTP},
		{"smtp-port", "220 hello\r\n", "", 587, SMTP},
		{"ftp", "220 ftp.NetBSD.org FTP server ready.\r\n", "USER anonymous\r\n", 21, 0},
		{"ftp-no-client", "220 ready\r\n", "", 21, 0},
		{"pop3", "+OK Dovecot ready.\r\n", "", 110, POP3},
		{"imap", "* OK [CAPABILITY IMAP4rev1] ready\r\n", "", 143, IMAP},
		{"imap-preauth", "* PREAUTH ready\r\n", "", 143, IMAP},
		{"http", "HTTP/1.1 200 OK\r\n", "GET / HTTP/1.1\r\n", 80, 0},
		{"empty", "", "", 25, 0},
		{"220-only", "220", "", 25, 0},
	} {
		if got := Detect([]byte(tc.down), []byte(tc.up), tc.port); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParser")
	}
	for _, tc := range cases() {
		fuzzseed.Write(t, "FuzzParser", tc.name, uint16(tc.proto), fuzzseed.Encode(tc.ops))
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		f.Add(uint16(tc.proto), fuzzseed.Encode(tc.ops))
	}
	lim := Limits{MaxLine: 256, MaxMessage: 512, MaxPending: 8, MaxHold: 256}
	f.Fuzz(func(t *testing.T, pr uint16, in []byte) {
		tc := testCase{proto: Protocol(pr%3 + 1), lim: lim, ops: fuzzseed.Decode(in)}
		evs, p := run(tc, nil)
		// The same input through the Spec decoder and its Sink: no panic,
		// and nothing secret kept in what it emits.
		checkSink(t, runSink(tc, nil))
		for _, e := range evs {
			if e.Message != nil && len(e.Message.Data) > lim.MaxMessage {
				t.Fatalf("message over MaxMessage")
			}
			if len(e.Argument) > lim.MaxLine || len(e.Password) > lim.MaxLine {
				t.Fatalf("argument over MaxLine")
			}
		}
		if _, u, d := p.Tunnel(); len(u) > 2*lim.MaxHold || len(d) > 2*lim.MaxHold {
			t.Fatalf("tunnel bytes over MaxHold")
		}
		if a, b := render(evs, p), render(run(tc, func(int) int { return 1 })); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}
