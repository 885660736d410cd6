package mqtt

import (
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes MQTT to the engine: a connection whose client starts
// with a CONNECT naming the protocol ("MQTT", "MQIsdp"), on any port. The
// decoder emits each packet as an "mqtt" event (fields: *Event), hands the
// client id, user name, password, will, topics and payloads the client
// sends to the leak scan, and raises a finding for a password sent in
// clear.
func Spec() proto.Spec {
	return proto.Spec{
		Name: "mqtt", Channel: "MQTT",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if Detect(in.Up) || Detect(in.Down) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return New(Limits{}, func(ev *Event) { report(s, ev) })
		},
	}
}

// report hands one packet to the sink. Payloads and passwords are not
// written to events: they are released once scanned.
func report(s proto.Sink, ev *Event) {
	s.Emit("mqtt", proto.Meta{Frame: ev.Frame, Time: ev.Time}, ev)
	defer func() { ev.Payload, ev.Password, ev.WillPayload = nil, nil, nil }()
	if ev.Dir != "up" {
		return
	}
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	scan := func(loc string, b []byte) { s.Scan(proto.Field{Location: loc, Data: b}, m) }
	switch ev.Packet {
	case "connect":
		scan("mqtt.client_id", []byte(ev.ClientID))
		scan("mqtt.username", []byte(ev.Username))
		if ev.PasswordPresent {
			scan("mqtt.password", ev.Password)
			s.Finding(proto.Finding{Severity: severity.High, Kind: "mqtt-password-cleartext",
				Message: "MQTT password sent without TLS", Frame: ev.Frame, Time: ev.Time})
		}
		if ev.WillTopic != "" {
			scan("mqtt.will_topic", []byte(ev.WillTopic))
			scan("mqtt.will_payload", ev.WillPayload)
		}
	case "publish":
		scan("mqtt.topic", []byte(ev.Topic))
		scan("mqtt.payload", ev.Payload)
	case "subscribe", "unsubscribe":
		for _, t := range ev.Topics {
			scan("mqtt.topic", []byte(t.Filter))
		}
	}
}
