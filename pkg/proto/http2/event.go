package http2

import (
	"time"

	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/internal/httpfield"
)

// EventType is the "type" of HTTP/2 events, as for HTTP/1: an HTTP/2
// request is an http event whose version is "HTTP/2".
const EventType = "http"

// Event is one HTTP/2 stream: the request and the response on it. Either
// may be missing (a capture that starts mid-connection, a reset stream, a
// header block the decoder could not read). Frame and Time are those of
// the request's HEADERS frame, or of the response when there is none.
type Event struct {
	Frame    uint64    `json:"-"`
	Time     time.Time `json:"-"`
	StreamID uint32    `json:"stream_id"`
	Request  *Request  `json:"request,omitempty"`
	Response *Response `json:"response,omitempty"`
	// Interim lists the 1xx status codes seen before the final response.
	Interim []int `json:"interim,omitempty"`
	// DNS holds the DNS messages of a DNS-over-HTTPS exchange (RFC 8484):
	// the GET ?dns= parameter or an application/dns-message body. They are
	// not written with the http event; the engine emits them as dns events.
	DNS []DNSMessage `json:"-"`
	// Flags: "push" (a server push: Request is the PUSH_PROMISE),
	// "upgrade" (stream 1 after an HTTP/1.1 Upgrade: h2c, its request was
	// HTTP/1.1), "reset" (RST_STREAM with Reset as the error code),
	// "no-response", "incomplete" (the connection ended first),
	// "after-gap" (bytes were lost in that direction before this stream's
	// headers: the header table restarted empty, so header fields are exact
	// or missing, never guessed), "hpack-desync" (a header block referred
	// to table entries lost with a gap, or did not decode: the fields from
	// the failure on are missing and the table restarts), "stream-limit" (the stream was ended early
	// to bound memory).
	Flags []string `json:"flags,omitempty"`
	Reset string   `json:"reset,omitempty"`
}

// Header is one header field as sent (HTTP/2 field names are lowercase);
// the type HTTP/1.x events use too.
type Header = httpfield.Header

// Param is one name/value pair of a query string or cookie.
type Param = httpfield.Param

// Request is the client half of a stream.
type Request struct {
	Frame  uint64    `json:"frame"`
	Time   time.Time `json:"ts"`
	Method string    `json:"method"`
	Scheme string    `json:"scheme,omitempty"`
	// Authority is the :authority pseudo-header, or the Host header.
	Authority string `json:"authority,omitempty"`
	// URI is the :path pseudo-header as sent; Path and RawQuery split it.
	URI         string   `json:"uri"`
	Path        string   `json:"path"`
	RawQuery    string   `json:"raw_query,omitempty"`
	Query       []Param  `json:"query,omitempty"`
	UserAgent   string   `json:"user_agent,omitempty"`
	ContentType string   `json:"content_type,omitempty"`
	Headers     []Header `json:"headers"`
	Trailers    []Header `json:"trailers,omitempty"`
	Cookies     []Param  `json:"cookies,omitempty"`
	Body        *Body    `json:"body,omitempty"`
	// Flags: "header-limit" (fields past Limits.MaxHeaderList dropped),
	// FlagParamLimit (query or cookie pairs past the 256th dropped).
	Flags []string `json:"flags,omitempty"`
}

// FlagParamLimit flags a request whose query or cookie pairs were cut at
// maxParams (counted as http2_param_limit).
const FlagParamLimit = "param-limit"

// Response is the server half of a stream.
type Response struct {
	Frame       uint64    `json:"frame"`
	Time        time.Time `json:"ts"`
	Status      int       `json:"status"`
	ContentType string    `json:"content_type,omitempty"`
	Server      string    `json:"server,omitempty"`
	Headers     []Header  `json:"headers"`
	Trailers    []Header  `json:"trailers,omitempty"`
	Body        *Body     `json:"body,omitempty"`
	Flags       []string  `json:"flags,omitempty"`
}

// Body is the DATA of one side of a stream after content decoding.
type Body struct {
	// MediaType is the lowercased Content-Type without parameters.
	MediaType string `json:"media_type,omitempty"`
	// Encoding is the Content-Encoding as sent.
	Encoding string `json:"encoding,omitempty"`
	// WireSize counts the DATA bytes that went by (padding excluded),
	// including those beyond Limits.MaxBody and lost in gaps.
	WireSize int64 `json:"wire_size"`
	// Size is len(Data).
	Size int `json:"size"`
	// Data is the decoded body, at most Limits.MaxBody bytes; not written
	// to JSON, the leak scanner reads it.
	Data []byte `json:"-"`
	// Flags: "truncated" (MaxBody reached), "decode-error",
	// "unknown-encoding", "gap" (DATA bytes were lost), "frame-too-large"
	// (a DATA frame over Limits.MaxFrame was skipped).
	Flags []string `json:"flags,omitempty"`
}

// DNSMessage is one DNS message carried by DNS over HTTPS. Message aliases
// the Event's own copy of the bytes; Err is dns.Parse's error.
type DNSMessage struct {
	// Dir is "up" (the query) or "down" (the answer).
	Dir     string
	Frame   uint64
	Time    time.Time
	Message *dns.Message
	Err     error
}

// Field is one decoded value for the leak scanner: where it was (the same
// locations as HTTP/1: "url.path", "url.query", "header:<name>", "body")
// and its content type when it is a body.
type Field struct {
	Location    string
	Data        []byte
	ContentType string
	Page        string // the request's referer: the page it was sent from (proto.Field.Page)
}

// ScanFields calls yield with each request value the leak scanner reads,
// the same values it reads in an HTTP/1 request: the path, the query, each
// header other than framing and content negotiation, and the body.
// Pseudo-headers are covered by path, query and the server name.
func (e *Event) ScanFields(yield func(Field)) {
	rq := e.Request
	if rq == nil {
		return
	}
	page := ""
	for _, h := range rq.Headers {
		if h.Name == "referer" {
			page = h.Value
		}
	}
	if rq.Path != "" {
		yield(Field{Location: "url.path", Data: []byte(rq.Path), Page: page})
	}
	if rq.RawQuery != "" {
		yield(Field{Location: "url.query", Data: []byte(rq.RawQuery), Page: page})
	}
	for _, h := range rq.Headers {
		switch h.Name {
		case "host", "content-length", "content-type", "accept", "accept-encoding", "connection", "accept-language":
			continue
		}
		yield(Field{Location: "header:" + h.Name, Data: []byte(h.Value), Page: page})
	}
	if b := rq.Body; b != nil && len(b.Data) > 0 {
		yield(Field{Location: "body", Data: b.Data, ContentType: rq.ContentType, Page: page})
	}
}
