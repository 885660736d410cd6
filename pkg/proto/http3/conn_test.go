package http3

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http2"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// appendVarint appends a QUIC variable-length integer.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func frame(typ uint64, payload []byte) []byte {
	b := appendVarint(nil, typ)
	b = appendVarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// prefixInt appends a QPACK/HPACK prefixed integer (RFC 7541 5.1).
func prefixInt(b []byte, flags byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, flags|byte(v))
	}
	b = append(b, flags|byte(max))
	v -= max
	for v >= 128 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// staticSection encodes fields as literal field lines with literal names
// (no table at all): Required Insert Count 0, Base 0.
func staticSection(kv ...string) []byte {
	b := []byte{0, 0}
	for i := 0; i+1 < len(kv); i += 2 {
		b = prefixInt(b, 0x20, 3, uint64(len(kv[i])))
		b = append(b, kv[i]...)
		b = prefixInt(b, 0, 7, uint64(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}

func settings(capacity uint64) []byte {
	p := appendVarint(nil, settingQPACKCapacity)
	p = appendVarint(p, capacity)
	p = appendVarint(p, 0x21) // a reserved (grease) setting
	p = appendVarint(p, 7)
	return append([]byte{uniControl}, frame(frameSettings, p)...)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 9204 appendix B.2: the client's encoder stream inserts :authority
// and :path; the section refers to both.
var (
	encoderB2 = append([]byte{uniEncoder}, unhex("3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468")...)
	sectionB2 = unhex("03811011")
)

type op struct {
	dir  proto.Dir
	id   uint64
	data []byte
	fin  bool
	gap  uint64
}

const (
	up   = proto.ToServer
	down = proto.ToClient
)

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

var (
	getStatic = frame(frameHeaders, staticSection(":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/x?imei=1", "user-agent", "ua/1"))
	resp200   = append(frame(frameHeaders, staticSection(":status", "200", "content-type", "text/plain")), frame(frameData, []byte("hello"))...)
	reqB2     = frame(frameHeaders, sectionB2)
)

// run feeds ops to a Conn (whole, or byte by byte) and describes what it
// reported.
func run(ops []op, byteByByte bool) (string, *prototest.Sink) {
	sink := &prototest.Sink{}
	c := NewSink(Limits{}, sink)
	for i, o := range ops {
		m := proto.Meta{Frame: uint64(i + 1)}
		switch {
		case o.gap > 0:
			c.StreamGap(o.dir, o.id, o.gap, m)
		case byteByByte:
			for j := range o.data {
				c.StreamData(o.dir, o.id, o.data[j:j+1], m)
			}
		default:
			c.StreamData(o.dir, o.id, o.data, m)
		}
		if o.fin {
			c.StreamEnd(o.dir, o.id, m)
		}
	}
	c.End(proto.Meta{Frame: 99})
	var out []string
	for _, e := range sink.Events {
		ev := e.Fields.(*Event)
		s := fmt.Sprintf("stream %d frame %d", ev.StreamID, e.Meta.Frame)
		if r := ev.Request; r != nil {
			s += fmt.Sprintf(" %s %s %s", r.Method, r.Authority, r.URI)
			if r.Body != nil {
				s += fmt.Sprintf(" body %q", r.Body.Data)
			}
		}
		if r := ev.Response; r != nil {
			s += fmt.Sprintf(" -> %d", r.Status)
			if r.Body != nil {
				s += fmt.Sprintf(" body %q", r.Body.Data)
			}
			if len(r.Trailers) > 0 {
				s += fmt.Sprintf(" trailers %v", r.Trailers)
			}
		}
		if len(ev.Interim) > 0 {
			s += fmt.Sprintf(" interim %v", ev.Interim)
		}
		if len(ev.Flags) > 0 {
			s += " flags " + strings.Join(ev.Flags, ",")
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n"), sink
}

func TestConn(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []op
		want string
	}{
		{"static table only, no SETTINGS needed", []op{
			{dir: up, id: 0, data: getStatic, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 1 GET a.test /x?imei=1 -> 200 body "hello"`},
		{"dynamic table, SETTINGS first", []op{
			{dir: down, id: 3, data: settings(220)},
			{dir: up, id: 2, data: settings(0)},
			{dir: up, id: 6, data: encoderB2},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 4  www.example.com /sample/path -> 200 body "hello"`},
		{"section before the encoder stream: held, then released", []op{
			{dir: down, id: 3, data: settings(220)},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
			{dir: up, id: 6, data: encoderB2},
		}, `stream 0 frame 2  www.example.com /sample/path -> 200 body "hello"`},
		{"section and encoder stream before the SETTINGS: held, then replayed", []op{
			{dir: up, id: 6, data: encoderB2},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
			{dir: down, id: 3, data: settings(220)},
		}, `stream 0 frame 2  www.example.com /sample/path -> 200 body "hello"`},
		{"no SETTINGS ever: the dynamic section is not decoded", []op{
			{dir: up, id: 6, data: encoderB2},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 3 -> 200 body "hello" flags qpack-desync`},
		{"SETTINGS capacity too small for the encoder: desync", []op{
			{dir: down, id: 3, data: settings(100)},
			{dir: up, id: 6, data: encoderB2},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 4 -> 200 body "hello" flags qpack-desync`},
		{"encoder stream gap", []op{
			{dir: down, id: 3, data: settings(220)},
			{dir: up, id: 6, data: encoderB2[:1]},
			{dir: up, id: 6, gap: 10},
			{dir: up, id: 0, data: reqB2, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 5 -> 200 body "hello" flags qpack-desync`},
		{"response body gap", []op{
			{dir: up, id: 0, data: getStatic, fin: true},
			{dir: down, id: 0, data: resp200[:len(resp200)-2]},
			{dir: down, id: 0, gap: 100},
		}, `stream 0 frame 1 GET a.test /x?imei=1 -> 200 body "hel" flags gap`},
		{"gzip request body, interim 103, trailers", []op{
			{dir: up, id: 0, data: slicesConcat(
				frame(frameHeaders, staticSection(":method", "POST", ":authority", "b.test", ":path", "/up", "content-encoding", "gzip")),
				frame(0x21, []byte("grease frame")),
				frame(frameData, gzipped(`{"imsi":"x"}`))), fin: true},
			{dir: down, id: 0, data: slicesConcat(
				frame(frameHeaders, staticSection(":status", "103")),
				frame(frameHeaders, staticSection(":status", "204")),
				frame(frameHeaders, staticSection("x-trailer", "1"))), fin: true},
		}, `stream 0 frame 1 POST b.test /up body "{\"imsi\":\"x\"}" -> 204 trailers [{x-trailer 1}] interim [103]`},
		{"no response, connection ends", []op{
			{dir: up, id: 4, data: getStatic},
		}, `stream 4 frame 1 GET a.test /x?imei=1 flags incomplete,no-response`},
		{"push, decoder and unknown unidirectional streams skipped", []op{
			{dir: down, id: 7, data: []byte{0x01, 0x00, 0x01, 0x02}},
			{dir: up, id: 10, data: []byte{0x03, 0x80}},
			{dir: up, id: 14, data: []byte{0x21, 0xff, 0xff}},
			{dir: up, id: 0, data: getStatic, fin: true},
			{dir: down, id: 0, data: resp200, fin: true},
		}, `stream 0 frame 4 GET a.test /x?imei=1 -> 200 body "hello"`},
		{"server-initiated bidirectional stream ignored", []op{
			{dir: down, id: 1, data: resp200, fin: true},
		}, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bb := range []bool{false, true} {
				got, _ := run(tc.ops, bb)
				if got != tc.want {
					t.Errorf("byte by byte %v:\n got %s\nwant %s", bb, got, tc.want)
				}
			}
		})
	}
}

func slicesConcat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestReport: the sink sees the event, the authority as an HTTP host name,
// and the request's values for the leak scanner with the body's codings.
func TestReport(t *testing.T) {
	_, sink := run([]op{
		{dir: up, id: 0, data: slicesConcat(
			frame(frameHeaders, staticSection(":method", "POST", ":authority", "b.test", ":path", "/up?imei=1", "content-encoding", "gzip", "x-id", "42")),
			frame(frameData, gzipped(`{"imsi":"x"}`))), fin: true},
		{dir: down, id: 0, data: resp200, fin: true},
	}, false)
	if len(sink.Names) != 1 || sink.Names[0] != (proto.Name{Name: "b.test", Source: proto.FromHTTPHost, Frame: 1}) {
		t.Errorf("names %+v", sink.Names)
	}
	for a, want := range map[string]string{"b.test:8443": "b.test", "127.0.0.1:443": "", "[::1]:443": "", "::1": "", "h.test": "h.test"} {
		if got := http2.AuthorityHost(a); got != want {
			t.Errorf("AuthorityHost(%q) = %q, want %q", a, got, want)
		}
	}
	var locs []string
	for _, f := range sink.Fields {
		locs = append(locs, fmt.Sprintf("%s=%s%v", f.Location, f.Data, f.Codings))
	}
	if got := strings.Join(locs, " "); got != `url.path=/up[] url.query=imei=1[] header:content-encoding=gzip[] header:x-id=42[] body={"imsi":"x"}[gzip]` {
		t.Errorf("scanned %s", got)
	}
}

// TestLimits: streams past MaxStreams are emitted early, bodies are cut at
// MaxBody, an oversized HEADERS frame is skipped and flagged.
func TestLimits(t *testing.T) {
	var evs []*Event
	c := New(Limits{MaxStreams: 2, MaxBody: 4, MaxHeaderBlock: 100}, func(ev *Event) { evs = append(evs, ev) })
	m := proto.Meta{Frame: 1}
	for id := uint64(0); id < 8; id += 4 {
		c.StreamData(up, id, getStatic[:len(getStatic)-1], m) // unfinished HEADERS frames
	}
	c.StreamData(up, 8, slicesConcat(getStatic, frame(frameData, []byte("123456"))), m)
	c.StreamEnd(up, 8, m)
	c.StreamData(up, 12, frame(frameHeaders, bytes.Repeat([]byte{0}, 101)), m)
	c.End(m)
	var got []string
	for _, ev := range evs {
		s := fmt.Sprint(ev.StreamID, ev.Flags)
		if ev.Request != nil && ev.Request.Body != nil {
			s += fmt.Sprintf(" %q %d %v", ev.Request.Body.Data, ev.Request.Body.WireSize, ev.Request.Body.Flags)
		}
		got = append(got, s)
	}
	want := `0 [stream-limit] | 4 [stream-limit] | 8 [incomplete no-response] "1234" 6 [truncated] | 12 [frame-too-large incomplete]`
	if g := strings.Join(got, " | "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}
