package ftp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
)

type op = fuzzseed.Op

func up(s ...string) op   { return op{Dir: proto.ToServer, Data: []byte(strings.Join(s, ""))} }
func down(s ...string) op { return op{Dir: proto.ToClient, Data: []byte(strings.Join(s, ""))} }

type testCase struct {
	name string
	lim  Limits
	ops  []op
}

func cases() []testCase {
	return []testCase{
		{name: "session", ops: []op{
			down("220 ftp.example.com FTP server ready.\r\n"),
			up("USER camera01\r\n"), down("331 Password required for camera01.\r\n"),
			up("PASS Adm1n!\r\n"), down("230-Welcome\r\n230-  to the server\r\n 230 not the end\r\n230 User logged in.\r\n"),
			up("SYST\r\nTYPE I\r\n"), down("215 UNIX Type: L8\r\n200 Type set to I\r\n"),
			up("EPRT |1|192.168.1.20|50122|\r\n"), down("200 EPRT command successful\r\n"),
			up("STOR snapshot-2026-03-14.jpg\r\n"), down("150 Opening BINARY mode data connection\r\n226 Transfer complete\r\n"),
			up("\xff\xf4\xff\xf2ABOR\r\n"), down("226 Abort successful\r\n"),
			up("QUIT\r\n"), down("221 Goodbye.\r\n"),
		}},
		{name: "anonymous", ops: []op{
			down("220-ProFTPD\r\n220 ready\r\n"),
			up("USER anonymous\r\n"), down("331 Anonymous login ok\r\n"),
			up("PASS guest@example.com\r\n"), down("230 ok\r\n"),
		}},
		{name: "auth-tls", ops: []op{
			down("220 ready\r\n"),
			up("AUTH SSL\r\n"), down("500 AUTH SSL not understood\r\n"),
			up("AUTH TLS\r\n"), up("\x16\x03\x01\x00\x05hello"), down("234 AUTH TLS successful\r\n\x16\x03\x03\x00\x02hi"),
			up("more"),
		}},
		{name: "gaps-limits", lim: Limits{MaxLine: 16, MaxPending: 2}, ops: []op{
			down("220 ready\r\n"),
			up("USER aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nPASS lo"), {Dir: proto.ToServer, Gap: 5}, up("st\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
			down("331 x\r\n230-a\r\n"), {Dir: proto.ToClient, Gap: 9}, down("200 ok\r\n"),
		}},
	}
}

func run(tc testCase, split func(int) int) ([]*Event, *Parser) {
	var evs []*Event
	p := New(tc.lim, func(e *Event) { evs = append(evs, e) })
	fuzzseed.Feed(p, tc.ops, 1, split)
	return evs, p
}

func render(evs []*Event, p *Parser) string {
	var b strings.Builder
	for _, e := range evs {
		j, _ := json.Marshal(e)
		fmt.Fprintf(&b, "frame=%d %s\n", e.Frame, j)
		e.ScanFields(func(f Field) { fmt.Fprintf(&b, "  scan %s %q\n", f.Location, f.Data) })
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
		want     bool
	}{
		{"banner", "220 ftp.NetBSD.org FTP server ready.\r\n", "", 2121, true},
		{"user", "220 ready\r\n", "USER x\r\n", 2121, true},
		{"port", "220 ready\r\n", "", 21, true},
		{"smtp", "220 mx ESMTP\r\n", "EHLO a\r\n", 21, false},
		{"smtp-banner", "220 mx ESMTP ftp-relay\r\n", "", 25, false},
		{"pop3", "+OK ready\r\n", "", 21, false},
		{"short", "220", "", 21, false},
	} {
		if got := Detect([]byte(tc.down), []byte(tc.up), tc.port); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Client commands of the dev captures as tshark 4.0 lists them
// (-Y ftp.request -e ftp.request.command -e ftp.request.arg; its empty
// entries are reply frames).
var wantCommands = map[string][]string{
	"zeek/ftp/ipv6.pcap": {"USER anonymous", "PASS", "SYST", "FEAT", "PWD", "EPSV", "LIST", "EPSV", "NLST", "TYPE I",
		"SIZE robots.txt", "EPSV", "RETR robots.txt", "MDTM robots.txt", "SIZE robots.txt",
		"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|", "RETR robots.txt", "MDTM robots.txt", "TYPE A",
		"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49190|", "LIST", "QUIT"},
	"zeek/var-services-std-ports.pcap": {"USER jsiwek", "PASS", "SYST", "FEAT", "PWD", "QUIT"},
}

var wantCreds = map[string][]string{
	"zeek/ftp/ipv6.pcap":               {"anonymous:test"},
	"zeek/var-services-std-ports.pcap": {"jsiwek:whatabadpass"},
}

func TestCorpusCommands(t *testing.T) {
	seen := 0
	for _, e := range corpus.Dev(t) {
		want, ok := wantCommands[e.Name()]
		if !ok {
			continue
		}
		seen++
		var got, creds []string
		for _, c := range pcaptest.Conns(t, e.Path) {
			var upb, downb []byte
			for _, ch := range c.Chunks {
				if ch.Dir == proto.ToServer && upb == nil {
					upb = ch.Data
				}
				if ch.Dir == proto.ToClient && downb == nil {
					downb = ch.Data
				}
			}
			if !Detect(downb, upb, c.Server.Port()) {
				continue
			}
			p := New(Limits{}, func(ev *Event) {
				if ev.Kind == "greeting" {
					return
				}
				s := ev.Command
				if ev.Argument != "" {
					s += " " + ev.Argument
				}
				got = append(got, s)
				if ev.PasswordPresent {
					creds = append(creds, ev.User+":"+string(ev.Password))
				}
			})
			for _, ch := range c.Chunks {
				if ch.Gap > 0 {
					p.Gap(ch.Dir, ch.Gap, proto.Meta{Frame: ch.Frame})
				} else {
					p.Data(ch.Dir, ch.Data, proto.Meta{Frame: ch.Frame})
				}
			}
			p.End(proto.Meta{})
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: commands\n got %q\nwant %q", e.Name(), got, want)
		}
		if strings.Join(creds, "\n") != strings.Join(wantCreds[e.Name()], "\n") {
			t.Errorf("%s: credentials %q, want %q", e.Name(), creds, wantCreds[e.Name()])
		}
		t.Logf("%s: %d commands, credentials %q", e.Name(), len(got), creds)
	}
	if seen == 0 {
		t.Skip("no FTP captures in the dev corpus")
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParser")
	}
	for _, tc := range cases() {
		fuzzseed.Write(t, "FuzzParser", tc.name, fuzzseed.Encode(tc.ops))
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		f.Add(fuzzseed.Encode(tc.ops))
	}
	lim := Limits{MaxLine: 128, MaxPending: 4, MaxHold: 128}
	f.Fuzz(func(t *testing.T, in []byte) {
		tc := testCase{lim: lim, ops: fuzzseed.Decode(in)}
		evs, p := run(tc, nil)
		// The same input through the Spec decoder and its Sink: no panic,
		// and nothing secret kept in what it emits.
		checkSink(t, runSink(tc, nil))
		for _, e := range evs {
			if len(e.Argument) > lim.MaxLine || len(e.Password) > lim.MaxLine {
				t.Fatalf("over MaxLine")
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
