// Package encdns recognises encrypted DNS among a capture's flows: DNS
// over TLS (TCP port 853, RFC 7858) whoever the server is, and DNS over
// HTTPS (RFC 8484) to a public resolver the signature pack knows (category
// dns-resolver), by the flow's server name (SNI first) or address. Either
// way the device resolves names past the lab's resolver, and the lookups
// are hidden from the capture: auditors need to know.
//
// DNS over HTTPS in clear (h2c) is decoded by pkg/proto/http2, which
// raises the same finding kind on the flow itself.
package encdns

import (
	"net/netip"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/severity"
	"github.com/phonehome/phonehome/pkg/signature"
)

// Channels of the flows this package recognises.
const (
	ChannelDoH = "DoH"
	ChannelDoT = "DoT"
)

// Finding kinds.
const (
	FindingDoH = "dns-over-https" // also raised by pkg/proto/http2 on decoded DoH
	FindingDoT = "dns-over-tls"
)

// PortDoT is the IANA port of DNS over TLS.
const PortDoT = 853

// Category is the signature category of public resolvers.
const Category = "dns-resolver"

// Flow is what Classify needs to know about a finished flow.
type Flow struct {
	Transport string         // "tcp", "udp"
	Server    netip.AddrPort // the flow's server
	Name      string         // the server's best name (SNI first), "" if none
	Channel   string         // the channel so far: "TLS1.3", "TLS", "QUIC", ...
	Frame     uint64         // first frame, for the finding
	Time      time.Time
}

// Result is a recognised encrypted-DNS flow: its channel and the finding
// to add to it.
type Result struct {
	Channel  string
	Resolver string // the signature's service name, "" when none matched
	Finding  proto.Finding
}

// Classify says whether f carried encrypted DNS. set may be nil (then only
// DNS over TLS, by its port, is recognised).
func Classify(set *signature.Set, f Flow) (Result, bool) {
	tls := strings.HasPrefix(f.Channel, "TLS")
	quic := f.Channel == "QUIC"
	if !tls && !quic {
		return Result{}, false
	}
	resolver := ""
	if set != nil {
		m, ok := set.Match(signature.Query{Domain: f.Name, IP: f.Server.Addr(), Port: f.Server.Port(), Transport: f.Transport})
		if ok && m.Category == Category {
			resolver = m.Service
		}
	}
	who := f.Name
	if who == "" {
		who = f.Server.Addr().String()
	}
	if resolver != "" {
		who += " (" + resolver + ")"
	}
	var r Result
	switch {
	case tls && f.Transport == "tcp" && f.Server.Port() == PortDoT:
		r = Result{Channel: ChannelDoT, Finding: proto.Finding{Kind: FindingDoT,
			Message: "DNS over TLS to " + who + ": lookups bypass the lab resolver and are hidden"}}
	case resolver != "":
		r = Result{Channel: ChannelDoH, Finding: proto.Finding{Kind: FindingDoH,
			Message: "DNS over HTTPS to " + who + ": lookups bypass the lab resolver and are hidden"}}
	default:
		return Result{}, false
	}
	r.Resolver = resolver
	r.Finding.Severity, r.Finding.Frame, r.Finding.Time = severity.Medium, f.Frame, f.Time
	return r, true
}
