package audit

import (
	"slices"
	"testing"
)

func TestChannelInfo(t *testing.T) {
	tests := []struct {
		c                            Channel
		known, plain, enc, decrypted bool
		rank                         int
		tls                          Channel
	}{
		// Every channel the engine emits today (baseline over the shared corpus).
		{"DHCP", true, true, false, false, 5, ""},
		{"DNS", true, true, false, false, 5, ""},
		{"HTTP", true, true, false, false, 5, ""},
		{"MQTT", true, true, false, false, 5, ""},
		{"NTP", true, true, false, false, 5, ""},
		{"NetBIOS", true, true, false, false, 5, ""},
		{"SSDP", true, true, false, false, 5, ""},
		{"STUN", true, true, false, false, 5, ""},
		{"WebSocket", true, true, false, false, 5, ""},
		{"QUIC", true, false, true, false, 1, "TLS1.3"},
		{"SSH", true, false, true, false, 1, ""},
		{"TLS", true, false, true, false, 1, ""},
		{"TLS1.0", true, false, true, false, 4, "TLS1.0"},
		{"TLS1.1", true, false, true, false, 4, "TLS1.1"},
		{"TLS1.2", true, false, true, false, 1, "TLS1.2"},
		{"TLS1.3", true, false, true, false, 1, "TLS1.3"},
		{"SSL3.0", true, false, true, false, 4, "SSL3.0"},
		{"SSL2.0", true, false, true, false, 4, "SSL2.0"},
		{"SSLv3", true, false, true, false, 4, "SSL3.0"}, // alias
		{"TLS1.3-draft23", true, false, true, false, 1, ""},
		{"0x7a7a", true, false, true, false, 1, ""},
		{"plaintext", true, true, false, false, 5, ""},
		{"encoded", true, true, false, false, 5, ""},
		{"custom-xor", true, true, false, false, 5, ""},
		{"compressed", true, false, false, false, 1, ""},
		{"encrypted-unknown", true, false, true, false, 3, ""},
		{"binary-unknown", true, false, false, false, 1, ""},
		{"unknown", true, false, false, false, 1, ""},
		{"mixed", true, false, false, false, 1, ""},
		// Coming decoders.
		{"HTTP/2", true, true, false, false, 5, ""},
		{"SMTP", true, true, false, false, 5, ""},
		{"IMAP", true, true, false, false, 5, ""},
		{"POP3", true, true, false, false, 5, ""},
		{"FTP", true, true, false, false, 5, ""},
		{"XMPP", true, true, false, false, 5, ""},
		{"CoAP", true, true, false, false, 5, ""},
		{"CoAP/DTLS", true, false, true, false, 1, ""},
		{"DoH", true, false, true, false, 1, ""},
		{"DoT", true, false, true, false, 1, ""},
		{"STARTTLS TLS1.2", true, false, true, false, 1, "TLS1.2"},
		{"STARTTLS TLS1.0", true, false, true, false, 4, "TLS1.0"},
		{"STARTTLS TLS", true, false, true, false, 1, ""},
		{"TLS1.3 (decrypted)", true, false, true, true, 1, "TLS1.3"},
		{"TLS1.1 (decrypted)", true, false, true, true, 4, "TLS1.1"},
		{"QUIC (decrypted)", true, false, true, true, 1, "TLS1.3"},
		// Case does not matter.
		{"http", true, true, false, false, 5, ""},
		{"netbios", true, true, false, false, 5, ""},
		// Not channels.
		{"", false, false, false, false, 0, ""},
		{"HTTPS", false, false, false, false, 1, ""},
		{"STARTTLS HTTP", false, false, false, false, 1, ""},
		{"SSH (decrypted)", false, false, false, false, 1, ""},
		{"STARTTLS QUIC", false, false, false, false, 1, ""},
		{"TLS1.3-draft", false, false, false, false, 1, ""},
		{"0x7a7", false, false, false, false, 1, ""},
	}
	for _, tt := range tests {
		info, ok := tt.c.Info()
		if ok != tt.known || tt.c.Known() != tt.known {
			t.Errorf("%q known = %v, want %v", tt.c, ok, tt.known)
		}
		if tt.c.Plaintext() != tt.plain || info.Plaintext != tt.plain {
			t.Errorf("%q plaintext = %v, want %v", tt.c, tt.c.Plaintext(), tt.plain)
		}
		if tt.c.Encrypted() != tt.enc {
			t.Errorf("%q encrypted = %v, want %v", tt.c, tt.c.Encrypted(), tt.enc)
		}
		if info.Decrypted != tt.decrypted {
			t.Errorf("%q decrypted = %v, want %v", tt.c, info.Decrypted, tt.decrypted)
		}
		if tt.c.Rank() != tt.rank {
			t.Errorf("%q rank = %d, want %d", tt.c, tt.c.Rank(), tt.rank)
		}
		if info.TLS != tt.tls {
			t.Errorf("%q TLS = %q, want %q", tt.c, info.TLS, tt.tls)
		}
	}
}

func TestChannelTableConsistent(t *testing.T) {
	seen := map[Channel]bool{}
	for _, c := range Channels() {
		if seen[c] {
			t.Errorf("%q listed twice", c)
		}
		seen[c] = true
		info, ok := c.Info()
		if !ok || info.Name != c {
			t.Errorf("%q does not look itself up (%+v, %v)", c, info, ok)
		}
		if info.Plaintext && info.Encrypted {
			t.Errorf("%q is both plaintext and encrypted", c)
		}
		if info.Plaintext != (info.Rank == rankPlaintext) {
			t.Errorf("%q: plaintext %v but rank %d", c, info.Plaintext, info.Rank)
		}
	}
}

func TestChannelReplaces(t *testing.T) {
	tests := []struct {
		c, cur Channel
		want   bool
	}{
		{"", "", false},
		{"", "HTTP", false},
		{"TLS1.3", "", true},
		{"HTTP", "TLS1.3", true}, // weakest wins
		{"TLS1.3", "HTTP", false},
		{"TLS1.0", "TLS1.2", true},
		{"encrypted-unknown", "TLS1.3", true},
		{"TLS1.1", "encrypted-unknown", true},
		{"HTTP", "DNS", false}, // same rank: alphabetical
		{"DNS", "HTTP", true},
		{"TLS1.2", "TLS1.3", true},
		{"STARTTLS TLS1.0", "TLS1.2", true},
	}
	for _, tt := range tests {
		if got := tt.c.Replaces(tt.cur); got != tt.want {
			t.Errorf("%q.Replaces(%q) = %v, want %v", tt.c, tt.cur, got, tt.want)
		}
	}
}

func TestChannelSameAndForms(t *testing.T) {
	if !Channel("SSLv3").Same("SSL3.0") || !Channel("netbios").Same("NetBIOS") || Channel("HTTP").Same("HTTP/2") {
		t.Error("Same")
	}
	if !Channel("weird").Same("WEIRD") {
		t.Error("Same on unknown names compares case-insensitively")
	}
	if got := StartTLS(ChannelTLS12); got != "STARTTLS TLS1.2" || !got.Known() {
		t.Errorf("StartTLS = %q", got)
	}
	if got := Decrypted(ChannelQUIC); got != "QUIC (decrypted)" || !got.Known() {
		t.Errorf("Decrypted = %q", got)
	}
	if !slices.Contains(Channels(), ChannelNetBIOS) || !slices.Contains(Channels(), ChannelWebSocket) {
		t.Error("Channels misses NetBIOS or WebSocket")
	}
}

// FuzzChannel: any name looks up without panicking, and what the table
// says is consistent (never both plaintext and encrypted; derived forms
// are encrypted and rank as their inner version).
func FuzzChannel(f *testing.F) {
	for _, c := range Channels() {
		f.Add(string(c))
	}
	for _, s := range []string{"STARTTLS TLS1.2", "TLS1.3 (decrypted)", "QUIC (decrypted)", "STARTTLS ", " (decrypted)",
		"STARTTLS STARTTLS TLS1.2", "TLS1.3-draft", "0x", "0xzzzz", "sslv3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Channel(s)
		info, ok := c.Info()
		if !ok {
			if info != (ChannelInfo{}) {
				t.Fatalf("%q: unknown but %+v", s, info)
			}
			return
		}
		if info.Plaintext && info.Encrypted {
			t.Fatalf("%q: plaintext and encrypted", s)
		}
		if info.Decrypted && !info.Encrypted {
			t.Fatalf("%q: decrypted but not encrypted on the wire", s)
		}
		if c.Rank() != info.Rank || info.Rank < rankStrong || info.Rank > rankPlaintext {
			t.Fatalf("%q: rank %d", s, info.Rank)
		}
		if !c.Same(c) {
			t.Fatalf("%q: not Same as itself", s)
		}
		if info.TLS != "" && info.TLS == info.Name { // a TLS version: both forms exist
			if st, dec := StartTLS(c), Decrypted(c); !st.Known() || !dec.Known() || st.Rank() != info.Rank || dec.Rank() != info.Rank {
				t.Fatalf("%q: derived forms %q %q", s, st, dec)
			}
		}
	})
}
