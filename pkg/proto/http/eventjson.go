package http

import (
	"errors"
	"github.com/phonehome/phonehome/internal/jsonw"
	"strconv"
	"time"
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
		b = jsonw.String(b, e.Tunnel)
	}
	if len(e.Flags) > 0 {
		key("flags")
		b = jsonw.Strings(b, e.Flags)
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
	b = jsonw.String(b, r.Method)
	b = append(b, `,"uri":`...)
	b = jsonw.String(b, r.URI)
	b = append(b, `,"version":`...)
	b = jsonw.String(b, r.Version)
	b = appendOptString(b, "host", r.Host)
	b = append(b, `,"path":`...)
	b = jsonw.String(b, r.Path)
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
		b = jsonw.Strings(b, r.Flags)
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
	b = jsonw.String(b, r.Version)
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
		b = jsonw.Strings(b, r.Flags)
	}
	return append(b, '}'), nil
}

func (bd *Body) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if bd.MediaType != "" {
		b = append(b, `"media_type":`...)
		b = jsonw.String(b, bd.MediaType)
		b = append(b, ',')
	}
	if bd.Encoding != "" {
		b = append(b, `"encoding":`...)
		b = jsonw.String(b, bd.Encoding)
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
	b = jsonw.String(b, bd.Kind)
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
				b = jsonw.String(b, p.Name)
				b = append(b, ',')
			}
			if p.Filename != "" {
				b = append(b, `"filename":`...)
				b = jsonw.String(b, p.Filename)
				b = append(b, ',')
			}
			if p.ContentType != "" {
				b = append(b, `"content_type":`...)
				b = jsonw.String(b, p.ContentType)
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
		b = jsonw.Strings(b, bd.Flags)
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
	return jsonw.String(b, s)
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
		b = jsonw.String(b, p.Name)
		b = append(b, `,"value":`...)
		b = jsonw.String(b, p.Value)
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
		b = jsonw.String(b, h.Name)
		b = append(b, `,"value":`...)
		b = jsonw.String(b, h.Value)
		b = append(b, '}')
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
