package http

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func checkAppendJSON(t *testing.T, e *Event) {
	t.Helper()
	want, werr := json.Marshal(e)
	got, gerr := e.AppendJSON(nil)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("encoding/json error %v, AppendJSON error %v", werr, gerr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON differs from encoding/json:\ngot  %s\nwant %s", got, want)
	}
}

// TestAppendJSON: byte for byte encoding/json's output, for every event of
// the parser's cases and for odd strings in every field.
func TestAppendJSON(t *testing.T) {
	for _, tc := range cases() {
		evs, _ := run(tc, nil)
		for _, e := range evs {
			checkAppendJSON(t, e)
		}
	}
	odd := []string{"", "a\"b\\c", "<p>&amp;</p>", "\t\n\r\b\f\x00\x1f\x7f", "\u2028\u2029", "\xff\xc3 bad", "é 中 😀"}
	ts := time.Date(2026, 3, 14, 9, 26, 53, 123456789, time.FixedZone("x", 3600))
	for _, s := range odd {
		p := []Param{{Name: s, Value: s}}
		h := []Header{{Name: s, Value: s}}
		bd := &Body{MediaType: s, Encoding: s, Chunked: true, WireSize: -1, Size: 3, Kind: s, Form: p,
			Parts: []Part{{Name: s, Filename: s, ContentType: s, Size: 7}, {}}, Flags: []string{s}}
		checkAppendJSON(t, &Event{
			Request: &Request{Frame: 1, Time: ts, Method: s, URI: s, Version: s, Host: s, Path: s, RawQuery: s, Query: p,
				UserAgent: s, Referer: s, ContentType: s, ContentLength: -1, Headers: h, Trailers: h, Cookies: p, Body: bd, Flags: []string{s}},
			Response: &Response{Frame: 2, Time: ts, Version: s, Status: 200, Reason: s, Server: s, Location: s, ContentType: s,
				ContentLength: 5, Headers: []Header{}, Trailers: h, SetCookies: p, Body: &Body{}, Flags: []string{s}},
			Interim: []int{100, 103}, Tunnel: s, Flags: []string{s}})
	}
	checkAppendJSON(t, &Event{})
	checkAppendJSON(t, nil)
	checkAppendJSON(t, &Event{Request: &Request{}, Response: &Response{}})
	checkAppendJSON(t, &Event{Request: &Request{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if strings.Contains(string(mustAppend(t, &Event{Response: &Response{}})), `"headers":null`) == false {
		t.Error("nil headers must be null, as encoding/json writes them")
	}
}

func mustAppend(t *testing.T, e *Event) []byte {
	b, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkEventJSON(b *testing.B) {
	up, down := benchStream()
	var evs []*Event
	p := New(Limits{}, func(e *Event) { evs = append(evs, e) })
	feedSegments(p, up, down)
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range evs {
				json.Marshal(e)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			for _, e := range evs {
				buf, _ = e.AppendJSON(buf[:0])
			}
		}
	})
}
