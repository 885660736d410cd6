package encdns

import (
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto/http2"
	"github.com/phonehome/phonehome/pkg/signature"
)

func TestClassify(t *testing.T) {
	set, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name      string
		f         Flow
		channel   string
		kind, msg string
	}{
		{"doh by sni", Flow{Transport: "tcp", Server: ap("[2001:4860:4860::8888]:443"), Name: "dns.google", Channel: "TLS1.3"},
			ChannelDoH, FindingDoH, "DNS over HTTPS to dns.google (Google Public DNS): lookups bypass the lab resolver and are hidden"},
		{"doh by address", Flow{Transport: "tcp", Server: ap("1.1.1.1:443"), Channel: "TLS1.3"},
			ChannelDoH, FindingDoH, "DNS over HTTPS to 1.1.1.1 (Cloudflare 1.1.1.1 resolver): lookups bypass the lab resolver and are hidden"},
		{"doh over quic", Flow{Transport: "udp", Server: ap("94.140.14.14:443"), Name: "dns.adguard-dns.com", Channel: "QUIC"},
			ChannelDoH, FindingDoH, "DNS over HTTPS to dns.adguard-dns.com (AdGuard DNS resolver): lookups bypass the lab resolver and are hidden"},
		{"mozilla doh on a cloudflare address", Flow{Transport: "tcp", Server: ap("104.16.249.249:443"), Name: "mozilla.cloudflare-dns.com", Channel: "TLS1.3"},
			ChannelDoH, FindingDoH, "DNS over HTTPS to mozilla.cloudflare-dns.com (Cloudflare 1.1.1.1 resolver): lookups bypass the lab resolver and are hidden"},
		{"dot known", Flow{Transport: "tcp", Server: ap("9.9.9.9:853"), Name: "dns.quad9.net", Channel: "TLS1.3"},
			ChannelDoT, FindingDoT, "DNS over TLS to dns.quad9.net (Quad9 resolver): lookups bypass the lab resolver and are hidden"},
		{"dot unknown server", Flow{Transport: "tcp", Server: ap("203.0.113.5:853"), Channel: "TLS1.2"},
			ChannelDoT, FindingDoT, "DNS over TLS to 203.0.113.5: lookups bypass the lab resolver and are hidden"},
		{"web on a google address", Flow{Transport: "tcp", Server: ap("[2607:f8b0:400a:800::200e]:443"), Name: "ipv6.google.com", Channel: "TLS1.3"}, "", "", ""},
		{"google web named www on 8.8.8.8", Flow{Transport: "tcp", Server: ap("8.8.8.8:443"), Name: "www.google.com", Channel: "TLS1.3"}, "", "", ""},
		{"plain dns to a public resolver", Flow{Transport: "udp", Server: ap("8.8.8.8:53"), Channel: "DNS"}, "", "", ""},
		{"853 not tls", Flow{Transport: "tcp", Server: ap("9.9.9.9:853"), Channel: "binary-unknown"}, "", "", ""},
		{"udp 853 not quic", Flow{Transport: "udp", Server: ap("9.9.9.9:853"), Channel: "encrypted-unknown"}, "", "", ""},
	} {
		r, ok := Classify(set, tc.f)
		if ok != (tc.channel != "") || r.Channel != tc.channel || r.Finding.Kind != tc.kind || r.Finding.Message != tc.msg {
			t.Errorf("%s: got %v %+v, want %q %q %q", tc.name, ok, r, tc.channel, tc.kind, tc.msg)
		}
		if ok && r.Finding.Severity.String() != "medium" {
			t.Errorf("%s: severity %s", tc.name, r.Finding.Severity)
		}
	}
	// Without signatures only the DoT port is known.
	if r, ok := Classify(nil, Flow{Transport: "tcp", Server: ap("1.1.1.1:853"), Channel: "TLS1.3"}); !ok || r.Channel != ChannelDoT {
		t.Errorf("nil set: %+v %v", r, ok)
	}
	if _, ok := Classify(nil, Flow{Transport: "tcp", Server: ap("1.1.1.1:443"), Channel: "TLS1.3"}); ok {
		t.Errorf("nil set: DoH without signatures")
	}
	if FindingDoH != http2.FindingDoH {
		t.Errorf("finding kinds differ: %s, http2 %s", FindingDoH, http2.FindingDoH)
	}
}
