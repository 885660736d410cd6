package ftp

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e == nil {
		return append(b, "null"...), nil
	}
	o := jsonw.Open(b)
	o.String("kind", e.Kind)
	o.OptString("command", e.Command)
	o.OptString("argument", e.Argument)
	o.OptString("reply", e.Reply)
	o.OptString("text", e.Text)
	o.OptString("user", e.User)
	o.OptBool("password_present", e.PasswordPresent)
	o.OptStrings("flags", e.Flags)
	return o.Close()
}
