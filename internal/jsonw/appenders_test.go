package jsonw_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/jsontest"
	"github.com/phonehome/phonehome/internal/jsonw"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
	"github.com/phonehome/phonehome/pkg/proto/ftp"
	"github.com/phonehome/phonehome/pkg/proto/mail"
	"github.com/phonehome/phonehome/pkg/proto/mqtt"
	"github.com/phonehome/phonehome/pkg/proto/netbios"
	"github.com/phonehome/phonehome/pkg/proto/ntp"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	"github.com/phonehome/phonehome/pkg/proto/sniff"
	"github.com/phonehome/phonehome/pkg/proto/ssdp"
	"github.com/phonehome/phonehome/pkg/proto/stun"
	"github.com/phonehome/phonehome/pkg/proto/tls"
	"github.com/phonehome/phonehome/pkg/severity"
)

type appender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// newEvents returns one zero value of every event type with an appender,
// as the decoders emit them (values or pointers).
func newEvents() []appender {
	return []appender{&ntp.Event{}, &ssdp.Event{}, &dhcp.Event{}, &ftp.Event{}, &mail.Event{}, &stun.Event{}, &sniff.Profile{},
		&tls.Session{}, &quic.Connection{}, &tls.ClientHelloInfo{}, &tls.ServerHelloInfo{}, &mqtt.Event{},
		&netbios.Event{}}
}

// check compares an appender with encoding/json on v, and its output
// appended after other bytes.
func check(t *testing.T, v appender) {
	t.Helper()
	got, err := v.AppendJSON([]byte("prefix"))
	if err == nil && string(got[:6]) != "prefix" {
		t.Fatalf("%T: the bytes before were changed: %q", v, got)
	}
	if err == nil {
		got = got[6:]
	}
	jsontest.Same(t, v, got, err)
}

// Events as the bench and the corpus have them, and the edges of each
// field's encoding (omitted zero values, nil and empty lists, escapes,
// floats in exponent form).
func TestEventAppendersMatchEncodingJSON(t *testing.T) {
	for _, v := range []appender{
		&ntp.Event{Version: 4, Mode: "client", Stratum: 11, Poll: 6, Precision: -17, RootDispersion: 0.01107788, RefID: "127.127.1.1",
			ReferenceTime: "2003-06-11T00:06:04.850212999Z", TransmitTime: "2003-06-11T00:06:13.849817999Z"},
		&ntp.Event{Mode: "server", KissCode: "RATE", RootDelay: 1.5e-7, RootDispersion: 3e21, ExtraLen: 20, Opcode: 2, Response: true, Error: "short <packet>"},
		&ssdp.Event{Kind: "notify", Host: "239.255.255.250:1900", Server: "Embedded UPnP/1.0", USN: "uuid:upnp-BasicDevice-1_0::upnp:rootdevice",
			Location: "http://10.10.10.51:80/IPCamDesc.xml", CacheControl: "max-age=300", Headers: []string{"HOST", "CACHE-CONTROL"}},
		&ssdp.Event{Kind: "response", Status: 200, Headers: nil, Partial: true},
		&ssdp.Event{Kind: "m-search", Headers: []string{}},
		&dhcp.Event{Version: 4, Op: "request", MsgType: "REQUEST", XID: "0x74a6a165", ClientMAC: "00:1a:22:03:cb:be", Hostname: "KEQ0817541",
			ParamList: "1,3,6", RequestedIP: "10.10.10.129", LeaseTime: 86400, Routers: []string{"10.0.0.1"}, DNSServers: []string{}, Options: "53,61"},
		&dhcp.Event{Version: 6, MsgType: "SOLICIT", Addresses: []string{"fe80::1"}, Relays: 2, PeerIP: "fe80::2", Error: "bad"},
		&ftp.Event{Kind: "greeting", Reply: "220", Text: "ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready."},
		&ftp.Event{Kind: "auth", Command: "PASS", User: "anonymous", PasswordPresent: true, Flags: []string{"after-gap"}},
		&mail.Event{Protocol: "smtp", Kind: "greeting", Text: "mx.google.com ESMTP hf10si4097299icc.190 - gsmtp"},
		&mail.Event{Protocol: "smtp", Kind: "message", Message: &mail.Message{Size: 1234, From: "a@b", Subject: "<hi> & \u2028", Flags: []string{"truncated"}}},
		&mail.Event{Protocol: "imap", Kind: "command", Tag: "a1", Message: &mail.Message{}},
		&stun.Event{Method: "allocate", Class: "request", TransactionID: "b10600008ec0075a404d786d", Software: "pjnath-1.8.10\\x00", Attributes: "0019,8022"},
		&stun.Event{Method: "binding", Class: "success", Classic: true, XORPeerAddresses: []string{"1.2.3.4:5"}, ErrorCode: 401, Lifetime: 600, Integrity: true},
		&sniff.Profile{Len: 408, HeadHex: "983928f7", HeadText: ".9(.", Entropy: 2.2134, ChiSquare: 51104.47, PrintableRatio: 0.1324, Verdict: "binary"},
		&sniff.Profile{Magic: "gzip", Alphabet: "base64", Entropy: 8, ChiSquare: 1e-9},
		&mqtt.Event{Dir: "up", Packet: "connect", Version: 5, ProtocolName: "MQTT", ClientID: "myvoiceismypassport", Username: "user",
			HasUsername: true, PasswordPresent: true, CleanSession: true, KeepAlive: 60, Flags: []string{"password-in-clear"}},
		&mqtt.Event{Dir: "down", Packet: "connack", ReturnCode: new(int), Topics: []mqtt.Topic{{Filter: "a/#", QoS: 1}}, Counts: []mqtt.Count{{Dir: "up", Packet: "publish", N: 3}}},
		&netbios.Event{Service: "ns", Opcode: "query", Response: true, Broadcast: true, Questions: []string{"WORKGROUP<1d>"},
			Records: []netbios.RecordEvent{{Name: "DESKTOP<00>", Type: "NB", TTL: 300000, Addrs: []string{"10.0.0.5"}},
				{Name: "*<00>", Type: "NBSTAT", Names: []string{"A<20>", "B<00>"}, MAC: "00:11:22:33:44:55"}, {}}},
		&netbios.Event{Service: "dgm", Source: "PC<00>", Destination: "<GROUP>&", SourceIP: "10.0.0.9", DgmType: 17, Rcode: 3, Error: "short"},
		&netbios.Event{Records: []netbios.RecordEvent{}, Questions: []string{}},
		(*mqtt.Event)(nil), (*mail.Event)(nil), (*ftp.Event)(nil), (*sniff.Profile)(nil), (*tls.Session)(nil), (*quic.Connection)(nil),
		&tls.Session{ClientHellos: []tls.ClientHelloInfo{{Frame: 116, MaxVersion: "TLS1.3", ClientHello: tls.ClientHello{RecordVersion: 769,
			LegacyVersion: 771, SessionIDLen: 32, ALPN: []string{"h2"}, SupportedVersions: []uint16{772, 771}, CipherSuites: []uint16{4866},
			Compression: tls.ByteList{0}, Extensions: []uint16{11, 10}, PointFormats: tls.ByteList{}}, JA3: "771,4866", JA4: "t13i3111h2"}},
			ServerHello: &tls.ServerHelloInfo{Frame: 118, ServerHello: tls.ServerHello{Version: 772, Extensions: nil}},
			Certificates: []tls.Certificate{{Subject: "CN=a<b>", SANs: []string{"a"}, NotBefore: time.Date(2024, 5, 1, 9, 2, 38, 61620000, time.UTC),
				NotAfter: time.Date(2025, 5, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), SHA256: "ab"}},
			Alerts: []tls.Alert{{Frame: 9, Dir: "down", Level: 2, Description: 40}}, Records: [2]uint64{1, 0},
			Findings: []tls.Finding{{Kind: "tls-no-sni", Severity: severity.Low, Message: "no SNI", Frame: 116}, {Severity: 200}}},
		&tls.Session{ClientHellos: []tls.ClientHelloInfo{}, Certificates: []tls.Certificate{{NotAfter: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		&quic.Connection{Version: "v1", VersionCode: 1, DCID: "69cd", SNI: "www.gravatar.com", ALPN: []string{"h3"},
			ClientHello: &tls.ClientHelloInfo{Frame: 3137, ClientHello: tls.ClientHello{ECH: true}}, Retry: true,
			Close: &quic.Close{Frame: 4, Dir: "up", Code: 10, Reason: "bye"}, Datagrams: [2]uint64{2, 2}, Findings: []tls.Finding{{Kind: "x"}}},
	} {
		check(t, v)
	}
	for _, v := range newEvents() {
		check(t, v) // zero values
	}
	// Random values of every field.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, 512)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for _, v := range newEvents() {
			jsontest.Fill(jsontest.NewBytes(b), v)
			check(t, v)
		}
	}
}

// A NaN or an infinity, which encoding/json refuses, is an error here too.
func TestAppenderFloatErrors(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		check(t, &ntp.Event{RootDelay: f})
		check(t, &sniff.Profile{Entropy: f})
		if _, err := jsonw.Float(nil, f); err == nil {
			t.Errorf("Float(%v) gave no error", f)
		}
	}
}

func FuzzEventAppenders(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x80\x81\xff\x00\x01\x02\x03\x04\x05\x06\x07<&>\u2028 e-07 \x9f\xff\xff\xff\xff\xff\xff\xef\x7f"))
	for i := range 8 {
		b := make([]byte, 300)
		for j := range b {
			b[j] = byte(i*131 + j*7)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range newEvents() {
			jsontest.Fill(jsontest.NewBytes(b), v)
			check(t, v)
		}
	})
}
