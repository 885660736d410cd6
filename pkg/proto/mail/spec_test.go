package mail

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

func runSink(tc testCase, split func(int) int) *prototest.Sink {
	s := &prototest.Sink{}
	sinktest.Feed(Spec(tc.proto, tc.lim).New(s).(proto.StreamDecoder), s, tc.ops, split)
	return s
}

// TestDecoderSink checks what each session reports through the Sink:
// events, scanned fields, findings, names and the STARTTLS hand-over.
func TestDecoderSink(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := sinktest.Render(runSink(tc, nil))
			golden.Check(t, filepath.Join("testdata", "sink-"+tc.name+".golden"), []byte(got))
			if g := sinktest.Render(runSink(tc, func(int) int { return 1 })); g != got {
				t.Errorf("bytewise split differs:\n%s", g)
			}
			if strings.Contains(got, "s3cret") && strings.Contains(got, "emit") {
				for _, l := range strings.Split(got, "\n") {
					if strings.HasPrefix(l, "emit") && strings.Contains(l, "s3cret") {
						t.Errorf("password in an emitted event: %s", l)
					}
				}
			}
		})
	}
}

// TestDecoderReports states the properties the golden files show.
func TestDecoderReports(t *testing.T) {
	byName := map[string]testCase{}
	for _, tc := range cases() {
		byName[tc.name] = tc
	}
	for _, tc := range []struct {
		session    string
		scanned    map[string][]string // location -> values, in order
		findings   []string            // kinds
		names      []string            // source:name
		switchTo   string
		switchUp   string
		switchDown string
	}{
		{session: "smtp-session",
			scanned: map[string][]string{
				"smtp.mail_from": {"camera@example.net"},
				"smtp.rcpt_to":   {"owner@example.org", "backup@example.org"},
				"smtp.password":  {"s3cret!"},
				"smtp.user":      {"camera@example.net"},
			},
			findings: []string{"smtp-password-cleartext"},
			names:    []string{"banner:mx.example.net", "device:cam-7f3a.local"}},
		{session: "smtp-auth-plain-bdat",
			scanned:  map[string][]string{"smtp.password": {"pa55", "ya29.TOKEN"}},
			findings: []string{"smtp-password-cleartext", "smtp-password-cleartext"},
			names:    []string{"banner:smtp.example.com"}},
		{session: "smtp-starttls", names: []string{"banner:mx.example.net", "device:host"},
			switchTo: "tls", switchUp: tlsHello + "more tls", switchDown: "\x16\x03\x03\x00\x02hi"},
		{session: "pop3-session",
			scanned:  map[string][]string{"pop3.password": {"hunter2", "pw"}},
			findings: []string{"pop3-password-cleartext", "pop3-password-cleartext"},
			switchTo: "tls", switchUp: tlsHello},
		{session: "imap-session",
			scanned:  map[string][]string{"imap.password": {`pa"ss`, "secret", "pw3"}, "imap.user": {"alice@example.com", "bob", "carol"}},
			findings: []string{"imap-password-cleartext", "imap-password-cleartext", "imap-password-cleartext"},
			switchTo: "tls", switchUp: tlsHello},
	} {
		s := runSink(byName[tc.session], nil)
		for loc, want := range tc.scanned {
			if got := s.Scanned(loc); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s: scanned %s = %q, want %q", tc.session, loc, got, want)
			}
		}
		var kinds []string
		for _, f := range s.Findings {
			kinds = append(kinds, f.Kind)
			if f.Severity.String() != "high" || f.Frame == 0 {
				t.Errorf("%s: finding %+v: want high with a frame", tc.session, f)
			}
		}
		if strings.Join(kinds, " ") != strings.Join(tc.findings, " ") {
			t.Errorf("%s: findings %q, want %q", tc.session, kinds, tc.findings)
		}
		var names []string
		for _, n := range s.Names {
			names = append(names, string(n.Source)+":"+n.Name)
		}
		if strings.Join(names, " ") != strings.Join(tc.names, " ") {
			t.Errorf("%s: names %q, want %q", tc.session, names, tc.names)
		}
		switch {
		case tc.switchTo == "" && len(s.Switches) > 0:
			t.Errorf("%s: unexpected switch %+v", tc.session, s.Switches)
		case tc.switchTo != "" && (len(s.Switches) != 1 || s.Switches[0].To != tc.switchTo ||
			string(s.Switches[0].Up) != tc.switchUp || string(s.Switches[0].Down) != tc.switchDown):
			t.Errorf("%s: switches %+v, want one to %s up=%q down=%q", tc.session, s.Switches, tc.switchTo, tc.switchUp, tc.switchDown)
		}
		for _, e := range s.Events {
			if e.Type != EventType {
				t.Errorf("%s: event type %q", tc.session, e.Type)
			}
			if ev := e.Fields.(*Event); len(ev.Password) > 0 || ev.Message != nil && len(ev.Message.Data) > 0 {
				t.Errorf("%s: emitted event keeps a secret or a body: %+v", tc.session, ev)
			}
		}
	}
}

func TestSpecDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        Protocol
		down, up string
		port     uint16
		want     proto.Verdict
	}{
		{"nothing yet", SMTP, "", "", 25, proto.NeedMore},
		{"client first", SMTP, "", "EHLO x\r\n", 25, proto.No},
		{"greeting cut", SMTP, "220 mx.example.net ES", "", 25, proto.NeedMore},
		{"esmtp greeting", SMTP, "220 mx.example.net ESMTP\r\n", "", 10025, proto.Yes},
		{"mail port", SMTP, "220 hello\r\n", "", 587, proto.Yes},
		{"bare 220 odd port", SMTP, "220 hello\r\n", "", 10025, proto.NeedMore},
		{"bare 220 then EHLO", SMTP, "220 hello\r\n", "EHLO me\r\n", 10025, proto.Yes},
		{"bare 220 then USER", SMTP, "220 hello\r\n", "USER me\r\n", 10025, proto.No},
		{"ftp greeting", SMTP, "220 ftp.example.org FTP server ready\r\n", "", 21, proto.No},
		{"pop3 for smtp", SMTP, "+OK ready\r\n", "", 110, proto.No},
		{"pop3", POP3, "+OK Dovecot ready.\r\n", "", 110, proto.Yes},
		{"imap", IMAP, "* OK [CAPABILITY IMAP4rev1] ready\r\n", "", 143, proto.Yes},
		{"imap for pop3", POP3, "* OK ready\r\n", "", 143, proto.No},
		{"http", IMAP, "HTTP/1.1 200 OK\r\n", "GET / HTTP/1.1\r\n", 80, proto.No},
		{"binary server first", SMTP, "\x17\x03\x03\x00\xc6\x8a", "", 443, proto.No},
		{"binary server first pop3", POP3, "\x00\x01binary", "", 443, proto.No},
		{"binary server first imap", IMAP, "*\x00x", "", 443, proto.No},
		{"imap greeting cut", IMAP, "* PRE", "", 143, proto.NeedMore},
		{"pop3 greeting cut", POP3, "+O", "", 110, proto.NeedMore},
	} {
		in := proto.DetectInput{Down: []byte(tc.down), Up: []byte(tc.up), ServerPort: tc.port}
		if got := Spec(tc.p, Limits{}).Detect(in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
	if s := Spec(IMAP, Limits{}); s.Name != "imap" || s.Channel != "IMAP" || s.Datagram {
		t.Errorf("IMAP spec %+v", s)
	}
}

// checkSink fails when an emitted event still holds a secret or a body
// the decoder scanned (the engine writes events as they are).
func checkSink(t *testing.T, s *prototest.Sink) {
	t.Helper()
	for _, e := range s.Events {
		if kept(e.Fields) {
			t.Fatalf("emitted %s event keeps a secret or a body: %+v", e.Type, e.Fields)
		}
	}
	_ = sinktest.Render(s)
}

func kept(f any) bool {
	ev, ok := f.(*Event)
	return !ok || len(ev.Password) > 0 || ev.Message != nil && len(ev.Message.Data) > 0
}
