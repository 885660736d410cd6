package xmpp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

type op = fuzzseed.Op

func up(s ...string) op   { return op{Dir: proto.ToServer, Data: []byte(strings.Join(s, ""))} }
func down(s ...string) op { return op{Dir: proto.ToClient, Data: []byte(strings.Join(s, ""))} }

// What a Smack client and a Prosody server send (stream headers with
// single quotes, features, then STARTTLS or SASL PLAIN).
const (
	clientHeader = "<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
	serverHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='c2s_9f1e' from='example.com' version='1.0' xml:lang='en'>"
	features     = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
	tlsHello     = "\x16\x03\x01\x00\x05hello"
)

type testCase struct {
	name string
	lim  Limits
	ops  []op
}

func cases() []testCase {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00thermostat-4411\x00Gr33n!"))
	scram := base64.StdEncoding.EncodeToString([]byte("n,,n=lamp-01,r=fyko+d2lbbFgONRv9qkxdawL"))
	return []testCase{
		{name: "starttls", ops: []op{
			up(clientHeader), down(serverHeader, features),
			up("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
			down("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
			up(tlsHello), down("\x16\x03\x03\x00\x02hi"), up("more"),
		}},
		{name: "plain-session", ops: []op{
			up(clientHeader), down(serverHeader, "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"),
			up("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>", plain, "</auth>"),
			down("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
			up(clientHeader), down(serverHeader, "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"),
			up("<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>kitchen</resource></bind></iq>"),
			down("<iq type='result' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>thermostat-4411@example.com/kitchen</jid></bind></iq>"),
			up("<presence/>", " ", "<message to='cloud@example.com' type='chat' id='m1'><body>{&quot;temp&quot;:21.5,&quot;mac&quot;:&quot;00:1A:2B:3C:4D:5E&quot;}</body></message>"),
			up("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>", scram, "</auth>"),
			up("</stream:stream>"),
		}},
		{name: "refused-and-gaps", ops: []op{
			up(clientHeader), down(serverHeader, features),
			up("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), up("<presence/>"),
			down("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"),
			up("<message to='a@b'><bo"), {Dir: proto.ToServer, Gap: 20}, up("dy>lost</body></message><message to='c@d'><body>kept</body></message>"),
			up("<auth mechanism='PLAIN'>!!!</auth>"),
		}},
		{name: "limits", lim: Limits{MaxElement: 64, MaxHold: 8}, ops: []op{
			up(clientHeader[:21]), up(clientHeader[21:]),
			up("<message to='x@y'><body>", strings.Repeat("z", 100), "</body></message><presence/>"),
			up("<iq><unclosed attr='1>junk</iq><presence type='unavailable'/>"),
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
		in   string
		port uint16
		want bool
	}{
		{clientHeader, 5222, true},
		{clientHeader, 443, true},
		{"<stream:stream to='x'>", 1234, true},
		{"<?xml version='1.0'?>", 5222, true},
		{"<?xml version='1.0'?>", 80, false},
		{"GET / HTTP/1.1\r\n", 5222, false},
	} {
		if got := Detect([]byte(tc.in), tc.port); got != tc.want {
			t.Errorf("Detect(%.20q, %d) = %v, want %v", tc.in, tc.port, got, tc.want)
		}
	}
}

// TestTshark writes the STARTTLS and plain sessions as TCP connections on
// 5222 and checks that tshark's XMPP dissector sees the same elements:
// starttls, proceed, auth, success, failure, message and presence.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	cli := craft.NewHost("02:00:00:00:00:21", "10.5.0.21")
	srv := craft.NewHost("02:00:00:00:00:22", "203.0.113.22")
	var buf bytes.Buffer
	c, err := craft.New(&buf, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	// Each element in its own segments, as the stacks send them (tshark
	// reports an element in the frame that completes it).
	all := cases()
	sessions := []testCase{all[0], all[1], {ops: all[2].ops[:5]}}
	for i, tc := range sessions {
		k := c.Dial(cli, uint16(40000+i), srv, 5222)
		for _, o := range tc.ops {
			k.Send(o.Dir == proto.ToServer, o.Data)
		}
		k.Close()
		evs, _ := run(tc, nil)
		for _, e := range evs {
			switch e.Kind {
			case "starttls", "proceed", "auth", "success", "failure":
				count[e.Kind]++
			case "stanza":
				count[e.Name]++
			}
		}
	}
	path := filepath.Join(t.TempDir(), "xmpp.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"starttls", "proceed", "auth", "success", "failure", "message", "presence"} {
		out, err := exec.Command(tshark, "-r", path, "-Y", "xmpp."+f, "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		n := len(strings.Fields(string(out)))
		// tshark counts frames; in these sessions no frame carries two
		// elements of one kind.
		if n != count[f] {
			t.Errorf("xmpp.%s: %d frames in tshark, %d events", f, n, count[f])
		}
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
	lim := Limits{MaxElement: 512, MaxHold: 128}
	f.Fuzz(func(t *testing.T, in []byte) {
		tc := testCase{lim: lim, ops: fuzzseed.Decode(in)}
		evs, p := run(tc, nil)
		// The same input through the Spec decoder and its Sink: no panic,
		// and nothing secret kept in what it emits.
		checkSink(t, runSink(tc, nil))
		for _, e := range evs {
			if len(e.Raw) > lim.MaxElement+1 {
				t.Fatalf("element over MaxElement")
			}
		}
		if _, u, d := p.Tunnel(); len(u) > lim.MaxHold || len(d) > lim.MaxHold {
			t.Fatalf("tunnel bytes over MaxHold")
		}
		if a, b := render(evs, p), render(run(tc, func(int) int { return 1 })); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}
