package engine

import (
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/encdns"
)

// What the end of a flow adds for the decoders of #17 (docs/decoders.md):
// the STARTTLS channel of a flow that switched to TLS inside its own
// protocol, and the DoH/DoT channel and finding of encrypted DNS.

// startTLS names a flow whose decoder switched it to TLS (SMTP STARTTLS,
// POP3 STLS, IMAP STARTTLS, FTP AUTH TLS, XMPP <proceed/>): it keeps the
// protocol it began with, and its channel is "STARTTLS <TLS version>".
// A CONNECT tunnel is not one: the TLS inside it was detected again
// (proto.Redetect), not switched to.
func (s *session) startTLS(protocol, channel string) (string, string) {
	if s.sw == nil || s.sw.switchedTo != "tls" || len(s.sw.replaced) == 0 || s.sw.replaced[0].spec == nil ||
		!strings.HasPrefix(channel, "TLS") {
		return protocol, channel
	}
	return s.sw.replaced[0].spec.Name, string(audit.StartTLS(audit.Channel(channel)))
}

// encryptedDNS returns the channel of a flow that carried DNS over TLS or
// DNS over HTTPS to a known resolver (pkg/encdns), and adds its finding;
// any other flow keeps its channel.
func (w *worker) encryptedDNS(s *session, name, channel string) string {
	r, ok := encdns.Classify(w.cfg.Signatures, encdns.Flow{Transport: s.f.Transport(), Server: s.f.Server,
		Name: name, Channel: channel, Frame: s.f.FirstFrame, Time: s.f.First})
	if !ok {
		return channel
	}
	s.Finding(r.Finding)
	return r.Channel
}
