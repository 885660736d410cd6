package http3

import (
	"slices"
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

// message is the shared HTTP/2 form of one side's header fields and body.
func (sd *side) message() *http2.Message {
	m := &http2.Message{Meta: sd.meta, Fields: toHeaders(sd.headers), Status: sd.status,
		Limit: sd.limit, Raw: sd.raw, Wire: sd.wire, Flags: sd.bodyFlags}
	if len(sd.trailers) > 0 {
		m.Trailers = toHeaders(sd.trailers)
	}
	return m
}
