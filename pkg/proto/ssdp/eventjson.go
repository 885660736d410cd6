package ssdp

import "github.com/phonehome/phonehome/internal/jsonw"

// AppendJSON appends the event as encoding/json marshals it, without
// reflection (audit.JSONAppender; TestEventAppendersMatchEncodingJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	o := jsonw.Open(b)
	o.String("kind", e.Kind)
	o.OptInt("status", int64(e.Status))
	o.OptString("host", e.Host)
	o.OptString("server", e.Server)
	o.OptString("user_agent", e.UserAgent)
	o.OptString("usn", e.USN)
	o.OptString("nt", e.NT)
	o.OptString("nts", e.NTS)
	o.OptString("st", e.ST)
	o.OptString("location", e.Location)
	o.OptString("cache_control", e.CacheControl)
	o.OptString("man", e.MAN)
	o.OptString("mx", e.MX)
	o.OptString("friendly_name", e.FriendlyName)
	o.Strings("headers", e.Headers)
	o.OptBool("partial", e.Partial)
	return o.Close()
}
