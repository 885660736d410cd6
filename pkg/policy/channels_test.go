package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// TestLintChannelVocabulary: deny_channels accepts every channel the engine
// emits (audit's vocabulary); it used to lint NetBIOS and WebSocket as unknown.
func TestLintChannelVocabulary(t *testing.T) {
	names := []string{"NetBIOS", "WebSocket", "netbios", "SSL3.0", "SSLv3", "HTTP/2", "CoAP/DTLS", "DoH", "DoT",
		"STARTTLS TLS1.2", "TLS1.3 (decrypted)", "QUIC (decrypted)", "TLS1.3-draft23", "cleartext"}
	for _, c := range audit.Channels() {
		names = append(names, string(c))
	}
	for _, c := range names {
		p, err := Parse("p.yaml", []byte(fmt.Sprintf("version: 1\nrules:\n  - id: a\n    deny_channels: [%q]\n", c)))
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range Lint(p) {
			if strings.Contains(is.Msg, "channel") {
				t.Errorf("%s: %s", c, is)
			}
		}
	}
	p, _ := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: a\n    deny_channels: [HTTPS, STARTTLS HTTP]\n"))
	if n := len(Lint(p)); n != 2 {
		t.Errorf("HTTPS and STARTTLS HTTP: %d issues, want 2", n)
	}
}

// TestChannelRulesUseVocabulary: deny_channels, min_tls_version and the
// in-clear test read audit's channel table.
func TestChannelRulesUseVocabulary(t *testing.T) {
	tests := []struct {
		rule    string
		channel string
		want    int // violations
	}{
		{"deny_channels: [NetBIOS]", "NetBIOS", 1},
		{"deny_channels: [netbios]", "NetBIOS", 1},
		{"deny_channels: [SSLv3]", "SSL3.0", 1},
		{"deny_channels: [WebSocket]", "WebSocket", 1},
		{"deny_channels: [HTTP]", "HTTP/2", 0},
		{"deny_channels: [cleartext]", "WebSocket", 1},
		{"deny_channels: [cleartext]", "TLS1.2 (decrypted)", 0},
		{"min_tls_version: '1.2'", "SSL3.0", 1},
		{"min_tls_version: '1.2'", "STARTTLS TLS1.0", 1},
		{"min_tls_version: '1.2'", "TLS1.1 (decrypted)", 1},
		{"min_tls_version: '1.2'", "STARTTLS TLS1.2", 0},
		{"min_tls_version: '1.2'", "QUIC", 0},
		{"min_tls_version: '1.2'", "TLS", 0},
	}
	for _, tt := range tests {
		p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: a\n    "+tt.rule+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		rep := &audit.Report{Devices: []audit.Device{{ID: "mac:02:00:00:00:00:01", Name: "cam",
			Destinations: []audit.Destination{{Dest: audit.Dest{Name: "x.example.com", IP: "203.0.113.9", Port: 443, Transport: "tcp", Country: "US", Channel: tt.channel}, Flows: 1}}}}}
		res := Evaluate(rep, p, Options{})
		if got := len(res.Violations); got != tt.want {
			t.Errorf("%s on %s: %d violations, want %d: %+v", tt.rule, tt.channel, got, tt.want, res.Violations)
		}
	}
	for c, want := range map[string]bool{"HTTP": true, "compressed": true, "NetBIOS": true, "TLS1.3": false, "SSL3.0": false,
		"STARTTLS TLS1.2": false, "TLS1.3 (decrypted)": false, "mixed": false, "": false, "encrypted-unknown": false} {
		if InClear(c) != want {
			t.Errorf("InClear(%q) = %v, want %v", c, !want, want)
		}
	}
}
