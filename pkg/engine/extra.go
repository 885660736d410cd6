package engine

import (
	"slices"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/mqtt"
	"github.com/phonehome/phonehome/pkg/proto/netbios"
	"github.com/phonehome/phonehome/pkg/proto/ntp"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	"github.com/phonehome/phonehome/pkg/proto/sniff"
	"github.com/phonehome/phonehome/pkg/proto/ssdp"
	"github.com/phonehome/phonehome/pkg/proto/stun"
)

// detectStream lets the stream decoders that sniff by content (beyond TLS
// and HTTP) claim a TCP flow.
func (e *engine) detectStream(s *session, b []byte) bool {
	switch {
	case stun.Detect(b):
		s.proto = "stun"
		s.parser = stun.NewStream(func(d proto.Dir, msg *stun.Message, meta proto.Meta, err error) {
			e.event(s, audit.Event{Type: "stun", Frame: meta.Frame, Time: meta.Time.UTC(), FlowID: s.f.ID, Fields: stun.NewEvent(msg, err)})
		})
		return true
	case mqtt.Detect(b):
		s.proto = "mqtt"
		s.parser = mqtt.New(mqtt.Limits{}, func(ev *mqtt.Event) { e.mqttEvent(s, ev) })
		return true
	}
	return false
}

func (e *engine) mqttEvent(s *session, ev *mqtt.Event) {
	e.event(s, audit.Event{Type: "mqtt", Frame: ev.Frame, Time: ev.Time.UTC(), FlowID: s.f.ID, Fields: ev})
	// Payloads and passwords are not written to events: release them once
	// scanned.
	defer func() { ev.Payload, ev.Password, ev.WillPayload = nil, nil, nil }()
	if ev.Dir != "up" {
		return
	}
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	switch ev.Packet {
	case "connect":
		e.scan(s, leak.Input{Location: "mqtt.client_id", Data: []byte(ev.ClientID)}, m)
		e.scan(s, leak.Input{Location: "mqtt.username", Data: []byte(ev.Username)}, m)
		if ev.PasswordPresent {
			e.scan(s, leak.Input{Location: "mqtt.password", Data: ev.Password}, m)
			s.addFinding(e, audit.Finding{Severity: audit.High, Kind: "mqtt-password-cleartext",
				Message: "MQTT password sent without TLS", Frame: ev.Frame, Time: ev.Time.UTC()})
		}
		if ev.WillTopic != "" {
			e.scan(s, leak.Input{Location: "mqtt.will_topic", Data: []byte(ev.WillTopic)}, m)
			e.scan(s, leak.Input{Location: "mqtt.will_payload", Data: ev.WillPayload}, m)
		}
	case "publish":
		e.scan(s, leak.Input{Location: "mqtt.topic", Data: []byte(ev.Topic)}, m)
		e.scan(s, leak.Input{Location: "mqtt.payload", Data: ev.Payload}, m)
	case "subscribe", "unsubscribe":
		for _, t := range ev.Topics {
			e.scan(s, leak.Input{Location: "mqtt.topic", Data: []byte(t.Filter)}, m)
		}
	}
}

// udpExtra hands UDP payloads to the datagram decoders other than DNS and
// DHCP. It returns true when one of them took the datagram.
func (e *engine) udpExtra(s *session, dir proto.Dir, b []byte, m proto.Meta, p *flow.Packet) bool {
	if s.quic == nil && s.udpProto == "" && quic.Detect(b) {
		s.udpProto = "quic"
		s.quic = quic.NewParser(e.emitter(s, "quic"))
	}
	if s.quic != nil {
		s.quic.Datagram(dir, b, m)
		return true
	}
	switch {
	case (p.SrcPort == 1900 || p.DstPort == 1900) && ssdp.Detect(b):
		s.udpProto = "ssdp"
		var msg ssdp.Message
		if ssdp.Parse(b, &msg) == nil {
			e.event(s, audit.Event{Type: "ssdp", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ssdp.NewEvent(&msg)})
		}
		return true
	case stun.Detect(b):
		s.udpProto = "stun"
		var msg stun.Message
		err := stun.Parse(b, &msg)
		ev := stun.NewEvent(&msg, err)
		e.event(s, audit.Event{Type: "stun", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ev})
		if dir == proto.ToServer && ev.Username != "" {
			e.scan(s, leak.Input{Location: "stun.username", Data: []byte(ev.Username)}, m)
		}
		return true
	case p.SrcPort == 137 || p.DstPort == 137:
		s.udpProto = "netbios"
		var msg netbios.Message
		err := netbios.Parse(b, &msg)
		ev := netbios.NewEvent(&msg, err)
		e.event(s, audit.Event{Type: "netbios", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ev})
		if err == nil {
			e.inv.netbiosNames(p.Src, ev)
		}
		return true
	case p.SrcPort == 138 && p.DstPort == 138:
		s.udpProto = "netbios"
		var d netbios.Datagram
		err := netbios.ParseDatagram(b, &d)
		e.event(s, audit.Event{Type: "netbios", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: netbios.NewDatagramEvent(&d, err)})
		return true
	case (p.SrcPort == 123 || p.DstPort == 123) && ntp.Detect(b):
		s.udpProto = "ntp"
		var msg ntp.Message
		err := ntp.Parse(b, &msg)
		e.event(s, audit.Event{Type: "ntp", Frame: m.Frame, Time: m.Time.UTC(), FlowID: s.f.ID, Fields: ntp.NewEvent(&msg, err)})
		return true
	}
	return false
}

// endExtra finishes per-flow decoders that are not stream parsers, and
// profiles the bytes of flows no decoder recognised ("unknown" events:
// first bytes, entropy, verdict).
func (e *engine) endExtra(s *session, m proto.Meta) {
	if s.quic != nil {
		s.names.quicSNI = s.quic.SNI()
		s.quic.End(m)
		for _, c := range s.quic.Connections() {
			for _, fi := range c.Findings {
				s.addFinding(e, audit.Finding{Severity: fi.Severity, Kind: fi.Kind, Message: fi.Message, Frame: fi.Frame, Time: s.f.First.UTC()})
			}
		}
	}
	if s.tls != nil {
		ss := s.tls.Session()
		if ss.SNI != "" {
			s.names.sni = ss.SNI
		}
	}
	if s.protocol() != "" || len(s.sample)+len(s.down) == 0 {
		return
	}
	ev := unknownEvent{Up: sniff.Analyze(s.sample)}
	if len(s.down) > 0 {
		d := sniff.Analyze(s.down)
		ev.Down = &d
	}
	if !e.cfg.ShowEvidence && len(s.leaks) > 0 {
		m := leak.NewMasker()
		for _, l := range s.leaks {
			m.AddLeak(l.Identifier, l.Value, slices.Concat(l.Spellings, []string{l.Value}))
		}
		maskHead(&ev.Up, m)
	}
	e.event(s, audit.Event{Type: "unknown", Frame: s.f.FirstFrame, Time: s.f.First.UTC(), FlowID: s.f.ID, Fields: ev})
}

// maskHead masks the flow's leaked texts in a profile's first bytes: in
// head_text as everywhere, and the same bytes in head_hex, where the hex
// of a text is no token the report-wide pass could find.
func maskHead(p *sniff.Profile, m *leak.Masker) {
	spans := m.Spans(p.HeadText)
	if len(spans) == 0 || len(p.HeadHex) != 2*len(p.HeadText) {
		return
	}
	h := []byte(p.HeadHex)
	for _, sp := range spans {
		for i := 2 * sp[0]; i < 2*sp[1]; i++ {
			h[i] = '*'
		}
	}
	p.HeadHex = string(h)
	p.HeadText, _ = m.String(p.HeadText)
}

// unknownEvent profiles the first bytes of each direction of a flow no
// decoder recognised.
type unknownEvent struct {
	Up   sniff.Profile  `json:"up"`
	Down *sniff.Profile `json:"down,omitempty"`
}

// extraChannel names the channel of flows decoded by the decoders above.
func (e *engine) extraChannel(s *session) string {
	switch s.protocol() {
	case "ntp":
		return "NTP"
	case "mqtt":
		return "MQTT"
	case "quic":
		return "QUIC"
	case "ssdp":
		return "SSDP"
	case "stun":
		return "STUN"
	case "netbios":
		return "NetBIOS"
	case "ssh":
		return "SSH"
	}
	return ""
}
