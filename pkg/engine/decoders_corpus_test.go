package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/http2"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
	"github.com/phonehome/phonehome/pkg/signature"
)

// flowView is what these tests compare of one flow of a report.
type flowView struct {
	server, protocol, channel, name, source string
}

// decoded runs the engine with the leak scanner and the embedded
// signatures on path and returns the report.
func decoded(t *testing.T, path string) *audit.Report {
	t.Helper()
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Scanner: sc, Signatures: sigs, KeepFlows: true, KeepEvents: true}, []string{path})
	if err != nil && !errors.Is(err, ErrDamaged) {
		t.Fatal(err)
	}
	return rep
}

func flowsOf(rep *audit.Report) map[string]flowView {
	out := map[string]flowView{}
	for _, f := range rep.Flows {
		out[f.Server] = flowView{f.Server, f.Protocol, f.Channel, f.Name, f.NameSource}
	}
	return out
}

// leakRows are "identifier location value" of every leak, and findingRows
// "severity kind" of every finding, over all devices (values unmasked:
// the tests run with the default masking off only where they say so).
func leakRows(rep *audit.Report) (leaks, findings []string) {
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			leaks = append(leaks, l.Identifier+" "+l.Location)
		}
		for _, f := range d.Findings {
			findings = append(findings, f.Severity.String()+" "+f.Kind)
		}
	}
	slices.Sort(leaks)
	slices.Sort(findings)
	return slices.Compact(leaks), slices.Compact(findings)
}

// TestCorpusNewDecoders runs the engine on each dev capture that carries
// one of the protocols of #17 and checks the flow's protocol, channel and
// name, the leaks and the findings. The values come from tshark 4.0 on the
// same captures (commands in each case) and from the truth files.
func TestCorpusNewDecoders(t *testing.T) {
	type want struct {
		server   string // the flow checked
		flow     flowView
		leaks    []string // identifier location, all must be present
		findings []string // severity kind, all must be present
		events   []string // event types that must be present
		certs    int      // certificates of the flow's tls event (tshark's chain)
	}
	cases := map[string]want{
		// tshark -Y smtp: 220 mx.google.com ESMTP, EHLO, STARTTLS, 220
		// Ready; then TLS 1.2 (truth: server_hellos, certificates).
		"zeek/tls/smtp-starttls.pcap": {server: "74.125.142.26:25",
			flow:   flowView{protocol: "smtp", channel: "STARTTLS TLS1.2", name: "mx.google.com", source: "banner"},
			events: []string{"mail", "tls"}, certs: 3},
		// MAIL FROM:<sanders@skynet.local>, RCPT TO:<sanders@cyberdyne.local>:
		// both are scanned (pkg/proto/mail's tests), and neither is an
		// e-mail leak: the e-mail detector wants a public suffix (.local
		// is a lab's own domain).
		"chrissanders-packets/mail_sender_client_1.pcapng": {server: "172.16.16.221:25",
			flow:   flowView{protocol: "smtp", channel: "SMTP"},
			events: []string{"mail"}},
		// Three AUTH PLAIN exchanges (tshark pop.request.parameter, base64).
		"zeek/pop3/pop3.pcap": {server: "",
			flow:     flowView{protocol: "pop3", channel: "POP3"},
			leaks:    []string{"password pop3.password", "email pop3.user"},
			findings: []string{"high pop3-password-cleartext"},
			events:   []string{"mail"}},
		// USER anonymous / PASS test: no finding.
		"zeek/ftp/ipv6.pcap": {server: "[2001:470:4867:99::21]:21",
			flow: flowView{protocol: "ftp", channel: "FTP", name: "ftp.netbsd.org", source: "banner"}, events: []string{"ftp"}},
		// USER jsiwek / PASS whatabadpass.
		"zeek/var-services-std-ports.pcap": {server: "",
			flow:     flowView{protocol: "ftp", channel: "FTP"},
			leaks:    []string{"password ftp.password"},
			findings: []string{"high ftp-password-cleartext"},
			events:   []string{"ftp"}},
		// h2c DoH to dns.google (truth: http2_requests, dns.query_names).
		"suricata-verify/dns-over-http2.pcap": {server: "8.8.4.4:80",
			flow:     flowView{protocol: "http2", channel: "HTTP/2", name: "dns.google", source: "http-host"},
			findings: []string{"medium dns-over-https"},
			events:   []string{"http", "dns"}},
		// curl with DoH: TLS 1.3 to dns.google at 2001:4860:4860::8888 (truth:
		// tls.sessions), then the site it looked up.
		"suricata-verify/community-id-ipv6.pcap": {server: "[2001:4860:4860::8888]:443",
			flow:     flowView{protocol: "tls", channel: "DoH", name: "dns.google", source: "sni"},
			findings: []string{"medium dns-over-https"},
			events:   []string{"tls"}},
	}
	seen := 0
	for _, e := range corpus.Dev(t) {
		w, ok := cases[e.Name()]
		if !ok {
			continue
		}
		seen++
		rep := decoded(t, e.Path)
		fl := flowsOf(rep)
		var got flowView
		if w.server != "" {
			got = fl[w.server]
		} else {
			for _, f := range fl {
				if f.protocol == w.flow.protocol {
					got = f
				}
			}
		}
		got.server = ""
		if got != w.flow {
			t.Errorf("%s: flow %s = %+v, want %+v", e.Name(), w.server, got, w.flow)
		}
		leaks, findings := leakRows(rep)
		for _, l := range w.leaks {
			if !slices.Contains(leaks, l) {
				t.Errorf("%s: no leak %q in %q", e.Name(), l, leaks)
			}
		}
		for _, f := range w.findings {
			if !slices.Contains(findings, f) {
				t.Errorf("%s: no finding %q in %q", e.Name(), f, findings)
			}
		}
		types := map[string]bool{}
		for _, ev := range rep.Events {
			types[ev.Type] = true
		}
		if w.certs > 0 {
			n := -1
			for _, ev := range rep.Events {
				if ss, ok := ev.Fields.(*ptls.Session); ok {
					n = len(ss.Certificates)
				}
			}
			if n != w.certs {
				t.Errorf("%s: tls event with %d certificates, want %d", e.Name(), n, w.certs)
			}
		}
		for _, typ := range w.events {
			if !types[typ] {
				t.Errorf("%s: no %s event", e.Name(), typ)
			}
		}
		t.Logf("%s: flow %+v; leaks %q; findings %q", e.Name(), got, leaks, findings)
	}
	if seen == 0 {
		t.Skip("none of the captures in the dev corpus")
	}
}

// TestConnectTunnel: testdata/connect-proxy.pcap is curl through tinyproxy
// to openssl s_server (fixtures/connect/make.sh), with TLS 1.3 and TLS 1.2
// inside the CONNECT tunnels. The TLS sessions inside are decoded like any
// other: tshark reads SNI "localhost" in frames 8 and 30, TLS 1.3 and 1.2,
// and a one-certificate chain (CN localhost) in the TLS 1.2 session.
func TestConnectTunnel(t *testing.T) {
	path := filepath.Join("testdata", "connect-proxy.pcap")
	rep := decoded(t, path)
	type session struct {
		frame        uint64
		sni, version string
		certs        int
	}
	var got []session
	for _, ev := range rep.Events {
		if ss, ok := ev.Fields.(*ptls.Session); ok && ev.Type == "tls" {
			s := session{sni: ss.SNI, version: ss.Version, certs: len(ss.Certificates)}
			if len(ss.ClientHellos) > 0 {
				s.frame = ss.ClientHellos[0].Frame
			}
			got = append(got, s)
		}
	}
	want := []session{{8, "localhost", "TLS1.3", 0}, {30, "localhost", "TLS1.2", 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("TLS inside the tunnels: %+v, want %+v", got, want)
	}
	var channels []string
	for _, f := range rep.Flows {
		channels = append(channels, f.Protocol+" "+f.Channel+" "+f.Name)
	}
	if g := strings.Join(channels, ", "); g != "tls TLS1.3 localhost, tls TLS1.2 localhost" {
		t.Errorf("flows: %s", g)
	}
	// The same facts from tshark, when it is installed.
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: compared with the values recorded above only")
		return
	}
	out, err := exec.Command("tshark", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "fields",
		"-e", "frame.number", "-e", "tls.handshake.extensions_server_name").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var tsh []string
	for _, s := range want {
		tsh = append(tsh, fmt.Sprintf("%d\t%s", s.frame, s.sni))
	}
	if g := strings.TrimSpace(string(out)); g != strings.Join(tsh, "\n") {
		t.Errorf("tshark ClientHellos %q, recorded %q", g, tsh)
	}
}

// TestH2C: testdata/h2c.pcap is curl (nghttp2) against Go's net/http
// with x/net's h2c handler (fixtures/h2c/make.sh): an HTTP/1.1 request
// with Upgrade: h2c answered 101 and then in HTTP/2 on stream 1, and a
// prior-knowledge POST whose JSON body carries an e-mail address. tshark
// reads the GET with its 101 (frames 4, 6), the HTTP/2 200 on stream 1
// (frame 12), and the POST to localhost:8080/v1/report (frame 23).
func TestH2C(t *testing.T) {
	path := filepath.Join("testdata", "h2c.pcap")
	rep := decoded(t, path)
	var got []string
	for _, ev := range rep.Events {
		switch f := ev.Fields.(type) {
		case *http2.Event:
			s := fmt.Sprintf("h2 frame=%d stream=%d", ev.Frame, f.StreamID)
			if f.Request != nil {
				s += " " + f.Request.Method + " " + f.Request.Authority + f.Request.URI
			}
			if f.Response != nil {
				s += fmt.Sprintf(" %d", f.Response.Status)
			}
			got = append(got, s+" "+strings.Join(f.Flags, ","))
		case *phttp.Event:
			s := fmt.Sprintf("h1 frame=%d", ev.Frame)
			if f.Request != nil {
				s += " " + f.Request.Method + " " + f.Request.URI
			}
			if f.Response != nil {
				s += fmt.Sprintf(" %d", f.Response.Status)
			}
			got = append(got, s+" "+f.Tunnel)
		}
	}
	want := []string{
		"h1 frame=4 GET /upgrade?device=cam-01 101 h2c",
		"h2 frame=12 stream=1 200 upgrade",
		"h2 frame=23 stream=1 POST localhost:8080/v1/report 200 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var flows []string
	for _, f := range rep.Flows {
		flows = append(flows, f.Protocol+" "+f.Channel+" "+f.Name)
	}
	if g := strings.Join(flows, ", "); g != "http2 HTTP/2 localhost, http2 HTTP/2 localhost" {
		t.Errorf("flows: %s", g)
	}
	leaks, _ := leakRows(rep)
	if !slices.Contains(leaks, "email body.json:$.email") {
		t.Errorf("leaks %q: want the e-mail in the HTTP/2 body", leaks)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: compared with the values recorded above only")
		return
	}
	out, err := exec.Command("tshark", "-r", path, "-Y", "http2.headers.method || http.request", "-T", "fields",
		"-e", "frame.number", "-e", "http.request.method", "-e", "http2.headers.method", "-e", "http2.headers.path").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if g := strings.TrimSpace(string(out)); g != "4\tGET\t\t\n23\t\tPOST\t/v1/report" {
		t.Errorf("tshark requests %q", g)
	}
}
