package mqtt

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"
)

// readVarint reads a Variable Byte Integer (MQTT 5.0 section 1.5.5).
func readVarint(s *cryptobyte.String) (int, bool) {
	v, n, ok := remLen(*s)
	if !ok {
		return 0, false
	}
	s.Skip(n)
	return v, true
}

// skipProps skips an MQTT 5 property block.
func skipProps(s *cryptobyte.String) bool {
	n, ok := readVarint(s)
	return ok && s.Skip(n)
}

// decode parses the body of one packet whose first header byte is first.
// size is the body length on the wire (body may be a prefix of it when the
// packet exceeded MaxPacket or lost bytes). version is the connection's
// protocol level (0: unknown, 3.1.1 assumed). It returns the event to emit
// (nil for packets that are only counted) and whether the body is well
// formed. maxPayload 0 keeps no payload (used by resync checks).
func decode(first byte, body []byte, size, version, maxPayload int) (*Event, bool) {
	t, flags := first>>4, first&0x0f
	cut := len(body) < size
	v5 := version == 5
	s := cryptobyte.String(body)
	bad := func(ev *Event) (*Event, bool) {
		if ev == nil {
			return nil, false
		}
		if cut {
			ev.Flags = append(ev.Flags, "payload-truncated")
		} else {
			ev.Flags = append(ev.Flags, "malformed")
		}
		return ev, false
	}
	guess := func(ev *Event) {
		if version == 0 {
			ev.Flags = append(ev.Flags, "version-unknown")
		}
		ev.Version = version
	}
	switch t {
	case typeConnect:
		ev := &Event{Packet: "connect"}
		var name cryptobyte.String
		var level, cf uint8
		if !s.ReadUint16LengthPrefixed(&name) || !s.ReadUint8(&level) || !s.ReadUint8(&cf) || !s.ReadUint16(&ev.KeepAlive) {
			return bad(nil)
		}
		if string(name) != "MQTT" && string(name) != "MQIsdp" || cf&0x01 != 0 {
			return bad(nil)
		}
		ev.ProtocolName, ev.Version = string(name), int(level)
		ev.CleanSession = cf&0x02 != 0
		if level == 5 && !skipProps(&s) {
			return bad(ev)
		}
		var id cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&id) {
			return bad(ev)
		}
		ev.ClientID = clipString(id)
		if cf&0x04 != 0 {
			ev.WillQoS, ev.WillRetain = cf>>3&0x03, cf&0x20 != 0
			var topic, payload cryptobyte.String
			if level == 5 && !skipProps(&s) || !s.ReadUint16LengthPrefixed(&topic) || !s.ReadUint16LengthPrefixed(&payload) {
				return bad(ev)
			}
			ev.WillTopic = clipString(topic)
			ev.WillPayload = bytes.Clone(payload[:min(len(payload), maxPayload)])
		}
		if cf&0x80 != 0 {
			var user cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&user) {
				return bad(ev)
			}
			ev.HasUsername, ev.Username = true, clipString(user)
		}
		if cf&0x40 != 0 {
			var pass cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&pass) {
				return bad(ev)
			}
			ev.PasswordPresent = true
			ev.Password = bytes.Clone(pass[:min(len(pass), maxString)])
			ev.Flags = append(ev.Flags, "password-in-clear")
		}
		if !s.Empty() {
			return bad(ev)
		}
		return ev, true
	case typeConnack:
		ev := &Event{Packet: "connack"}
		var af, code uint8
		if !s.ReadUint8(&af) || !s.ReadUint8(&code) || af&0xfe != 0 {
			return bad(nil)
		}
		rc := int(code)
		ev.ReturnCode, ev.SessionPresent = &rc, af&0x01 != 0
		switch {
		case len(body) > 2:
			ev.Version = 5
			if !skipProps(&s) || !s.Empty() {
				return bad(ev)
			}
		case version == 5:
			ev.Version = 5 // properties may be omitted when the reason code is not 0
		default:
			if code > 5 {
				return bad(nil)
			}
			ev.Version = version
		}
		return ev, true
	case typePublish:
		ev := &Event{Packet: "publish", QoS: flags >> 1 & 0x03, Retain: flags&0x01 != 0, Dup: flags&0x08 != 0}
		guess(ev)
		var topic cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&topic) || !validString(topic) || (len(topic) == 0 && !v5) {
			return bad(nil)
		}
		ev.Topic = clipString(topic)
		if ev.QoS > 0 && (!s.ReadUint16(&ev.PacketID) || ev.PacketID == 0) {
			return bad(ev)
		}
		if v5 && !skipProps(&s) {
			return bad(ev)
		}
		ev.PayloadSize = len(s) + size - len(body)
		ev.Payload = bytes.Clone(s[:min(len(s), maxPayload)])
		if len(s) > maxPayload || cut {
			ev.Flags = append(ev.Flags, "payload-truncated")
		}
		return ev, true
	case typeSubscribe, typeUnsubscribe:
		ev := &Event{Packet: "subscribe"}
		if t == typeUnsubscribe {
			ev.Packet = "unsubscribe"
		}
		guess(ev)
		if !s.ReadUint16(&ev.PacketID) || ev.PacketID == 0 || (v5 && !skipProps(&s)) {
			return bad(nil)
		}
		for !s.Empty() {
			var f cryptobyte.String
			var opt uint8
			if !s.ReadUint16LengthPrefixed(&f) || !validString(f) || (t == typeSubscribe && !s.ReadUint8(&opt)) {
				return bad(ev)
			}
			if len(ev.Topics) < maxTopics {
				ev.Topics = append(ev.Topics, Topic{Filter: clipString(f), QoS: opt & 0x03})
			}
		}
		if len(ev.Topics) == 0 && !cut {
			return bad(ev)
		}
		return ev, true
	case typePuback, typePubrec, typePubrel, typePubcomp, typeUnsuback:
		return nil, len(body) == 2 || (len(body) > 2 && version != 3 && version != 4)
	case typeSuback:
		return nil, len(body) >= 3
	case typePingreq, typePingresp:
		return nil, size == 0
	case typeDisconnect:
		return nil, size == 0 || version == 5 || version == 0
	case typeAuth:
		return nil, version == 5 || version == 0
	}
	return nil, false
}
