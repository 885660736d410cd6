package http

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/pkg/proto"
)

// benchStream is a keep-alive exchange of small requests and mixed
// responses (length, chunked, gzip), fed in 1460-byte segments.
func benchStream() (up, down []byte) {
	var u, d strings.Builder
	page := strings.Repeat("<p>lorem ipsum dolor sit amet</p>\n", 200)
	for i := range 50 {
		u.WriteString("GET /api/v1/items?id=42&device=abc HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\nCookie: sid=0123456789abcdef\r\n\r\n")
		switch i % 3 {
		case 0:
			d.WriteString(resp("200 OK", "Content-Type: text/html\r\nServer: bench\r\n", page))
		case 1:
			d.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(jsonBody, jsonBody, page[:1000]))
		default:
			d.WriteString(resp("200 OK", "Content-Type: text/html\r\nContent-Encoding: gzip\r\n", gz(page)))
		}
	}
	return []byte(u.String()), []byte(d.String())
}

// BenchmarkParser releases each event as the engine does, so body buffers
// are reused across messages and connections.
func BenchmarkParser(b *testing.B) {
	up, down := benchStream()
	b.SetBytes(int64(len(up) + len(down)))
	b.ReportAllocs()
	for b.Loop() {
		p := New(Limits{}, (*Event).Release)
		feedSegments(p, up, down)
		p.End(proto.Meta{})
	}
}

// BenchmarkParserLargeBodies: uploads and downloads of 200 KiB to 1 MiB,
// plain and gzip, the bodies that dominated allocation on real traffic.
func BenchmarkParserLargeBodies(b *testing.B) {
	var u, d strings.Builder
	for i := range 8 {
		n := (200 + 100*i) << 10
		body := strings.Repeat("0123456789abcdef", n/16)
		u.WriteString(fmt.Sprintf("POST /up HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n", len(body)) + body)
		if i%2 == 0 {
			d.WriteString(resp("200 OK", "Content-Type: application/octet-stream\r\n", body))
		} else {
			d.WriteString(resp("200 OK", "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n", gz(body)))
		}
	}
	up, down := []byte(u.String()), []byte(d.String())
	b.SetBytes(int64(len(up) + len(down)))
	b.ReportAllocs()
	for b.Loop() {
		p := New(Limits{}, (*Event).Release)
		feedSegments(p, up, down)
		p.End(proto.Meta{})
	}
}

func feedSegments(p *Parser, up, down []byte) {
	const mss = 1460
	for len(up) > 0 || len(down) > 0 {
		n := min(len(up), mss)
		p.Data(proto.ToServer, up[:n], proto.Meta{})
		up = up[n:]
		for range 4 {
			n = min(len(down), mss)
			p.Data(proto.ToClient, down[:n], proto.Meta{})
			down = down[n:]
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	in := []byte("GET /index.html HTTP/1.1\r\n")
	b.ReportAllocs()
	for b.Loop() {
		Detect(in)
	}
}

// corpusHTTP returns the HTTP/1 connections of every shared-corpus capture
// (those whose first bytes either way Detect as HTTP), as pkg/flow hands
// them to decoders, and their bytes in all; it skips b without the corpus.
func corpusHTTP(b testing.TB) ([][]chunk, int64) {
	b.Helper()
	var conns [][]chunk
	var n int64
	for _, e := range corpus.All(b) {
		for _, cs := range pcaptest.Streams(b, e.Path) {
			var first [2][]byte
			for _, c := range cs {
				if first[c.Dir] == nil && len(c.Data) > 0 {
					first[c.Dir] = c.Data
				}
			}
			if !Detect(first[proto.ToServer]) && !Detect(first[proto.ToClient]) {
				continue
			}
			conns = append(conns, cs)
			for _, c := range cs {
				n += int64(len(c.Data))
			}
		}
	}
	if len(conns) == 0 {
		b.Skip("no HTTP/1 connections in the corpus")
	}
	return conns, n
}

// eventSink is a proto.Sink that drops everything, as the engine does in
// runs that write no events, or, with fields, takes each event's event form
// (Event.Fields) as the engine does when it writes events.
// eventSink takes the event forms (fields) and writes their JSON into
// *buf (buf set), made by TransientFields instead of Fields (transient).
type eventSink struct {
	fields, transient bool
	buf               *[]byte
}

func (s eventSink) Emit(_ string, _ proto.Meta, f any) {
	lz, ok := f.(proto.Lazy)
	if !ok || !s.fields {
		return
	}
	ev, _ := f.(*Event)
	if s.transient && ev != nil {
		f = ev.TransientFields()
	} else {
		f = lz.Fields()
	}
	if a, ok := f.(interface{ AppendJSON([]byte) ([]byte, error) }); ok && s.buf != nil {
		*s.buf, _ = a.AppendJSON((*s.buf)[:0])
	}
}
func (eventSink) Scan(proto.Field, proto.Meta)              {}
func (eventSink) Finding(proto.Finding)                     {}
func (eventSink) Name(proto.Name)                           {}
func (eventSink) Switch(string, []byte, []byte, proto.Meta) {}

// unreadEventSink is an eventSink that says it never calls Event.Fields,
// as the engine's sessions do when no events are written.
type unreadEventSink struct{ eventSink }

func (unreadEventSink) EventFieldsUnread() bool { return true }

// BenchmarkDecoderCorpus decodes every HTTP/1 connection of the shared
// corpus (real requests and responses: bodies, encodings, pipelining,
// gaps) through one Spec's decoders, as the engine does: "no-events" drops
// the events, "events" makes each event's event form (events kept in
// memory), "events-json" writes its JSON too, "spooled" completes each with
// TransientFields and writes its JSON (json, ndjson: the engine's spool,
// whose exchanges are then recycled), and "table" is the engine's path when
// it writes no events (the default table): the sink says it reads no event
// fields, and ended decoders are recycled.
func BenchmarkDecoderCorpus(b *testing.B) {
	conns, n := corpusHTTP(b)
	for _, mode := range []struct {
		name                           string
		fields, json, transient, table bool
	}{{"no-events", false, false, false, false}, {"events", true, false, false, false}, {"events-json", true, true, false, false},
		{"spooled", true, true, true, false}, {"table", false, false, false, true}} {
		b.Run(mode.name, func(b *testing.B) {
			sp := Spec(Limits{})
			sink := eventSink{fields: mode.fields, transient: mode.transient}
			if mode.json {
				sink.buf = new([]byte)
			}
			var s proto.Sink = sink
			if mode.table {
				s = unreadEventSink{sink}
			}
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				for _, cs := range conns {
					d := sp.New(s).(proto.StreamDecoder)
					for _, c := range cs {
						if c.Gap > 0 {
							d.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
						} else {
							d.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
						}
					}
					d.End(proto.Meta{})
					if r, ok := d.(interface{ Recycle() }); ok && mode.table {
						r.Recycle()
					}
				}
			}
		})
	}
}

// BenchmarkEventJSONCorpus writes the events of every HTTP/1 connection of
// the shared corpus with AppendJSON (real header sets, cookies, queries,
// bodies' kinds and flags).
func BenchmarkEventJSONCorpus(b *testing.B) {
	conns, _ := corpusHTTP(b)
	var evs []*Event
	for _, cs := range conns {
		p := New(Limits{}, func(e *Event) { e.Release(); evs = append(evs, e) })
		for _, c := range cs {
			if c.Gap > 0 {
				p.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
			} else {
				p.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
			}
		}
		p.End(proto.Meta{})
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for _, e := range evs {
			buf, _ = e.AppendJSON(buf[:0])
		}
	}
}

// BenchmarkInflateCorpus content-decodes the gzip'd and deflated response
// bodies of the shared corpus's HTTP/1 connections with the decoders
// inflate uses and with the standard library's alone.
func BenchmarkInflateCorpus(b *testing.B) {
	conns, _ := corpusHTTP(b)
	type body struct {
		coding string
		raw    []byte
	}
	var bodies []body
	var size int64
	for _, cs := range conns {
		p := New(Limits{}, func(e *Event) {
			if rs := e.Response; rs != nil && rs.Body != nil && rs.Body.todo&todoDecode != 0 {
				if c := strings.ToLower(rs.Body.Encoding); c == "gzip" || c == "x-gzip" || c == "deflate" {
					bodies = append(bodies, body{c, bytes.Clone(rs.Body.Data)})
					size += int64(len(rs.Body.Data))
				}
			}
			e.Release()
		})
		p.lazy = true
		for _, c := range cs {
			if c.Gap > 0 {
				p.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
			} else {
				p.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
			}
		}
		p.End(proto.Meta{})
	}
	if len(bodies) == 0 {
		b.Skip("no content-coded response bodies in the corpus")
	}
	for _, bc := range []struct {
		name string
		rs   *readers
	}{{"klauspost", &fastReaders}, {"std", &stdReaders}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, bd := range bodies {
					out, _, _ := inflateWith(bc.rs, bd.coding, bd.raw, 4<<20)
					putBuf(out)
				}
			}
		})
	}
}
