package mail

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.String("protocol", e.Protocol)
	o.String("kind", e.Kind)
	o.OptString("tag", e.Tag)
	o.OptString("command", e.Command)
	o.OptString("argument", e.Argument)
	o.OptString("text", e.Text)
	o.OptString("reply", e.Reply)
	o.OptString("address", e.Address)
	o.OptString("hostname", e.Hostname)
	o.OptString("mechanism", e.Mechanism)
	o.OptString("user", e.User)
	o.OptBool("password_present", e.PasswordPresent)
	if m := e.Message; m != nil {
		o.Key("message")
		mo := jsonw.Open(o.B)
		mo.Int("size", m.Size)
		mo.OptString("from", m.From)
		mo.OptString("to", m.To)
		mo.OptString("subject", m.Subject)
		mo.OptString("content_type", m.ContentType)
		mo.OptStrings("flags", m.Flags)
		o.B, _ = mo.Close()
	}
	o.OptStrings("flags", e.Flags)
	return o.Close()
}
