package coap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

func opt(n uint16, v string) craft.CoAPOption { return craft.CoAPOption{Number: n, Value: []byte(v)} }
func uopt(n uint16, v uint32) craft.CoAPOption {
	return craft.CoAPOption{Number: n, Value: craft.CoAPUint(v)}
}

const (
	con, non, ack, rst = 0, 1, 2, 3
	get, post, put     = 0x01, 0x02, 0x03
	content, changed   = 2<<5 | 5, 2<<5 | 4
	created, notFound  = 2<<5 | 1, 4<<5 | 4
)

// datagram is one message of the test capture: from the device (up) or
// to it.
type datagram struct {
	name string
	up   bool
	port uint16 // server port, 5683 unless set
	data []byte
}

// exchange imitates what an LwM2M client on libcoap or Californium sends:
// a resource discovery, a registration with endpoint name and lifetime,
// an observation with notifications, a block-wise upload, a piggybacked
// error, a ping and its reset, and a non-confirmable telemetry post; then
// DTLS records on 5684 and malformed messages.
func exchange() []datagram {
	tok := []byte{0x7a, 0x11, 0x3c, 0x04}
	return []datagram{
		{name: "discover", up: true, data: craft.CoAP(con, get, 0x1a01, tok, []craft.CoAPOption{opt(11, ".well-known"), opt(11, "core")}, nil)},
		{name: "discover-reply", data: craft.CoAP(ack, content, 0x1a01, tok, []craft.CoAPOption{uopt(12, 40)}, []byte("</sensors/temp>;obs,</fw>"))},
		{name: "register", up: true, data: craft.CoAP(con, post, 0x1a02, []byte{0x01}, []craft.CoAPOption{
			opt(3, "lwm2m.example.com"), uopt(7, 5683), opt(11, "rd"), uopt(12, 40),
			opt(15, "ep=urn:imei:490154203237518"), opt(15, "lt=86400"), opt(15, "lwm2m=1.1"), opt(15, "b=U"),
		}, []byte("</1/0>,</3/0>,</5/0>"))},
		{name: "register-reply", data: craft.CoAP(ack, created, 0x1a02, []byte{0x01}, []craft.CoAPOption{opt(8, "rd"), opt(8, "5a3f")}, nil)},
		{name: "observe", up: true, data: craft.CoAP(con, get, 0x1a03, []byte{0xbe, 0xef}, []craft.CoAPOption{uopt(6, 0), opt(11, "sensors"), opt(11, "temp"), uopt(17, 50)}, nil)},
		{name: "notify", data: craft.CoAP(non, content, 0x9001, []byte{0xbe, 0xef}, []craft.CoAPOption{uopt(6, 12), uopt(12, 50), uopt(14, 60)}, []byte(`{"t":21.5,"lat":52.52,"lon":13.405}`))},
		{name: "block1", up: true, data: craft.CoAP(con, put, 0x1a04, []byte{0x02}, []craft.CoAPOption{
			opt(11, "fw"), uopt(12, 42), uopt(27, 0<<4|1<<3|2), uopt(60, 300), craft.CoAPOption{Number: 258, Value: []byte{0x02}},
			craft.CoAPOption{Number: 2049, Value: bytes.Repeat([]byte{0xaa}, 20)},
		}, bytes.Repeat([]byte{0x5a}, 64))},
		{name: "block1-reply", data: craft.CoAP(ack, 2<<5|31, 0x1a04, []byte{0x02}, []craft.CoAPOption{uopt(27, 0<<4|1<<3|2)}, nil)},
		{name: "not-found", up: true, data: craft.CoAP(con, get, 0x1a05, []byte{0x03}, []craft.CoAPOption{opt(11, "nope"), opt(35, "coap://proxy.example.net/x?serial=SN12345678")}, nil)},
		{name: "not-found-reply", data: craft.CoAP(ack, notFound, 0x1a05, []byte{0x03}, nil, []byte("no such resource"))},
		{name: "ping", up: true, data: craft.CoAP(con, 0, 0x1a06, nil, nil, nil)},
		{name: "pong", data: craft.CoAP(rst, 0, 0x1a06, nil, nil, nil)},
		{name: "telemetry", up: true, data: craft.CoAP(non, post, 0x1a07, []byte{0x04}, []craft.CoAPOption{opt(11, "t"), uopt(12, 60), opt(11, strings.Repeat("s", 300))}, []byte{0xa1, 0x61, 0x74, 0xf9, 0x4d, 0x60})},
		{name: "dtls-hello", up: true, port: PortDTLS, data: append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4}, 1, 0, 0, 0)},
		{name: "dtls-appdata", up: true, port: PortDTLS, data: append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 3}, 9, 9, 9)},
		{name: "bad-token-length", up: true, data: []byte{0x49, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{name: "bad-option", up: true, data: []byte{0x40, 0x01, 0, 2, 0xbd}},
		{name: "marker-no-payload", up: true, data: []byte{0x40, 0x01, 0, 3, 0xb1, 'a', 0xff}},
		{name: "version-2", up: true, data: []byte{0x80, 0x01, 0, 4}},
	}
}

var (
	device = craft.NewHost("02:42:ac:11:00:02", "192.168.7.20")
	server = craft.NewHost("02:42:ac:11:00:03", "198.51.100.9")
)

func writeCapture(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	c, err := craft.New(&buf, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range exchange() {
		port := d.port
		if port == 0 {
			port = Port
		}
		if d.up {
			c.UDP(device, 49152, server, port, d.data)
		} else {
			c.UDP(server, port, device, 49152, d.data)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func render(name string, b []byte) string {
	var s strings.Builder
	if v, ok := DetectDTLS(b); ok {
		fmt.Fprintf(&s, "%s: dtls %s\n", name, v)
		return s.String()
	}
	var ev Event
	err := Parse(b, &ev)
	j, _ := json.Marshal(&ev)
	fmt.Fprintf(&s, "%s: detect=%v err=%v %s\n", name, Detect(b), err, j)
	ev.ScanFields(func(f Field) { fmt.Fprintf(&s, "  scan %s %q %s\n", f.Location, f.Data, f.ContentType) })
	return s.String()
}

func TestParseGolden(t *testing.T) {
	var got strings.Builder
	for _, d := range exchange() {
		got.WriteString(render(d.name, d.data))
	}
	golden.Check(t, filepath.Join("testdata", "exchange.golden"), []byte(got.String()))
}

// TestTshark writes the exchange as a capture and compares, message by
// message, type, code, message ID, token, Uri-Path and payload length
// with tshark's CoAP dissector, and the DTLS record versions with its
// DTLS dissector (UDP 5684 is DTLS by default).
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	path := filepath.Join(t.TempDir(), "coap.pcap")
	writeCapture(t, path)
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=|",
		"-e", "frame.number", "-e", "coap.type", "-e", "coap.code", "-e", "coap.mid", "-e", "coap.token",
		"-e", "coap.opt.uri_path_recon", "-e", "coap.opt.uri_host", "-e", "coap.payload_length", "-e", "dtls.record.version", "-e", "_ws.expert.message").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	rows := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	types := map[string]string{"0": "CON", "1": "NON", "2": "ACK", "3": "RST"}
	for i, d := range exchange() {
		if i >= len(rows) {
			t.Fatalf("tshark gave %d rows", len(rows))
		}
		f := strings.Split(rows[i], "|")
		if v, ok := DetectDTLS(d.data); ok {
			want := map[string]string{"0xfefd": "DTLS1.2", "0xfeff": "DTLS1.0"}[f[8]]
			if want != v {
				t.Errorf("%s: DTLS %s, tshark record version %q", d.name, v, f[8])
			}
			continue
		}
		var ev Event
		perr := Parse(d.data, &ev)
		if rfcError[d.name] {
			// RFC 7252 makes these format errors (or says to ignore
			// them); tshark shows what it can. Parse must refuse them.
			if perr == nil {
				t.Errorf("%s: decoded a message RFC 7252 rejects", d.name)
			}
			continue
		}
		if f[1] == "" {
			// tshark has no CoAP header for it: Parse must refuse too.
			if perr == nil {
				t.Errorf("%s: decoded, tshark did not (%s)", d.name, rows[i])
			}
			continue
		}
		if perr != nil && !strings.Contains(f[9], "alformed") && !strings.Contains(f[9], "ength") {
			t.Errorf("%s: %v, tshark decoded it without complaint (%s)", d.name, perr, rows[i])
		}
		code := fmt.Sprintf("%d", int(d.data[1]))
		mid := fmt.Sprintf("%d", ev.MessageID)
		if types[f[1]] != ev.Type || f[2] != code || f[3] != mid {
			t.Errorf("%s: type/code/mid %s %s %d, tshark %s", d.name, ev.Type, ev.Code, ev.MessageID, rows[i])
		}
		if f[4] != ev.Token {
			t.Errorf("%s: token %q, tshark %q", d.name, ev.Token, f[4])
		}
		if perr != nil {
			continue
		}
		// tshark rebuilds the URI of a request (coap://host:port/path
		// when Uri-Host is set) and shows it on the response too.
		p := f[5]
		if ev.Host != "" {
			if i := strings.Index(strings.TrimPrefix(p, "coap://"), "/"); i >= 0 {
				p = strings.TrimPrefix(p, "coap://")[i:]
			}
		}
		if ev.Method != "" && p != ev.Path && !(p == "/" && ev.Path == "") {
			t.Errorf("%s: path %q, tshark %q", d.name, ev.Path, p)
		}
		if ev.Method != "" && f[6] != ev.Host {
			t.Errorf("%s: host %q, tshark %q", d.name, ev.Host, f[6])
		}
		// tshark reassembles block-wise payloads and gives no length for
		// a block that is not the last.
		block := strings.Contains(string(must(json.Marshal(ev.Options))), "Block")
		if pl := fmt.Sprint(ev.PayloadSize); f[7] != pl && !(f[7] == "" && (ev.PayloadSize == 0 || block)) {
			t.Errorf("%s: payload %s bytes, tshark %q", d.name, pl, f[7])
		}
	}
}

// rfcError lists the messages RFC 7252 makes format errors (token length
// 9-15, section 3; a payload marker with no payload, section 3) or says to
// ignore (version other than 1, section 3).
var rfcError = map[string]bool{"bad-token-length": true, "marker-no-payload": true, "version-2": true}

func must(b []byte, _ error) []byte { return b }

// TestCorpus decodes any CoAP in the dev corpus (UDP 5683/5684); none
// carries CoAP today, which the test says.
func TestCorpus(t *testing.T) {
	n := 0
	for _, e := range corpus.Dev(t) {
		pkts, _, ok := pcaptest.Packets(t, e.Path, false)
		if !ok {
			continue
		}
		for _, p := range pkts {
			if !p.HasPort(Port, PortDTLS) {
				continue
			}
			n++
			var ev Event
			if _, dtls := DetectDTLS(p.Payload); !dtls {
				if err := Parse(p.Payload, &ev); err != nil {
					t.Errorf("%s: frame %d: %v", e.Name(), p.Frame, err)
				}
			}
		}
	}
	if n == 0 {
		t.Skip("no CoAP (UDP 5683/5684) in the dev corpus")
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParse")
	}
	for _, d := range exchange() {
		fuzzseed.Write(t, "FuzzParse", d.name, d.data)
	}
}

func FuzzParse(f *testing.F) {
	for _, d := range exchange() {
		f.Add(d.data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		err := Parse(b, &ev)
		if len(ev.Payload) > MaxPayload || len(ev.Options) > maxOptions {
			t.Fatalf("limits exceeded")
		}
		if err == nil && ev.Type == "" {
			t.Fatalf("decoded without a type")
		}
		if Detect(b) && err != nil {
			t.Fatalf("Detect accepted what Parse refuses")
		}
		if _, err := json.Marshal(&ev); err != nil {
			t.Fatal(err)
		}
		DetectDTLS(b)
		// The Spec's decoder on the same datagram, both ways.
		s := &prototest.Sink{}
		d := Spec().New(s).(proto.DatagramDecoder)
		d.Datagram(proto.ToServer, b, proto.Meta{Frame: 1})
		d.Datagram(proto.ToClient, b, proto.Meta{Frame: 2})
		d.End(proto.Meta{})
		for _, e := range s.Events {
			if e.Fields.(*Event).Payload != nil {
				t.Fatalf("emitted event keeps its payload")
			}
		}
	})
}
