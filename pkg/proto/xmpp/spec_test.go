package xmpp

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
		session            string
		password, users    []string
		findings           int
		names              string
		switchUp, switchDn string
	}{
		{session: "plain-session", password: []string{"Gr33n!"}, users: []string{"thermostat-4411", "lamp-01"}, findings: 1, names: "protocol:example.com"},
		{session: "starttls", names: "protocol:example.com", switchUp: tlsHello + "more", switchDn: "\x16\x03\x03\x00\x02hi"},
		{session: "refused-and-gaps", names: "protocol:example.com"},
	} {
		s := runSink(byName[tc.session], nil)
		if g := s.Scanned("xmpp.password"); strings.Join(g, "|") != strings.Join(tc.password, "|") {
			t.Errorf("%s: xmpp.password %q, want %q", tc.session, g, tc.password)
		}
		if g := s.Scanned("xmpp.user"); strings.Join(g, "|") != strings.Join(tc.users, "|") {
			t.Errorf("%s: xmpp.user %q, want %q", tc.session, g, tc.users)
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
			s.Switches[0].To != "tls" || string(s.Switches[0].Up) != tc.switchUp || string(s.Switches[0].Down) != tc.switchDn) {
			t.Errorf("%s: switches %+v", tc.session, s.Switches)
		}
		for _, e := range s.Events {
			if ev := e.Fields.(*Event); e.Type != EventType || len(ev.Password) > 0 || len(ev.Raw) > 0 {
				t.Errorf("%s: emitted %s keeps a password or a raw stanza", tc.session, e.Type)
			}
		}
	}
}

func TestSpecDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		up, down string
		port     uint16
		want     proto.Verdict
	}{
		{"nothing yet", "", "", 5222, proto.NeedMore},
		{"server first", "", "220 ready\r\n", 5222, proto.No},
		{"stream header", clientHeader, "", 5222, proto.Yes},
		{"stream header odd port", "<stream:stream to='x.org' xmlns='jabber:client'>", "", 443, proto.Yes},
		{"declaration on 5222", "<?xml version='1.0'?>", "", 5222, proto.Yes},
		{"declaration elsewhere", "<?xml version='1.0'?>", "", 8080, proto.NeedMore},
		{"prefix", "<?x", "", 5222, proto.NeedMore},
		{"http", "GET / HTTP/1.1\r\n", "", 5222, proto.No},
	} {
		in := proto.DetectInput{Up: []byte(tc.up), Down: []byte(tc.down), ServerPort: tc.port}
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
	return !ok || len(ev.Password) > 0 || len(ev.Raw) > 0
}
