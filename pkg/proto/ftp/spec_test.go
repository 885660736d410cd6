package ftp

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
	sinktest.Feed(Spec(tc.lim).New(s).(proto.StreamDecoder), s, tc.ops, split)
	return s
}

// TestDecoderSink checks what each session reports through the Sink
// against golden files, whatever the segmentation.
func TestDecoderSink(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := sinktest.Render(runSink(tc, nil))
			golden.Check(t, filepath.Join("testdata", "sink-"+tc.name+".golden"), []byte(got))
			if g := sinktest.Render(runSink(tc, func(int) int { return 1 })); g != got {
				t.Errorf("bytewise split differs:\n%s", g)
			}
		})
	}
}

func TestDecoderReports(t *testing.T) {
	byName := map[string]testCase{}
	for _, tc := range cases() {
		byName[tc.name] = tc
	}
	for _, tc := range []struct {
		session           string
		password          []string
		anonymous         []string
		findings          int
		names             string
		switchUp, switch2 string
	}{
		{session: "session", password: []string{"Adm1n!"}, findings: 1, names: "banner:ftp.example.com"},
		{session: "anonymous", anonymous: []string{"guest@example.com"}},
		{session: "auth-tls", switchUp: "\x16\x03\x01\x00\x05hellomore", switch2: "\x16\x03\x03\x00\x02hi"},
	} {
		s := runSink(byName[tc.session], nil)
		if g := s.Scanned("ftp.password"); strings.Join(g, "|") != strings.Join(tc.password, "|") {
			t.Errorf("%s: ftp.password %q, want %q", tc.session, g, tc.password)
		}
		if g := s.Scanned("ftp.anonymous-pass"); strings.Join(g, "|") != strings.Join(tc.anonymous, "|") {
			t.Errorf("%s: ftp.anonymous-pass %q, want %q", tc.session, g, tc.anonymous)
		}
		if len(s.Findings) != tc.findings {
			t.Errorf("%s: findings %+v, want %d", tc.session, s.Findings, tc.findings)
		}
		var names []string
		for _, n := range s.Names {
			names = append(names, string(n.Source)+":"+n.Name)
		}
		if strings.Join(names, " ") != tc.names {
			t.Errorf("%s: names %q, want %q", tc.session, names, tc.names)
		}
		if tc.switchUp == "" && len(s.Switches) > 0 || tc.switchUp != "" && (len(s.Switches) != 1 ||
			s.Switches[0].To != "tls" || string(s.Switches[0].Up) != tc.switchUp || string(s.Switches[0].Down) != tc.switch2) {
			t.Errorf("%s: switches %+v", tc.session, s.Switches)
		}
		for _, e := range s.Events {
			if ev := e.Fields.(*Event); e.Type != EventType || len(ev.Password) > 0 {
				t.Errorf("%s: emitted %s keeps the password", tc.session, e.Type)
			}
		}
	}
}

func TestSpecDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		down, up string
		port     uint16
		want     proto.Verdict
	}{
		{"nothing yet", "", "", 21, proto.NeedMore},
		{"client first", "", "USER x\r\n", 21, proto.No},
		{"greeting cut", "220 ftp.example", "", 21, proto.NeedMore},
		{"ftp greeting", "220 ftp.NetBSD.org FTP server ready.\r\n", "", 2121, proto.Yes},
		{"port 21", "220 ready\r\n", "", 21, proto.Yes},
		{"bare 220 odd port", "220 ready\r\n", "", 2121, proto.NeedMore},
		{"bare 220 then USER", "220 ready\r\n", "USER anonymous\r\n", 2121, proto.Yes},
		{"smtp greeting", "220 mx.example.net ESMTP\r\n", "", 25, proto.No},
		{"smtp client", "220 ready\r\n", "EHLO x\r\n", 21, proto.No},
		{"pop3", "+OK ready\r\n", "", 110, proto.No},
		{"binary server first", "\x17\x03\x03\x00\xc6", "", 21, proto.No},
		{"greeting start", "22", "", 21, proto.NeedMore},
	} {
		in := proto.DetectInput{Down: []byte(tc.down), Up: []byte(tc.up), ServerPort: tc.port}
		if got := Spec(Limits{}).Detect(in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
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
	return !ok || len(ev.Password) > 0
}
