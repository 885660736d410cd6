package mqtt

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.String("dir", e.Dir)
	o.String("packet", e.Packet)
	o.OptInt("version", int64(e.Version))
	o.OptString("protocol_name", e.ProtocolName)
	o.OptString("client_id", e.ClientID)
	o.OptString("username", e.Username)
	o.OptBool("has_username", e.HasUsername)
	o.OptBool("password_present", e.PasswordPresent)
	o.OptBool("clean_session", e.CleanSession)
	o.OptUint("keep_alive", uint64(e.KeepAlive))
	o.OptString("will_topic", e.WillTopic)
	o.OptUint("will_qos", uint64(e.WillQoS))
	o.OptBool("will_retain", e.WillRetain)
	if e.ReturnCode != nil {
		o.Int("return_code", int64(*e.ReturnCode))
	}
	o.OptBool("session_present", e.SessionPresent)
	o.OptString("topic", e.Topic)
	o.OptUint("qos", uint64(e.QoS))
	o.OptBool("retain", e.Retain)
	o.OptBool("dup", e.Dup)
	o.OptUint("packet_id", uint64(e.PacketID))
	o.OptInt("payload_size", int64(e.PayloadSize))
	if len(e.Topics) > 0 {
		o.Key("topics")
		o.B = append(o.B, '[')
		for i, t := range e.Topics {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			to := jsonw.Open(o.B)
			to.String("filter", t.Filter)
			to.OptUint("qos", uint64(t.QoS))
			o.B, _ = to.Close()
		}
		o.B = append(o.B, ']')
	}
	if len(e.Counts) > 0 {
		o.Key("counts")
		o.B = append(o.B, '[')
		for i, c := range e.Counts {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			co := jsonw.Open(o.B)
			co.String("dir", c.Dir)
			co.String("packet", c.Packet)
			co.Uint("n", c.N)
			o.B, _ = co.Close()
		}
		o.B = append(o.B, ']')
	}
	o.OptStrings("flags", e.Flags)
	return o.Close()
}
