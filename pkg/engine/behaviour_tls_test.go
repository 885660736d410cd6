package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/keylog"
)

// browserTLS is the browser case's three reporting requests sent by curl
// (OpenSSL 3) to a Go HTTPS server and captured on the loopback, with the
// client's key log (testdata/browser-tls/make.sh); addresses rewritten to
// the HTTP fixture's, ports to 443.
const browserTLS = "testdata/browser-tls/browser-tls"

// browserTLSChannels: the sessions' TLS versions, per server.
var browserTLSChannels = map[string]string{
	"161.117.97.20:443": "TLS1.3", "5.255.255.5:443": "TLS1.2", "47.241.18.20:443": "TLS1.3",
}

// behaviourOf lists a report's behavioural leaks as "class value to
// server at location [encoding] private=… via channel frame N", its
// identifier leaks as "identifier to server via channel", and its
// behaviour-* findings.
func behaviourOf(rep *audit.Report) (behaviour, identifiers, findings []string) {
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			server := fmt.Sprintf("%s:%d", l.Dest.IP, l.Dest.Port)
			if !audit.IsBehaviour(l.Identifier) {
				identifiers = append(identifiers, fmt.Sprintf("%s to %s via %s", l.Identifier, server, l.Dest.Channel))
				continue
			}
			behaviour = append(behaviour, fmt.Sprintf("%s %q to %s at %s [%s] private=%v via %s frame %d",
				l.Identifier, l.Value, server, l.Location, l.Encoding, l.Private, l.Dest.Channel, l.Frame))
		}
		for _, f := range d.Findings {
			if strings.HasPrefix(f.Kind, "behaviour-") {
				findings = append(findings, fmt.Sprintf("%s %s frame %d via %s: %s", f.Severity, f.Kind, f.Frame, f.Dest.Channel, f.Message))
			}
		}
	}
	slices.Sort(behaviour)
	slices.Sort(identifiers)
	slices.Sort(findings)
	return behaviour, identifiers, findings
}

// TestBrowserCaseTLS: the browser case inside TLS. With the key log every
// behavioural item planted in the HTTP scenario is found with the same
// location and encoding chain, on the decrypted channel, at the frame
// tshark numbers the request, and each reporting flow gets its
// linkability finding; the decrypted requests are those tshark decrypts
// with the same keys. Without keys, or with another capture's keys,
// nothing behavioural and no identifier is reported; the sessions are
// counted "no key" only when keys were given. 1 and 4 workers agree.
func TestBrowserCaseTLS(t *testing.T) {
	truth, err := scenario.BrowserHistory(&bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// tshark's frames of the three requests (browser-tls.http.json).
	frames := map[string]uint64{"161.117.97.20:443": 9, "5.255.255.5:443": 26, "47.241.18.20:443": 40}
	var want []string
	for _, p := range truth {
		server := strings.TrimSuffix(p.Server, ":80") + ":443"
		want = append(want, fmt.Sprintf("%s %q to %s at %s [%s] private=%v via %s frame %d",
			p.Class, p.Value, server, p.Location, p.Encoding, p.Private, browserTLSChannels[server]+" (decrypted)", frames[server]))
	}
	slices.Sort(want)
	wantIDs := []string{
		"android_id to 161.117.97.20:443 via TLS1.3 (decrypted)",
		"android_id to 5.255.255.5:443 via TLS1.2 (decrypted)",
		"imei to 161.117.97.20:443 via TLS1.3 (decrypted)",
		"imei to 47.241.18.20:443 via TLS1.3 (decrypted)",
		"imei to 5.255.255.5:443 via TLS1.2 (decrypted)",
	}
	wantFindings := []string{
		"high behaviour-linked frame 26 via TLS1.2 (decrypted): browsing history (2 URLs) and search queries (1 term) linked to imei, android_id in the same message, sent to rlog.browserstat-example.com in RU, in private (incognito) mode",
		"medium behaviour-linked frame 40 via TLS1.3 (decrypted): app usage (4 records) linked to imei in the same message, sent to events.launcher-example.com in SG",
		"medium behaviour-linked frame 9 via TLS1.3 (decrypted): browsing history (4 URLs) and search queries (4 terms) linked to imei, android_id in the same message, sent to hlog.browserstat-example.com in SG",
	}
	tsharkWant := tsharkHTTP(t, browserTLS+".http.json")
	for _, tc := range []struct {
		name                             string
		keys                             *keylog.Log
		behaviour, identifiers, findings []string
		requests                         []string
		decryption                       string
	}{
		{"keylog", readKeys(t, browserTLS+".keys"), want, wantIDs, wantFindings, tsharkWant,
			"decrypted 3, no key 0, failed 0 map[]; TLS1.2 (decrypted),TLS1.3 (decrypted)"},
		{"other keys", readKeys(t, filepath.Join("..", "tlsdecrypt", "testdata", "tls13-h2.keys")), nil, nil, nil, nil,
			"decrypted 0, no key 3, failed 0 map[]; TLS1.2,TLS1.3"},
		{"no keys", nil, nil, nil, nil, nil, "no counts; TLS1.2,TLS1.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var outs [][]byte
			for _, workers := range []int{1, 4} {
				cfg := labConfig(t)
				cfg.ShowEvidence, cfg.HomeCountry, cfg.Keys, cfg.KeepEvents, cfg.Workers = true, "DE", tc.keys, true, workers
				rep, err := Run(context.Background(), cfg, []string{browserTLS + ".pcap"})
				if err != nil {
					t.Fatal(err)
				}
				behaviour, identifiers, findings := behaviourOf(rep)
				for _, w := range tc.behaviour {
					if !slices.Contains(behaviour, w) {
						t.Errorf("%d workers: missed: %s", workers, w)
					}
				}
				for _, g := range behaviour {
					if !slices.Contains(tc.behaviour, g) {
						t.Errorf("%d workers: not planted: %s", workers, g)
					}
				}
				if !slices.Equal(identifiers, tc.identifiers) {
					t.Errorf("%d workers: identifiers\n  %s\nwant\n  %s", workers, strings.Join(identifiers, "\n  "), strings.Join(tc.identifiers, "\n  "))
				}
				if !slices.Equal(findings, tc.findings) {
					t.Errorf("%d workers: findings\n  %s\nwant\n  %s", workers, strings.Join(findings, "\n  "), strings.Join(tc.findings, "\n  "))
				}
				if got := httpRequests(t, rep); !slices.Equal(got, tc.requests) {
					t.Errorf("%d workers: requests\n  %s\nwant (tshark)\n  %s", workers, strings.Join(got, "\n  "), strings.Join(tc.requests, "\n  "))
				}
				if got := decryptionOf(rep); got != tc.decryption {
					t.Errorf("%d workers: %s, want %s", workers, got, tc.decryption)
				}
				b, _ := json.Marshal(rep)
				outs = append(outs, b)
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Error("1 and 4 workers give different reports")
			}
		})
	}
}

// TestBrowserCaseTLSTshark decrypts the capture with tshark and the
// committed key log now (TestBrowserCaseTLS compares with the recorded
// browser-tls.http.json): the three requests are at the frames and
// servers the engine reports, and their method, URI and decrypted body
// (tshark undoes the launcher's gzip Content-Encoding) are the HTTP
// fixture's, byte for byte. Without the key log tshark sees no request.
func TestBrowserCaseTLSTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: ", err)
	}
	fields := func(pcap string, opts ...string) []string {
		args := append([]string{"-r", pcap}, opts...)
		args = append(args, "-Y", "http.request", "-T", "fields", "-E", "separator=|",
			"-e", "frame.number", "-e", "ip.dst", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.file_data")
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	got := fields(browserTLS+".pcap", "-o", "tls.keylog_file:"+browserTLS+".keys")
	want := []string{"9|161.117.97.20", "26|5.255.255.5", "40|47.241.18.20"}
	if len(got) != len(want) {
		t.Fatalf("tshark decrypts %d requests, want 3:\n%s", len(got), strings.Join(got, "\n"))
	}
	// The HTTP fixture's requests, in the same order (frames 6, 18, 30).
	plain := fields(filepath.Join("..", "..", "fixtures", "captures", "browser-history.pcap"))
	for i, g := range got {
		f := strings.SplitN(g, "|", 3)
		if f[0]+"|"+f[1] != want[i] {
			t.Errorf("request %d: tshark says %s, want %s", i, f[0]+"|"+f[1], want[i])
		}
		p := strings.SplitN(plain[i], "|", 3)
		if f[2] != p[2] {
			t.Errorf("request %d: decrypted %.200q, the HTTP fixture has %.200q", i, f[2], p[2])
		}
	}
	if len(fields(browserTLS+".pcap")) != 1 || fields(browserTLS + ".pcap")[0] != "" {
		t.Error("tshark finds HTTP requests without the key log")
	}
}
