package http

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

// op is one call on the parser: data in a direction, or a gap.
type op = fuzzseed.Op

func up(s string) op   { return op{Dir: proto.ToServer, Data: []byte(s)} }
func down(s string) op { return op{Dir: proto.ToClient, Data: []byte(s)} }

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zl(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func rawDeflate(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func br(s string) string {
	var b bytes.Buffer
	w := brotli.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zst(s string) string {
	e, _ := zstd.NewWriter(nil)
	defer e.Close()
	return string(e.EncodeAll([]byte(s), nil))
}

func resp(status, headers, body string) string {
	return "HTTP/1.1 " + status + "\r\n" + headers + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

func chunked(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

const jsonBody = `{"imei":"490154203237518","lat":52.52}`

type testCase struct {
	name string
	lim  Limits
	ops  []op
	// tunnel is the expected Tunnel() kind and up/down prefixes.
	tunnel, tunUp, tunDown string
}

func cases() []testCase {
	bomb := gz(strings.Repeat("\x00", 3<<20))
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nalice@example.com\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n"
	return []testCase{
		{name: "keepalive", ops: []op{
			up("GET /a?x=1&y=%20b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: UA/1.0\r\nCookie: sid=abc; theme=\"dark\"\r\n\r\n"),
			down(resp("200 OK", "Server: nginx\r\nContent-Type: text/plain\r\nSet-Cookie: sid=def; Path=/\r\n", "hello")),
			up("GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n"),
			down(resp("404 Not Found", "", "")),
		}},
		{name: "pipelined", ops: []op{
			up("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"),
			down(resp("200 OK", "", "one") + "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + resp("201 Created", "", "three")),
		}},
		{name: "chunked-trailers", ops: []op{
			up("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" +
				"5;ext=1\r\n" + jsonBody[:5] + "\r\n" + fmt.Sprintf("%X", len(jsonBody)-5) + "\r\n" + jsonBody[5:] + "\r\n0\r\nX-Sum: 42\r\n\r\n"),
			down("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("ab", "cd")),
		}},
		{name: "encodings", ops: []op{
			up("GET /gz HTTP/1.1\r\nHost: h\r\n\r\nGET /zlib HTTP/1.1\r\nHost: h\r\n\r\nGET /raw HTTP/1.1\r\nHost: h\r\n\r\nGET /br HTTP/1.1\r\nHost: h\r\n\r\nGET /zstd HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\nGET /unk HTTP/1.1\r\nHost: h\r\n\r\n"),
			down(resp("200 OK", "Content-Encoding: gzip\r\nContent-Type: application/json\r\n", gz(jsonBody)) +
				resp("200 OK", "Content-Encoding: deflate\r\n", zl("zlib wrapped")) +
				resp("200 OK", "Content-Encoding: deflate\r\n", rawDeflate("raw deflate")) +
				resp("200 OK", "Content-Encoding: br\r\nContent-Type: text/html\r\n", br("<p>brotli</p>")) +
				resp("200 OK", "Content-Encoding: zstd\r\n", zst("zstandard")) +
				resp("200 OK", "Content-Encoding: deflate\r\nContent-Encoding: gzip\r\n", gz(zl("two layers"))) +
				resp("200 OK", "Content-Encoding: compress\r\n", "LZW?")),
		}},
		{name: "bomb", lim: Limits{MaxDecoded: 1 << 20}, ops: []op{
			up("GET /bomb HTTP/1.1\r\nHost: h\r\n\r\n"),
			down("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(bomb[:len(bomb)/2], bomb[len(bomb)/2:])),
		}},
		{name: "body-limit", lim: Limits{MaxBody: 8}, ops: []op{
			up("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij"),
			down(resp("200 OK", "Content-Encoding: gzip\r\n", gz("truncated gzip stream here"))),
		}},
		{name: "bad-chunk", ops: []op{
			up("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			down("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\njunk junk\r\n" + resp("200 OK", "", "two")),
		}},
		{name: "header-flood", lim: Limits{MaxHeaderBytes: 256, MaxHeaders: 3}, ops: []op{
			up("GET /few HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nContent-Length: 2\r\n\r\nok"),
			up("GET /flood HTTP/1.1\r\n" + strings.Repeat("X-Flood: aaaaaaaaaaaaaaaaaaaa\r\n", 20) + "\r\n"),
			up("GET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
		}},
		{name: "form-multipart-json", ops: []op{
			up("POST /login?next=%2Fhome HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 37\r\n\r\nuser=alice%40example.com&pass=s3cr+t!"),
			up("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(multipart)) + multipart),
			up("PUT /j HTTP/1.1\r\nHost: h\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(jsonBody)) + jsonBody),
			down(resp("200 OK", "", "") + resp("200 OK", "", "") + resp("200 OK", "", "")),
		}},
		{name: "connect-tunnel", ops: []op{
			up("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello"),
			down("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03"),
			up("\x16\x03\x03more"),
		}, tunnel: "connect", tunUp: "\x16\x03\x01\x00\x05hello\x16\x03\x03more", tunDown: "\x16\x03\x03"},
		{name: "connect-refused", ops: []op{
			up("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
			up("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"),
			down(resp("407 Proxy Authentication Required", "Proxy-Authenticate: Basic\r\n", "")),
			down("HTTP/1.1 200 OK\r\n\r\n"),
			up("\x16\x03\x01"),
		}, tunnel: "connect", tunUp: "\x16\x03\x01"},
		{name: "websocket", ops: []op{
			up("GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
			down("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
			up("\x81\x85\x00\x00\x00\x00hello"),
		}, tunnel: "websocket", tunUp: "\x81\x85\x00\x00\x00\x00hello", tunDown: "\x81\x05hello"},
		{name: "upgrade-ignored", ops: []op{
			up("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
			down(resp("200 OK", "", "x") + resp("200 OK", "", "y")),
		}},
		{name: "gap-resync", ops: []op{
			up("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHo"),
			{Dir: proto.ToServer, Gap: 100},
			up("st: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
			down(resp("200 OK", "", "1")),
			{Dir: proto.ToClient, Gap: 40},
			down("junk\r\n" + resp("200 OK", "", "3")),
		}},
		{name: "gap-in-body", ops: []op{
			up("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			down("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01"),
			{Dir: proto.ToClient, Gap: 6},
			down("89" + resp("200 OK", "", "2")),
		}},
		{name: "until-close", ops: []op{
			up("GET / HTTP/1.0\r\nHost: h\r\n\r\n"),
			down("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the connection closes"),
		}},
		{name: "continue-nobody", ops: []op{
			up("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
			down("HTTP/1.1 100 Continue\r\n\r\n"),
			up("data"),
			down(resp("201 Created", "", "")),
			up("DELETE /f HTTP/1.1\r\nHost: h\r\n\r\nGET /f HTTP/1.1\r\nHost: h\r\nIf-None-Match: x\r\n\r\n"),
			down("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
		}},
		{name: "midstream", ops: []op{
			up("ue=1&b=2 garbage\r\nmore\r\nGET /real?q HTTP/1.1\r\nHost: h\r\n\r\n"),
			down("tail of a body\r\n" + resp("200 OK", "", "r") + resp("200 OK", "", "orphan")),
		}},
		// Header values: folded lines (of fields whose first line also
		// sets Content-Type or Server), empty values, repeats, numbers
		// strconv reads differently, fields past MaxHeaders.
		{name: "header-values", lim: Limits{MaxHeaders: 9}, ops: []op{
			up("POST /v HTTP/1.1\r\nHost: h.example\r\nContent-Type:\r\nContent-Type: text/plain;\r\n  charset=utf-8\r\nAccept: */*\r\n a\r\n\tb\r\nX-Empty:   \r\nUser-Agent: UA/2\r\nContent-Length: +3\r\n\r\nabc"),
			down("HTTP/1.1 200 OK\r\nServer: srv/1\r\n (fold)\r\nServer: srv/2\r\nContent-Type: application/json\r\nContent-Length: 0000000000000000000002\r\nDate: Mon\r\n  day\r\nVia: 1.1 p\r\n\r\n{}"),
			up("GET /w HTTP/1.1\r\nHost: h.example\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nContent-Type: text/late\r\nI: 9\r\n j\r\n\r\n"),
			down("HTTP/1.1 200 OK\r\nContent-Length: -0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nServer: late\r\nContent-Type: text/late\r\n\r\n"),
			up("GET /x HTTP/1.1\r\nHost: h.example\r\nContent-Length: 999999999999999999\r\nX-Cut: partial"),
		}},
		{name: "absolute-uri-odd-lines", ops: []op{
			up("GET http://user@proxy.example:8080/p/a?k=v#frag HTTP/1.1\r\nX-Folded: a\r\n  b\r\nbad header line\r\n\r\n"),
			up("GET /HTTP/1.1\r\nHost: h\r\n\r\nCCM_POST / HTTP/1.\r\nHost: h\r\n\r\n"),
			up("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\nbrew /pot HTTP/1.1\r\n\r\n"),
		}},
	}
}

// run feeds ops to a fresh parser, each data op split into pieces of at
// most split bytes (0: whole), and returns the events and the parser.
func run(tc testCase, split func(n int) int) ([]*Event, *Parser) {
	var evs []*Event
	p := feed(tc, split, func(e *Event) { evs = append(evs, e) })
	return evs, p
}

// feed runs tc through a new Parser that calls emit.
func feed(tc testCase, split func(n int) int, emit func(*Event)) *Parser {
	return feedParser(tc, split, New, emit)
}

// lazyParser makes the Parser a Decoder uses, whose events Event.Fields
// completes.
func lazyParser(lim Limits) func(Limits, func(*Event)) *Parser {
	return func(_ Limits, emit func(*Event)) *Parser {
		p := New(lim, emit)
		p.lazy = true
		return p
	}
}

// recyclingParser makes the Parser a Decoder uses, with a Spec's shared
// state: events the callback does not take with Fields are recycled.
func recyclingParser(sh *shared) func(Limits, func(*Event)) *Parser {
	return func(lim Limits, emit func(*Event)) *Parser {
		p := New(lim, emit)
		p.lazy, p.sh = true, sh
		return p
	}
}

// renderCore renders what an event carries before Event.Fields: the JSON
// without the parts Fields fills in, and the request body's bytes.
func renderCore(e *Event) string {
	c := *e
	core := func(b *Body) *Body {
		if b == nil {
			return nil
		}
		x := Body{Encoding: b.Encoding, Chunked: b.Chunked, WireSize: b.WireSize}
		for _, f := range b.Flags {
			switch f {
			case "decode-error", "unknown-encoding", "decoded-limit", "bomb":
			default:
				x.Flags = append(x.Flags, f)
			}
		}
		return &x
	}
	var data []byte
	if e.Request != nil {
		r := *e.Request
		r.Query, r.Body = nil, core(r.Body)
		if e.Request.Body != nil {
			data = e.Request.Body.Data
		}
		c.Request = &r
	}
	if e.Response != nil {
		r := *e.Response
		r.Body = core(r.Body)
		c.Response = &r
	}
	j, err := json.Marshal(&c)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s\nrequest body %q\n", j, data)
}

// feedParser runs tc through a Parser made by mk.
func feedParser(tc testCase, split func(n int) int, mk func(Limits, func(*Event)) *Parser, emit func(*Event)) *Parser {
	p := mk(tc.lim, emit)
	frame := uint64(1)
	for _, o := range tc.ops {
		m := proto.Meta{Frame: frame, Time: time.Unix(1700000000, 0).Add(time.Duration(frame) * time.Millisecond)}
		frame++
		if o.Gap > 0 {
			p.Gap(o.Dir, o.Gap, m)
			continue
		}
		b := o.Data
		for len(b) > 0 {
			n := len(b)
			if split != nil {
				n = min(n, split(n))
			}
			// Hand the parser a copy it may not keep, then scribble on it.
			piece := bytes.Clone(b[:n])
			p.Data(o.Dir, piece, m)
			for i := range piece {
				piece[i] = '#'
			}
			b = b[n:]
		}
	}
	p.End(proto.Meta{Frame: frame})
	return p
}

// render writes events as indented JSON plus the decoded bodies, which JSON
// leaves out.
func render(evs []*Event) string {
	var b strings.Builder
	for i, e := range evs {
		fmt.Fprintf(&b, "# event %d frame=%d\n", i+1, e.Frame)
		j, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			fmt.Fprintf(&b, "marshal: %v\n", err)
		}
		b.Write(j)
		b.WriteByte('\n')
		body := func(side string, bd *Body) {
			if bd == nil {
				return
			}
			d := bd.Data
			if len(d) > 80 {
				d = d[:80]
			}
			fmt.Fprintf(&b, "%s body data (%d bytes): %q\n", side, len(bd.Data), d)
			for _, p := range bd.Parts {
				fmt.Fprintf(&b, "%s part %q: %q\n", side, p.Name, p.Data)
			}
		}
		if e.Request != nil {
			body("request", e.Request.Body)
		}
		if e.Response != nil {
			body("response", e.Response.Body)
		}
	}
	return b.String()
}

func TestParserGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			evs, p := run(tc, nil)
			got := render(evs)
			kind, tu, td := p.Tunnel()
			got += fmt.Sprintf("# tunnel %q up=%q down=%q\n", kind, tu, td)
			if kind != tc.tunnel || string(tu) != tc.tunUp || string(td) != tc.tunDown {
				t.Errorf("Tunnel() = %q %q %q, want %q %q %q", kind, tu, td, tc.tunnel, tc.tunUp, tc.tunDown)
			}
			goldenPath := filepath.Join("testdata", tc.name+".golden")
			golden.Check(t, goldenPath, []byte(got))
			// The same bytes split one byte at a time, and at random, must
			// give the same events.
			for name, split := range map[string]func(int) int{
				"bytewise": func(int) int { return 1 },
				"random":   func(n int) int { return 1 + rand.IntN(n) },
			} {
				evs2, _ := run(tc, split)
				if g := render(evs2); g != render(evs) {
					t.Errorf("%s split differs:\n%s", name, g)
				}
			}
			// The Decoder's events, completed by Fields, are the same.
			var lazy []*Event
			feedParser(tc, nil, lazyParser(tc.lim), func(e *Event) { e.Fields(); lazy = append(lazy, e) })
			if g := render(lazy); g != render(evs) {
				t.Errorf("events completed by Fields differ:\n%s", g)
			}
			checkRecycling(t, tc, evs)
		})
	}
}

// checkRecycling runs tc twice through parsers sharing one Spec state that
// recycle every event (the callback reads it and does not call Fields),
// and compares what each event carried with evs, the complete events.
func checkRecycling(t *testing.T, tc testCase, evs []*Event) {
	t.Helper()
	var want []string
	for _, e := range evs {
		want = append(want, renderCore(e))
	}
	sh := &shared{}
	for round := range 2 {
		var got []string
		feedParser(tc, nil, recyclingParser(sh), func(e *Event) { got = append(got, renderCore(e)); e.Release() })
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: recycled events differ:\n%s\n----\n%s", round+1, strings.Join(got, ""), strings.Join(want, ""))
		}
	}
}

// TestSniffRequestLine: the parser's sniff of a line without its end is
// sniffRequest of the line with a newline after it.
func TestSniffRequestLine(t *testing.T) {
	for _, line := range []string{
		"", "G", "GET", "GET ", "GET / HTTP/1.1", "GET / HTTP/1.1\r", "get / HTTP/1.1", "FOO / HTTP/1.1",
		"FOO / HTTP/1.2", "FOO /", "FOO", "OPTIONS", "OPTIONS\r", "X-MS-ENUMATTS x", "A_B-C / HTTP/1.0",
		"ABCDEFGHIJKLMNOPQRSTUVWXY / HTTP/1.1", "ABCDEFGHIJKLMNOPQRSTUVWX / HTTP/1.1", "ABCDEFGHIJKLMNOPQRSTUVWX",
		"ABCDEFGHIJKLMNOPQRSTUVWXY", " GET /", "GET\t/", "FOO a\nb HTTP/1.1", "FOO HTTP/1.1", "\r", "HTTP/1.1 200 OK",
	} {
		if got, want := sniffRequestIn([]byte(line), true), sniffRequest([]byte(line+"\n")); got != want {
			t.Errorf("%q: sniffRequestIn = %d, sniffRequest of the line and a newline = %d", line, got, want)
		}
		if got, want := sniffRequestIn([]byte(line), false), sniffRequest([]byte(line)); got != want {
			t.Errorf("%q: sniffRequestIn(false) = %d, sniffRequest = %d", line, got, want)
		}
	}
}
