package http

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the event's JSON object, byte for byte what
// encoding/json writes for it from the struct tags (TestAppendJSON and
// FuzzParser compare the two). The engine's event spool uses it
// (audit.JSONAppender): HTTP events were the largest share of the
// reflective encoding of json and ndjson output.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, '{')
	comma := false
	key := func(k string) {
		if comma {
			b = append(b, ',')
		}
		comma = true
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
	}
	if e.Request != nil {
		key("request")
		if b, err = e.Request.appendJSON(b); err != nil {
			return nil, err
		}
	}
	if e.Response != nil {
		key("response")
		if b, err = e.Response.appendJSON(b); err != nil {
			return nil, err
		}
	}
	if len(e.Interim) > 0 {
		key("interim")
		b = append(b, '[')
		for i, n := range e.Interim {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ']')
	}
	if e.Tunnel != "" {
		key("tunnel")
		b = appendString(b, e.Tunnel)
	}
	if len(e.Flags) > 0 {
		key("flags")
		b = appendStrings(b, e.Flags)
	}
	return append(b, '}'), nil
}

func (r *Request) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"frame":`...)
	b = strconv.AppendUint(b, r.Frame, 10)
	b = append(b, `,"ts":`...)
	if b, err = appendTime(b, r.Time); err != nil {
		return nil, err
	}
	b = append(b, `,"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"uri":`...)
	b = appendString(b, r.URI)
	b = append(b, `,"version":`...)
	b = appendString(b, r.Version)
	b = appendOptString(b, "host", r.Host)
	b = append(b, `,"path":`...)
	b = appendString(b, r.Path)
	b = appendOptString(b, "raw_query", r.RawQuery)
	b = appendOptParams(b, "query", r.Query)
	b = appendOptString(b, "user_agent", r.UserAgent)
	b = appendOptString(b, "referer", r.Referer)
	b = appendOptString(b, "content_type", r.ContentType)
	b = append(b, `,"content_length":`...)
	b = strconv.AppendInt(b, r.ContentLength, 10)
	b = append(b, `,"headers":`...)
	b = appendHeaders(b, r.Headers)
	if len(r.Trailers) > 0 {
		b = append(b, `,"trailers":`...)
		b = appendHeaders(b, r.Trailers)
	}
	b = appendOptParams(b, "cookies", r.Cookies)
	if r.Body != nil {
		b = append(b, `,"body":`...)
		b = r.Body.appendJSON(b)
	}
	if len(r.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = appendStrings(b, r.Flags)
	}
	return append(b, '}'), nil
}

func (r *Response) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"frame":`...)
	b = strconv.AppendUint(b, r.Frame, 10)
	b = append(b, `,"ts":`...)
	if b, err = appendTime(b, r.Time); err != nil {
		return nil, err
	}
	b = append(b, `,"version":`...)
	b = appendString(b, r.Version)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = appendOptString(b, "reason", r.Reason)
	b = appendOptString(b, "server", r.Server)
	b = appendOptString(b, "location", r.Location)
	b = appendOptString(b, "content_type", r.ContentType)
	b = append(b, `,"content_length":`...)
	b = strconv.AppendInt(b, r.ContentLength, 10)
	b = append(b, `,"headers":`...)
	b = appendHeaders(b, r.Headers)
	if len(r.Trailers) > 0 {
		b = append(b, `,"trailers":`...)
		b = appendHeaders(b, r.Trailers)
	}
	b = appendOptParams(b, "set_cookies", r.SetCookies)
	if r.Body != nil {
		b = append(b, `,"body":`...)
		b = r.Body.appendJSON(b)
	}
	if len(r.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = appendStrings(b, r.Flags)
	}
	return append(b, '}'), nil
}

func (bd *Body) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if bd.MediaType != "" {
		b = append(b, `"media_type":`...)
		b = appendString(b, bd.MediaType)
		b = append(b, ',')
	}
	if bd.Encoding != "" {
		b = append(b, `"encoding":`...)
		b = appendString(b, bd.Encoding)
		b = append(b, ',')
	}
	if bd.Chunked {
		b = append(b, `"chunked":true,`...)
	}
	b = append(b, `"wire_size":`...)
	b = strconv.AppendInt(b, bd.WireSize, 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(bd.Size), 10)
	b = append(b, `,"kind":`...)
	b = appendString(b, bd.Kind)
	b = appendOptParams(b, "form", bd.Form)
	if len(bd.Parts) > 0 {
		b = append(b, `,"parts":[`...)
		for i, p := range bd.Parts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if p.Name != "" {
				b = append(b, `"name":`...)
				b = appendString(b, p.Name)
				b = append(b, ',')
			}
			if p.Filename != "" {
				b = append(b, `"filename":`...)
				b = appendString(b, p.Filename)
				b = append(b, ',')
			}
			if p.ContentType != "" {
				b = append(b, `"content_type":`...)
				b = appendString(b, p.ContentType)
				b = append(b, ',')
			}
			b = append(b, `"size":`...)
			b = strconv.AppendInt(b, int64(p.Size), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(bd.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = appendStrings(b, bd.Flags)
	}
	return append(b, '}')
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return appendString(b, s)
}

func appendOptParams(b []byte, key string, ps []Param) []byte {
	if len(ps) == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, p.Name)
		b = append(b, `,"value":`...)
		b = appendString(b, p.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendHeaders writes null for nil, as encoding/json does.
func appendHeaders(b []byte, hs []Header) []byte {
	if hs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, h.Name)
		b = append(b, `,"value":`...)
		b = appendString(b, h.Value)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

var errJSONTime = errors.New("http: time outside the years 0-9999 has no JSON form")

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y >= 10000 {
		return nil, errJSONTime
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendString quotes s as encoding/json does by default (HTML-safe:
// <, > and & escaped; U+2028, U+2029 escaped; invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
