package mail

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// Client commands per capture as tshark 4.0 lists them
// (-Y 'smtp.req || pop.request' -T fields -e smtp.req.command
// -e smtp.req.parameter -e pop.request.command -e pop.request.parameter),
// with two differences: tshark splits STARTTLS as "STAR TLS", and it lists
// a SASL response line as a command of its own (left out here; the
// decoded credentials are checked instead).
var wantCommands = map[string][]string{
	"tls/smtp-starttls.pcap": {"EHLO openssl.client.net", "STARTTLS"},
	"chrissanders-packets/mail_sender_client_1.pcapng": {"EHLO [172.16.16.225]",
		"MAIL FROM:<sanders@skynet.local> SIZE=556", "RCPT TO:<sanders@cyberdyne.local>", "DATA", "QUIT"},
	"zeek/pop3/pop3.pcap": {"CAPA", "QUIT", "AUTH", "CAPA", "AUTH PLAIN", "CAPA", "QUIT", "AUTH", "CAPA", "AUTH PLAIN", "QUIT",
		"AUTH", "CAPA", "AUTH PLAIN", "STAT", "LIST", "UIDL", "RETR 1", "RETR 2", "RETR 3", "QUIT"},
}

// Credentials and addresses decoded, checked by hand against tshark's
// decoding of the same lines (pop.request.command holds the base64).
var wantFields = map[string][]string{
	"chrissanders-packets/mail_sender_client_1.pcapng": {"smtp.hostname=[172.16.16.225]", "smtp.mail_from=sanders@skynet.local",
		"smtp.rcpt_to=sanders@cyberdyne.local", "message subject=Help! from=Chris Sanders <sanders@skynet.local>"},
	"zeek/pop3/pop3.pcap": {"pop3.user=digitalinvestigator@networksims.com", "pop3.password=napier",
		"pop3.user=digitalinvestigator@networksims.com", "pop3.password=napier123",
		"pop3.user=digitalinvestigator@networksims.com", "pop3.password=napier123"},
}

type result struct {
	commands, fields []string
	tls              []*ptls.Session
	starttls         int
}

func runConns(t *testing.T, path string) result {
	var res result
	for _, c := range pcaptest.Conns(t, path) {
		var up, down []byte
		for _, ch := range c.Chunks {
			if ch.Dir == proto.ToServer && up == nil {
				up = ch.Data
			}
			if ch.Dir == proto.ToClient && down == nil {
				down = ch.Data
			}
		}
		pr := Detect(down, up, c.Server.Port())
		if pr == 0 {
			continue
		}
		p := New(pr, Limits{}, func(ev *Event) {
			switch ev.Kind {
			case "command", "auth", "starttls":
				s := ev.Command
				if ev.Mechanism != "" && ev.Command == "AUTH" {
					s += " " + ev.Mechanism
				} else if ev.Argument != "" {
					s += " " + ev.Argument
				}
				res.commands = append(res.commands, s)
				if ev.Kind == "starttls" {
					res.starttls++
				}
			case "message":
				res.fields = append(res.fields, fmt.Sprintf("message subject=%s from=%s", ev.Message.Subject, ev.Message.From))
			}
			ev.ScanFields(func(f Field) {
				if !strings.HasSuffix(f.Location, ".message") && !strings.HasSuffix(f.Location, ".argument") {
					res.fields = append(res.fields, f.Location+"="+string(f.Data))
				}
			})
		})
		var tls *ptls.Stream
		var sp proto.StreamParser = p
		for _, ch := range c.Chunks {
			m := proto.Meta{Frame: ch.Frame}
			if ch.Gap > 0 {
				sp.Gap(ch.Dir, ch.Gap, m)
			} else {
				sp.Data(ch.Dir, ch.Data, m)
			}
			if tls == nil {
				if kind, tup, tdown := p.Tunnel(); kind == "tls" {
					// The hand-over the engine will make: a TLS decoder
					// fed the bytes after the switch, then the rest.
					tls = ptls.NewStream(nil)
					if len(tup) > 0 {
						tls.Data(proto.ToServer, tup, m)
					}
					if len(tdown) > 0 {
						tls.Data(proto.ToClient, tdown, m)
					}
					sp = tls
				}
			}
		}
		sp.End(proto.Meta{})
		if tls != nil {
			res.tls = append(res.tls, tls.Session())
		}
	}
	return res
}

type truthTLS struct {
	TLS *struct {
		ClientHellos []struct {
			Frame uint64 `json:"frame"`
			JA3   string `json:"ja3"`
		} `json:"client_hellos"`
		ServerHellos []struct {
			Negotiated string `json:"negotiated"`
			Cipher     string `json:"cipher_suite"`
		} `json:"server_hellos"`
		Certificates []struct {
			Frame uint64 `json:"frame"`
			Chain []struct {
				CN     string `json:"subject_cn"`
				Serial string `json:"serial"`
			} `json:"chain"`
		} `json:"certificates"`
	} `json:"tls"`
}

func TestCorpusCommands(t *testing.T) {
	seen := 0
	for _, e := range corpus.Dev(t) {
		want, ok := wantCommands[e.Name()]
		if !ok {
			want, ok = wantCommands[strings.TrimPrefix(e.Name(), "zeek/")]
		}
		if !ok {
			continue
		}
		seen++
		res := runConns(t, e.Path)
		t.Logf("%s: %d commands, %d fields", e.Name(), len(res.commands), len(res.fields))
		if g, w := strings.Join(res.commands, "\n"), strings.Join(want, "\n"); g != w {
			t.Errorf("%s: commands\n got %q\nwant %q", e.Name(), res.commands, want)
		}
		if wf := wantFields[e.Name()]; wf != nil && strings.Join(res.fields, "\n") != strings.Join(wf, "\n") {
			t.Errorf("%s: fields\n got %q\nwant %q", e.Name(), res.fields, wf)
		}
		var truth truthTLS
		corpus.LoadTruth(t, e, &truth)
		if truth.TLS == nil || len(truth.TLS.ClientHellos) == 0 {
			if res.starttls > 0 {
				t.Errorf("%s: STARTTLS accepted but tshark saw no TLS", e.Name())
			}
			continue
		}
		// After STARTTLS: the TLS decoder reads the handshake tshark saw.
		if len(res.tls) != 1 {
			t.Fatalf("%s: %d TLS hand-overs, want 1", e.Name(), len(res.tls))
		}
		ss := res.tls[0]
		if len(ss.ClientHellos) != 1 || ss.ClientHellos[0].JA3Hash != truth.TLS.ClientHellos[0].JA3 || ss.ClientHellos[0].Frame != truth.TLS.ClientHellos[0].Frame {
			t.Errorf("%s: ClientHello %+v, tshark %+v", e.Name(), ss.ClientHellos, truth.TLS.ClientHellos)
		}
		sh := truth.TLS.ServerHellos[0]
		if ss.ServerHello == nil || strings.ReplaceAll(sh.Negotiated, " ", "") != ss.Version || fmt.Sprintf("0x%04x", ss.ServerHello.CipherSuite) != sh.Cipher {
			t.Errorf("%s: ServerHello %+v version %s, tshark %+v", e.Name(), ss.ServerHello, ss.Version, sh)
		}
		tc := truth.TLS.Certificates[0]
		// Frames differ by definition: pkg/proto/tls names the frame where
		// the Certificate message begins (14, with the ServerHello), tshark
		// the one where its reassembly completes (16).
		if len(ss.Certificates) != len(tc.Chain) || ss.CertificateFrame == 0 || ss.CertificateFrame > tc.Frame {
			t.Fatalf("%s: %d certificates at frame %d, tshark %d at %d", e.Name(), len(ss.Certificates), ss.CertificateFrame, len(tc.Chain), tc.Frame)
		}
		for i, c := range tc.Chain {
			if ss.Certificates[i].CommonName != c.CN || ss.Certificates[i].Serial != c.Serial {
				t.Errorf("%s: certificate %d: %s %s, tshark %s %s", e.Name(), i, ss.Certificates[i].CommonName, ss.Certificates[i].Serial, c.CN, c.Serial)
			}
		}
		t.Logf("%s: STARTTLS then %s, %d certificates, CN %s", e.Name(), ss.Version, len(ss.Certificates), ss.Certificates[0].CommonName)
	}
	if seen == 0 {
		t.Skip("no mail captures in the dev corpus")
	}
}
