package engine

import (
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/ntp"
)

// detectStream lets the stream decoders that sniff by content (beyond TLS
// and HTTP) claim a TCP flow.
func (e *engine) detectStream(s *session, b []byte) bool {
	return false
}

// udpExtra hands UDP payloads to the datagram decoders other than DNS and
// DHCP. It returns true when one of them took the datagram.
func (e *engine) udpExtra(s *session, dir proto.Dir, b []byte, m proto.Meta, p *flow.Packet) bool {
	switch {
	case (p.SrcPort == 123 || p.DstPort == 123) && ntp.Detect(b):
		s.udpProto = "ntp"
		var msg ntp.Message
		err := ntp.Parse(b, &msg)
		e.event(audit.Event{Type: "ntp", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ntp.NewEvent(&msg, err)})
		return true
	}
	return false
}

// endExtra finishes per-flow decoders that are not stream parsers.
func (e *engine) endExtra(s *session, m proto.Meta) {}

// extraChannel names the channel of flows decoded by the decoders above.
func (e *engine) extraChannel(s *session) string {
	switch s.protocol() {
	case "ntp":
		return "NTP"
	case "ssh":
		return "SSH"
	}
	return ""
}
