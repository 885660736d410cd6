package http

import (
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/httpfield"
)

// Event is one HTTP exchange: a request and the response paired with it.
// Either side may be missing (a capture that starts mid-connection, a lost
// response); Frame and Time are those of the first byte of the request, or
// of the response when there is no request.
type Event struct {
	Frame    uint64    `json:"-"`
	Time     time.Time `json:"-"`
	Request  *Request  `json:"request,omitempty"`
	Response *Response `json:"response,omitempty"`
	// Interim lists the 1xx status codes (other than 101) seen before the
	// final response.
	Interim []int `json:"interim,omitempty"`
	// Tunnel is "connect" after a 2xx answer to CONNECT, or the lowercased
	// Upgrade protocol (e.g. "websocket") after a 101; the bytes that follow
	// are not HTTP (see Parser.Tunnel).
	Tunnel string `json:"tunnel,omitempty"`
	// Flags describe pairing problems: "no-response", "no-request",
	// "after-gap" (pairing may be off because bytes were lost earlier).
	Flags []string `json:"flags,omitempty"`

	out    bool // Fields handed the event to the sink: never recycled
	shared bool // forced out while its halves were parsed on: never recycled
}

var _ proto.Lazy = (*Event)(nil)

// Fields implements proto.Lazy. The Decoder emits events whose parts that
// only events show are left for later: the request's Query, each body's
// MediaType, Size, Kind, Form and Parts, and the content decoding of a
// response body (nothing scans response bodies). Fields fills them in and
// returns the event; it must be called before Release. Events that New's
// callback receives are complete already (Fields is then a no-op).
func (ev *Event) Fields() any {
	ev.complete()
	ev.out = true
	return ev
}

// TransientFields completes the event as Fields does but leaves it the
// decoder's: the caller encodes it before Emit returns and keeps nothing
// of it (the engine's event spool, through its AppendJSON), so the
// exchange's structures are recycled for later messages as when no events
// are written.
func (ev *Event) TransientFields() any {
	ev.complete()
	return ev
}

// complete fills in what Fields promises. It is idempotent.
func (ev *Event) complete() {
	if rq := ev.Request; rq != nil {
		if rq.lazyQuery {
			rq.lazyQuery = false
			if rq.RawQuery != "" {
				rq.Query = parseQuery(rq.RawQuery, nil)
			}
		}
		rq.Body.complete()
	}
	if rs := ev.Response; rs != nil {
		rs.Body.complete()
	}
}

// Header is one header field as sent, in wire order and original case
// (the type HTTP/2 and HTTP/3 events use too).
type Header = httpfield.Header

// Param is one name/value pair of a query string, form, or cookie.
type Param = httpfield.Param

// Request is the request half of an Event.
type Request struct {
	Frame   uint64    `json:"frame"`
	Time    time.Time `json:"ts"`
	Method  string    `json:"method"`
	URI     string    `json:"uri"`
	Version string    `json:"version"`
	// Host is the Host header, or the authority of an absolute URI.
	Host      string  `json:"host,omitempty"`
	Path      string  `json:"path"`
	RawQuery  string  `json:"raw_query,omitempty"`
	Query     []Param `json:"query,omitempty"`
	UserAgent string  `json:"user_agent,omitempty"`
	Referer   string  `json:"referer,omitempty"`
	// ContentType is the Content-Type header as sent.
	ContentType string `json:"content_type,omitempty"`
	// ContentLength is the Content-Length header, or -1 when absent or invalid.
	ContentLength int64    `json:"content_length"`
	Headers       []Header `json:"headers"`
	Trailers      []Header `json:"trailers,omitempty"`
	Cookies       []Param  `json:"cookies,omitempty"`
	Body          *Body    `json:"body,omitempty"`
	// Flags: "bad-request-line", "bad-header", "header-limit",
	// "header-count-limit", "bad-content-length", "bad-chunk",
	// "incomplete", "gap".
	Flags []string `json:"flags,omitempty"`

	lazyQuery bool     // Query is still to be parsed from RawQuery
	spare     []Header // array for Headers, from a recycled request
}

// Response is the response half of an Event.
type Response struct {
	Frame         uint64    `json:"frame"`
	Time          time.Time `json:"ts"`
	Version       string    `json:"version"`
	Status        int       `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	Server        string    `json:"server,omitempty"`
	Location      string    `json:"location,omitempty"`
	ContentType   string    `json:"content_type,omitempty"`
	ContentLength int64     `json:"content_length"`
	Headers       []Header  `json:"headers"`
	Trailers      []Header  `json:"trailers,omitempty"`
	// SetCookies holds the name=value of each Set-Cookie header.
	SetCookies []Param `json:"set_cookies,omitempty"`
	Body       *Body   `json:"body,omitempty"`
	// Flags: as for Request, with "bad-status-line".
	Flags []string `json:"flags,omitempty"`

	spare []Header // array for Headers, from a recycled response
}

// Body is a message body after de-chunking and content decoding.
type Body struct {
	// MediaType is the lowercased Content-Type without parameters.
	MediaType string `json:"media_type,omitempty"`
	// Encoding is the Content-Encoding as sent.
	Encoding string `json:"encoding,omitempty"`
	Chunked  bool   `json:"chunked,omitempty"`
	// WireSize counts the body bytes that went by (after de-chunking, before
	// content decoding), including those beyond Limits.MaxBody and gaps.
	WireSize int64 `json:"wire_size"`
	// Size is len(Data).
	Size int `json:"size"`
	// Data is the decoded body, at most Limits.MaxDecoded bytes. It is not
	// written to JSON; the leak scanner reads it.
	Data []byte `json:"-"`
	// Kind classifies Data: "form", "multipart", "json", "text" or "binary".
	Kind string `json:"kind"`
	// Form holds urlencoded fields, and the non-file parts of a multipart
	// body (values capped at 4 KiB).
	Form []Param `json:"form,omitempty"`
	// Parts lists the parts of a multipart body.
	Parts []Part `json:"parts,omitempty"`
	// Flags: "truncated" (MaxBody reached), "decoded-limit" (MaxDecoded
	// reached), "bomb" (MaxDecoded reached at a ratio over 100:1),
	// "decode-error", "unknown-encoding", "gap", "incomplete".
	Flags []string `json:"flags,omitempty"`

	todo        todo   // work left for complete
	contentType string // the message's Content-Type, for fill
	maxDecoded  int    // Limits.MaxDecoded, for decode
}

// todo lists the steps of a body that are still to be done.
type todo uint8

const (
	todoDecode todo = 1 << iota // Data holds the raw bytes: undo the content codings
	todoFill                    // MediaType, Size, Kind, Form and Parts are to be filled
)

// decode undoes the content codings of a body collected raw, keeping the
// raw buffer when nothing was decoded and handing it back otherwise.
func (b *Body) decode() {
	if b == nil || b.todo&todoDecode == 0 {
		return
	}
	b.todo &^= todoDecode
	raw := b.Data
	data, flags := decodeBody(b.Encoding, raw, b.maxDecoded)
	if !sameBuf(data, raw) {
		putBuf(raw)
	}
	b.Data = data
	for _, f := range flags {
		addFlag(&b.Flags, f)
	}
}

// complete decodes the body if that is still to be done and fills in the
// fields derived from its bytes.
func (b *Body) complete() {
	if b == nil {
		return
	}
	b.decode()
	if b.todo&todoFill != 0 {
		b.todo &^= todoFill
		fillBody(b, b.contentType)
	}
}

// Part is one part of a multipart body.
type Part struct {
	Name        string `json:"name,omitempty"`
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	Data        []byte `json:"-"`
}

// Release drops the decoded body bytes of both sides (Body.Data and the
// parts' Data), handing their buffers back to the parser's pools for later
// messages. Everything else in the event stays valid; a consumer calls it
// once it has read the bodies and must not keep slices of them.
func (ev *Event) Release() {
	for _, b := range [2]*Body{ev.requestBody(), ev.responseBody()} {
		if b == nil {
			continue
		}
		putBuf(b.Data)
		b.Data = nil
		b.todo = 0 // nothing left to decode or classify
		for i := range b.Parts {
			b.Parts[i].Data = nil
		}
	}
}

func (ev *Event) requestBody() *Body {
	if ev.Request == nil {
		return nil
	}
	return ev.Request.Body
}

func (ev *Event) responseBody() *Body {
	if ev.Response == nil {
		return nil
	}
	return ev.Response.Body
}
