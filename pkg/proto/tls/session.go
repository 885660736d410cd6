package tls

import (
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/phonehome/phonehome/pkg/severity"
)

// maxNotes caps Session.Notes.
const maxNotes = 8

// Session is the Fields of a "tls" event: one TLS connection's handshake as
// seen in clear. Index [0] of the two-element arrays is the client-to-server
// direction ("up"), [1] server-to-client ("down").
type Session struct {
	SNI              string            `json:"sni,omitempty"`
	Version          string            `json:"version,omitempty"` // negotiated, e.g. "TLS1.3"
	RecordVersion    uint16            `json:"record_version,omitempty"`
	ClientHellos     []ClientHelloInfo `json:"client_hellos"`
	HelloRetry       *ServerHelloInfo  `json:"hello_retry_request,omitempty"`
	ServerHello      *ServerHelloInfo  `json:"server_hello,omitempty"`
	CertificateFrame uint64            `json:"certificate_frame,omitempty"`
	Certificates     []Certificate     `json:"certificates,omitempty"`
	NameMismatch     bool              `json:"name_mismatch,omitempty"` // leaf does not cover SNI
	Alerts           []Alert           `json:"alerts,omitempty"`
	Records          [2]uint64         `json:"records"`
	AppData          [2]uint64         `json:"app_data_bytes"`
	GapBytes         [2]uint64         `json:"gap_bytes"`
	HandshakeSkipped int               `json:"handshake_skipped,omitempty"`
	ParseErrors      int               `json:"parse_errors,omitempty"`
	Findings         []Finding         `json:"findings,omitempty"`
	Notes            []string          `json:"notes,omitempty"`
}

// ClientHelloInfo is one ClientHello with its fingerprints (empty when
// the Stream's sink reads no event fields: NewStreamLimits).
type ClientHelloInfo struct {
	Frame      uint64 `json:"frame"`
	MaxVersion string `json:"max_version"` // highest offered, e.g. "TLS1.3"
	ClientHello
	JA3     string `json:"ja3"`
	JA3Hash string `json:"ja3_hash"`
	JA4     string `json:"ja4"`
	JA4Raw  string `json:"ja4_r"`
}

// NewClientHelloInfo computes the fingerprints of ch; transport is JA4TCP
// or JA4QUIC.
func NewClientHelloInfo(ch *ClientHello, frame uint64, transport byte) ClientHelloInfo {
	ja3, ja3h := ch.JA3()
	ja4, ja4r := ch.ja4Both(transport)
	return ClientHelloInfo{
		Frame: frame, MaxVersion: VersionName(ch.MaxVersion()), ClientHello: *ch,
		JA3: ja3, JA3Hash: ja3h, JA4: ja4, JA4Raw: ja4r,
	}
}

// ServerHelloInfo is a ServerHello (or HelloRetryRequest) with its frame.
type ServerHelloInfo struct {
	Frame uint64 `json:"frame"`
	ServerHello
}

// Alert is a plaintext alert record.
type Alert struct {
	Frame       uint64 `json:"frame"`
	Dir         string `json:"dir"` // up, down
	Level       uint8  `json:"level"`
	Description uint8  `json:"description"`
}

// Finding is a problem with the session; the engine turns it into an
// finding by adding the destination.
type Finding struct {
	Kind     string            `json:"kind"`
	Severity severity.Severity `json:"severity"`
	Message  string            `json:"message"`
	Frame    uint64            `json:"frame"`
}

func (ss *Session) note(s string) {
	if len(ss.Notes) < maxNotes {
		ss.Notes = append(ss.Notes, s)
	}
}

// finish fills SNI, Version, NameMismatch and Findings.
func (ss *Session) finish(leaf *x509.Certificate) {
	var ch *ClientHelloInfo
	if len(ss.ClientHellos) > 0 {
		ch = &ss.ClientHellos[0]
		ss.SNI = ch.SNI
	}
	if ss.ServerHello != nil {
		ss.Version = VersionName(ss.ServerHello.Version)
	}
	ss.NameMismatch = nameMismatch(leaf, ss.SNI)
	ss.Findings = Findings(ch, ss.ServerHello, ss.Certificates, ss.NameMismatch, ss.CertificateFrame)
}

// deprecated returns the severity of negotiating or offering v at most.
func deprecated(v uint16) severity.Severity {
	switch {
	case v == 0x0002:
		return severity.Critical
	case v == 0x0300:
		return severity.High
	case v == 0x0301, v == 0x0302:
		return severity.Medium
	}
	return severity.None
}

// Findings derives the findings of a handshake. Any argument may be nil or
// empty. QUIC reuses it with no certificates.
func Findings(ch *ClientHelloInfo, sh *ServerHelloInfo, chain []Certificate, mismatch bool, certFrame uint64) []Finding {
	var out []Finding
	if sh != nil && deprecated(sh.Version) != severity.None {
		out = append(out, Finding{Kind: "tls-deprecated-version", Severity: deprecated(sh.Version), Frame: sh.Frame,
			Message: fmt.Sprintf("server negotiated %s", VersionName(sh.Version))})
	} else if ch != nil && deprecated(ch.ClientHello.MaxVersion()) != severity.None {
		v := ch.ClientHello.MaxVersion()
		out = append(out, Finding{Kind: "tls-deprecated-offer", Severity: deprecated(v), Frame: ch.Frame,
			Message: fmt.Sprintf("client offers at most %s", VersionName(v))})
	}
	if ch != nil && ch.SNI == "" {
		out = append(out, Finding{Kind: "tls-no-sni", Severity: severity.Low, Frame: ch.Frame,
			Message: "ClientHello without a server name (SNI): any name shown for this destination comes from DNS, not from the connection"})
	}
	if len(chain) > 0 {
		leaf := chain[0]
		switch {
		case leaf.ParseError != "":
			out = append(out, Finding{Kind: "tls-cert-unparsable", Severity: severity.Low, Frame: certFrame,
				Message: "server certificate does not parse: " + leaf.ParseError})
		default:
			if leaf.SelfSigned {
				out = append(out, Finding{Kind: "tls-cert-self-signed", Severity: severity.Medium, Frame: certFrame,
					Message: fmt.Sprintf("self-signed server certificate %q", leaf.Subject)})
			}
			if leaf.Expired {
				out = append(out, Finding{Kind: "tls-cert-expired", Severity: severity.Medium, Frame: certFrame,
					Message: fmt.Sprintf("server certificate expired %s", leaf.NotAfter.Format("2006-01-02"))})
			}
			if leaf.NotYet {
				out = append(out, Finding{Kind: "tls-cert-not-yet-valid", Severity: severity.Low, Frame: certFrame,
					Message: fmt.Sprintf("server certificate valid only from %s", leaf.NotBefore.Format("2006-01-02"))})
			}
			if mismatch {
				out = append(out, Finding{Kind: "tls-cert-name-mismatch", Severity: severity.Medium, Frame: certFrame,
					Message: fmt.Sprintf("server certificate does not cover %q", ch.SNI)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) })
	return out
}
