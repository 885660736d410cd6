package http3

import (
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/proto/http2"
	"github.com/phonehome/phonehome/pkg/qpack"
)

// EventType is the "type" of HTTP/3 events: as for HTTP/1 and HTTP/2, an
// http event; its version is "HTTP/3".
const EventType = "http"

// Event is one HTTP/3 request stream: the request and the response on it.
// Request and Response are pkg/proto/http2's types, so the three HTTP
// versions read alike in reports. Frame and Time are those of the request's
// HEADERS frame, or of the response when there is none.
type Event struct {
	Frame    uint64          `json:"-"`
	Time     time.Time       `json:"-"`
	Version  string          `json:"version"`
	StreamID uint64          `json:"stream_id"`
	Request  *http2.Request  `json:"request,omitempty"`
	Response *http2.Response `json:"response,omitempty"`
	Interim  []int           `json:"interim,omitempty"`
	// Flags: "no-response", "incomplete" (the connection ended first),
	// "gap" (stream bytes were lost: that side ends there), "qpack-blocked"
	// (a header section still waited for the encoder stream at the end),
	// "qpack-desync" (a header section could not be decoded: an encoder
	// stream gap, no SETTINGS, a malformed section; its fields are
	// missing), "stream-limit" (emitted early to bound memory),
	// "frame-too-large" (a HEADERS frame over Limits.MaxHeaderBlock was
	// skipped).
	Flags []string `json:"flags,omitempty"`
}

// ScanFields calls yield with each request value the leak scanner reads:
// the same as for an HTTP/2 request.
func (e *Event) ScanFields(yield func(http2.Field)) {
	(&http2.Event{Request: e.Request}).ScanFields(yield)
}

// Codings lists the content codings undone on the request body, outermost
// first ("gzip"), for the leak scanner's encoding chain.
func (e *Event) Codings() []string {
	if e.Request == nil || e.Request.Body == nil {
		return nil
	}
	return codings(e.Request.Body.Encoding)
}

func codings(enc string) []string {
	var out []string
	for _, c := range strings.Split(strings.ToLower(enc), ",") {
		if c = strings.TrimSpace(c); c != "" && c != "identity" {
			out = append(out, c)
		}
	}
	return out
}

func addFlag(flags *[]string, f string) {
	if !slices.Contains(*flags, f) {
		*flags = append(*flags, f)
	}
}

func toHeaders(fields []qpack.Field) []http2.Header {
	out := make([]http2.Header, 0, len(fields))
	for _, f := range fields {
		out = append(out, http2.Header{Name: f.Name, Value: f.Value})
	}
	return out
}

func pseudo(fields []qpack.Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func buildRequest(sd *side, maxBody int) *http2.Request {
	r := &http2.Request{Frame: sd.meta.Frame, Time: sd.meta.Time, Headers: []http2.Header{}}
	for _, f := range sd.headers {
		switch f.Name {
		case ":method":
			r.Method = f.Value
		case ":scheme":
			r.Scheme = f.Value
		case ":authority":
			r.Authority = f.Value
		case ":path":
			r.URI = f.Value
		default:
			if strings.HasPrefix(f.Name, ":") {
				continue
			}
			r.Headers = append(r.Headers, http2.Header{Name: f.Name, Value: f.Value})
			switch f.Name {
			case "host":
				if r.Authority == "" {
					r.Authority = f.Value
				}
			case "user-agent":
				r.UserAgent = f.Value
			case "content-type":
				r.ContentType = f.Value
			case "cookie":
				r.Cookies = parseCookies(f.Value, r.Cookies)
			}
		}
	}
	if len(sd.trailers) > 0 {
		r.Trailers = toHeaders(sd.trailers)
	}
	r.Path, r.RawQuery = r.URI, ""
	if i := strings.IndexByte(r.URI, '?'); i >= 0 {
		r.Path, r.RawQuery = r.URI[:i], r.URI[i+1:]
	}
	r.Query = parseQuery(r.RawQuery)
	if sd.limit {
		r.Flags = append(r.Flags, "header-limit")
	}
	r.Body = buildBody(sd, r.Headers, r.ContentType, maxBody)
	return r
}

func buildResponse(sd *side, maxBody int) *http2.Response {
	r := &http2.Response{Frame: sd.meta.Frame, Time: sd.meta.Time, Status: sd.status, Headers: []http2.Header{}}
	for _, f := range sd.headers {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		r.Headers = append(r.Headers, http2.Header{Name: f.Name, Value: f.Value})
		switch f.Name {
		case "content-type":
			r.ContentType = f.Value
		case "server":
			r.Server = f.Value
		}
	}
	if len(sd.trailers) > 0 {
		r.Trailers = toHeaders(sd.trailers)
	}
	if sd.limit {
		r.Flags = append(r.Flags, "header-limit")
	}
	r.Body = buildBody(sd, r.Headers, r.ContentType, maxBody)
	return r
}

// buildBody decodes one side's DATA; nil when there was none.
func buildBody(sd *side, headers []http2.Header, contentType string, maxBody int) *http2.Body {
	if sd.wire == 0 && len(sd.bodyFlags) == 0 {
		return nil
	}
	b := &http2.Body{WireSize: sd.wire, Flags: sd.bodyFlags}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		b.MediaType = mt
	} else if contentType != "" {
		b.MediaType = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	for _, h := range headers {
		if h.Name == "content-encoding" {
			b.Encoding = h.Value
		}
	}
	data, flag := http2.DecodeBody(b.Encoding, sd.raw, maxBody)
	if flag != "" {
		addFlag(&b.Flags, flag)
	}
	b.Data, b.Size = data, len(data)
	return b
}

func parseQuery(q string) []http2.Param {
	var out []http2.Param
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, http2.Param{Name: unescape(k), Value: unescape(v)})
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func parseCookies(v string, out []http2.Param) []http2.Param {
	for _, c := range strings.Split(v, ";") {
		if c = strings.TrimSpace(c); c != "" {
			k, val, _ := strings.Cut(c, "=")
			out = append(out, http2.Param{Name: k, Value: val})
		}
	}
	return out
}
