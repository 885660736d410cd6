package http2

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// conn writes one side of a connection: frames through the library's
// Framer, header blocks through one HPACK encoder, as a real stack does.
type conn struct {
	buf bytes.Buffer
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
}

func newConn() *conn {
	c := &conn{}
	c.fr = http2.NewFramer(&c.buf, nil)
	c.enc = hpack.NewEncoder(&c.hb)
	return c
}

// block HPACK-encodes fields given as name, value pairs.
func (c *conn) block(kv ...string) []byte {
	c.hb.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(c.hb.Bytes())
}

func (c *conn) headers(id uint32, end bool, kv ...string) *conn {
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(kv...), EndStream: end, EndHeaders: true})
	return c
}

func (c *conn) data(id uint32, end bool, b []byte) *conn {
	c.fr.WriteData(id, end, b)
	return c
}

func (c *conn) settings(s ...http2.Setting) *conn {
	c.fr.WriteSettings(s...)
	return c
}

// take returns the bytes written so far and clears them.
func (c *conn) take() []byte {
	b := bytes.Clone(c.buf.Bytes())
	c.buf.Reset()
	return b
}

type op = fuzzseed.Op

func up(b ...[]byte) op   { return op{Dir: proto.ToServer, Data: bytes.Join(b, nil)} }
func down(b ...[]byte) op { return op{Dir: proto.ToClient, Data: bytes.Join(b, nil)} }

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

type testCase struct {
	name    string
	lim     Limits
	upgrade bool // ops[0] and ops[1] are the pending bytes of NewUpgrade
	ops     []op
}

var reqGET = []string{":method", "GET", ":scheme", "http", ":authority", "api.example.com", ":path", "/v1/track?imei=490154203237518&lang=de"}

func cases() []testCase {
	var out []testCase

	// Prior knowledge: two requests, the second reusing table entries.
	{
		c, s := newConn(), newConn()
		c.settings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 8192})
		hello := c.take()
		s.settings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
		srvSettings := s.take()
		c.headers(1, true, append(reqGET, "user-agent", "Device/1.0", "cookie", "sid=abc123", "cookie", "uid=42; theme=dark")...)
		r1 := c.take()
		s.headers(1, false, ":status", "200", "content-type", "application/json", "server", "gws")
		s.data(1, true, []byte(`{"ok":true}`))
		a1 := s.take()
		c.headers(3, false, ":method", "POST", ":scheme", "http", ":authority", "api.example.com", ":path", "/v1/upload",
			"user-agent", "Device/1.0", "content-type", "application/json", "content-encoding", "gzip")
		c.data(3, true, gz(`{"email":"alice@example.com"}`))
		r3 := c.take()
		s.headers(3, true, ":status", "204", "server", "gws")
		a3 := s.take()
		out = append(out, testCase{name: "prior-knowledge", ops: []op{
			up([]byte(Preface), hello), down(srvSettings), up(r1), down(a1), up(r3), down(a3),
		}})
	}

	// DoH: a GET with ?dns= and a POST with a body, answers as bodies.
	{
		c, s := newConn(), newConn()
		q1 := craft.DNSQuery(0, "tracker.example.net", layers.DNSTypeA)
		a1 := craft.DNSAnswer(0, "tracker.example.net", nil, "192.0.2.7")
		q2 := craft.DNSQuery(0, "cdn.example.org", layers.DNSTypeAAAA)
		a2 := craft.DNSAnswer(0, "cdn.example.org", []string{"edge.example.org"}, "2001:db8::7")
		c.headers(1, true, ":method", "GET", ":scheme", "https", ":authority", "dns.google", ":path", "/dns-query?dns="+base64.RawURLEncoding.EncodeToString(q1), "accept", MediaDNS)
		c.headers(3, false, ":method", "POST", ":scheme", "https", ":authority", "dns.google", ":path", "/dns-query", "content-type", MediaDNS, "accept", MediaDNS)
		c.data(3, true, q2)
		s.headers(1, false, ":status", "200", "content-type", MediaDNS).data(1, true, a1)
		s.headers(3, false, ":status", "200", "content-type", MediaDNS).data(3, true, a2)
		out = append(out, testCase{name: "doh", ops: []op{up([]byte(Preface), c.take()), down(s.take())}})
	}

	// Upgrade: h2c — pending bytes after the 101, stream 1 answered in HTTP/2.
	{
		c, s := newConn(), newConn()
		c.settings()
		s.settings()
		s.headers(1, false, ":status", "200", "content-type", "text/plain").data(1, true, []byte("hello"))
		cb := c.take()
		sb := s.take()
		c.headers(3, true, ":method", "GET", ":scheme", "http", ":authority", "h2c.example.com", ":path", "/next")
		s.headers(3, true, ":status", "404")
		out = append(out, testCase{name: "upgrade", upgrade: true, ops: []op{
			up([]byte(Preface), cb), down(sb), up(c.take()), down(s.take()),
		}})
	}

	// A gap inside a DATA payload keeps frame sync.
	{
		c, s := newConn(), newConn()
		c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "up.example.com", ":path", "/log", "content-type", "text/plain")
		c.data(1, false, []byte("0123456789abcdef"))
		c.data(1, true, []byte("tail"))
		b := c.take()
		hl := len(b) - (9 + 16) - (9 + 4)
		s.headers(1, true, ":status", "200")
		out = append(out, testCase{name: "gap-in-data", ops: []op{
			up([]byte(Preface), b[:hl+9+4]), {Dir: proto.ToServer, Gap: 8}, up(b[hl+9+12:]), down(s.take()),
		}})
	}

	// A gap that swallows a header block: the table restarts; a block that
	// refers to lost entries is flagged, one with literals decodes.
	{
		c, s := newConn(), newConn()
		c.headers(1, true, reqGET...)
		r1 := c.take()
		c.headers(3, true, ":method", "GET", ":scheme", "http", ":authority", "api.example.com", ":path", "/lost", "x-secret", "lost-value")
		r3 := c.take()
		c.headers(5, true, ":method", "GET", ":scheme", "http", ":authority", "api.example.com", ":path", "/refers-to-lost", "x-secret", "lost-value")
		r5 := c.take()
		// Fresh literals only: a new encoder's first block.
		fresh := newConn()
		fresh.headers(7, true, ":method", "GET", ":scheme", "http", ":authority", "fresh.example.com", ":path", "/after")
		r7 := fresh.take()
		s.headers(1, true, ":status", "200")
		s.headers(5, true, ":status", "200")
		s.headers(7, true, ":status", "200")
		sb := s.take()
		out = append(out, testCase{name: "gap-headers", ops: []op{
			up([]byte(Preface), r1), up(r3[:5]), {Dir: proto.ToServer, Gap: len(r3) - 5}, up([]byte("junk"), r5, r7), down(sb),
		}})
	}

	// CONTINUATION, 100-continue, trailers, RST_STREAM, PUSH_PROMISE.
	{
		c, s := newConn(), newConn()
		blk := c.block(":method", "PUT", ":scheme", "http", ":authority", "cont.example.com", ":path", "/split", "expect", "100-continue", "x-device-id", "AA:BB:CC:DD:EE:FF")
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:10], EndHeaders: false})
		c.fr.WriteContinuation(1, false, blk[10:20])
		c.fr.WriteContinuation(1, true, blk[20:])
		c.data(1, false, []byte("part"))
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block("x-checksum", "abc"), EndStream: true, EndHeaders: true})
		c.headers(3, false, ":method", "GET", ":scheme", "http", ":authority", "cont.example.com", ":path", "/cancelled")
		c.fr.WriteRSTStream(3, http2.ErrCodeCancel)
		s.headers(1, false, ":status", "100")
		s.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: s.block(":method", "GET", ":scheme", "http", ":authority", "cont.example.com", ":path", "/pushed.js"), EndHeaders: true})
		s.headers(1, false, ":status", "201")
		s.data(1, false, []byte("done"))
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: s.block("grpc-status", "0"), EndStream: true, EndHeaders: true})
		s.headers(2, false, ":status", "200", "content-type", "text/javascript").data(2, true, []byte("x()"))
		out = append(out, testCase{name: "frames", ops: []op{up([]byte(Preface), c.take()), down(s.take())}})
	}

	// The client cancels a DoH GET; the answer the server had already sent
	// arrives after the RST_STREAM and is kept (as in
	// suricata-verify/dns-over-http2.pcap, stream 7).
	{
		c, s := newConn(), newConn()
		q := craft.DNSQuery(0, "late.example.net", layers.DNSTypeA)
		a := craft.DNSAnswer(0, "late.example.net", nil, "192.0.2.9")
		c.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "dns.google", ":path", "/dns-query?dns="+base64.RawURLEncoding.EncodeToString(q))
		c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		s.headers(1, false, ":status", "200", "content-type", MediaDNS).data(1, true, a)
		out = append(out, testCase{name: "reset-in-flight", ops: []op{up([]byte(Preface), c.take()), down(s.take())}})
	}

	// Limits: a body over MaxBody, a frame over MaxFrame, too many streams.
	{
		c, s := newConn(), newConn()
		c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "big.example.com", ":path", "/big")
		c.data(1, true, bytes.Repeat([]byte("A"), 100))
		c.headers(3, false, ":method", "POST", ":scheme", "http", ":authority", "big.example.com", ":path", "/huge")
		c.data(3, true, bytes.Repeat([]byte("B"), 300))
		for id := uint32(5); id <= 11; id += 2 {
			c.headers(id, true, ":method", "GET", ":scheme", "http", ":authority", "big.example.com", ":path", fmt.Sprintf("/s%d", id))
		}
		s.headers(11, true, ":status", "200")
		out = append(out, testCase{name: "limits", lim: Limits{MaxFrame: 200, MaxBody: 64, MaxStreams: 3}, ops: []op{up([]byte(Preface), c.take()), down(s.take())}})
	}

	// Hostile parameters: 300 query pairs and 300 cookie pairs; 256 of each
	// are kept and the request is flagged param-limit.
	{
		c := newConn()
		var q, ck []string
		for i := range 300 {
			q = append(q, fmt.Sprintf("p%d=%d", i, i))
			ck = append(ck, fmt.Sprintf("c%d=%d", i, i))
		}
		c.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "many.example.com", ":path", "/q?"+strings.Join(q, "&"),
			"cookie", strings.Join(ck[:200], "; "), "cookie", strings.Join(ck[200:], "; "))
		out = append(out, testCase{name: "param-limit", ops: []op{up([]byte(Preface), c.take())}})
	}

	// Malformed: a wrong preface, frames the Framer refuses, a bad block.
	{
		c := newConn()
		c.fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("data on stream 0"))
		c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1, []byte{0xff, 0xff, 0xff, 0xff})
		c.fr.WriteRawFrame(http2.FrameSettings, 0, 0, []byte{1, 2, 3})
		c.headers(3, true, ":method", "GET", ":scheme", "http", ":authority", "ok.example.com", ":path", "/after-bad")
		bad := c.take()
		out = append(out, testCase{name: "malformed", ops: []op{up([]byte(Preface), bad)}})
		c2 := newConn()
		c2.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "resync.example.com", ":path", "/found")
		c2.fr.WritePing(false, [8]byte{1})
		out = append(out, testCase{name: "bad-preface", ops: []op{up([]byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), c2.take())}})
	}
	return out
}

func run(tc testCase, split func(int) int) []*Event {
	var evs []*Event
	emit := func(e *Event) { evs = append(evs, e) }
	base := time.Unix(1700000000, 0)
	var p *Parser
	ops := tc.ops
	frame := uint64(1)
	if tc.upgrade {
		p = NewUpgrade(tc.lim, emit, ops[0].Data, ops[1].Data, proto.Meta{Frame: 1, Time: base})
		ops = ops[2:]
		frame = 2
	} else {
		p = New(tc.lim, emit)
	}
	fuzzseed.Feed(p, ops, frame, split)
	return evs
}

func render(evs []*Event) string {
	var b strings.Builder
	for _, e := range evs {
		j, err := json.Marshal(e)
		if err != nil {
			fmt.Fprintf(&b, "marshal: %v\n", err)
		}
		fmt.Fprintf(&b, "frame=%d %s\n", e.Frame, j)
		for _, bd := range []*Body{reqBody(e), respBody(e)} {
			if bd != nil && bd.Data != nil {
				fmt.Fprintf(&b, "  body (%d bytes) %q\n", len(bd.Data), bd.Data[:min(len(bd.Data), 64)])
			}
		}
		for _, d := range e.DNS {
			dj, _ := json.Marshal(dns.NewEvent(d.Message, "doh", d.Err))
			fmt.Fprintf(&b, "  dns %s frame=%d %s\n", d.Dir, d.Frame, dj)
		}
		e.ScanFields(func(f Field) { fmt.Fprintf(&b, "  scan %s %q %s\n", f.Location, f.Data, f.ContentType) })
	}
	return b.String()
}

func reqBody(e *Event) *Body {
	if e.Request == nil {
		return nil
	}
	return e.Request.Body
}

func respBody(e *Event) *Body {
	if e.Response == nil {
		return nil
	}
	return e.Response.Body
}

func TestParserGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := render(run(tc, nil))
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), []byte(got))
			for name, split := range map[string]func(int) int{
				"bytewise": func(int) int { return 1 },
				"random":   func(n int) int { return 1 + rand.IntN(n) },
			} {
				if g := render(run(tc, split)); g != got {
					t.Errorf("%s split differs:\n%s", name, g)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{Preface, true},
		{Preface + "\x00\x00\x00\x04", true},
		{"PRI ", true},
		{"PRI * HTTP/2.0\r\n", true},
		{"PRI", false},
		{"PRI * HTTP/1.1\r\n", false},
		{"GET / HTTP/1.1\r\n", false},
		{"", false},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  []byte
		ok   bool
	}{
		{"settings", []byte{0, 0, 6, 4, 0, 0, 0, 0, 0}, true},
		{"settings-ack-with-payload", []byte{0, 0, 6, 4, 1, 0, 0, 0, 0}, false},
		{"settings-on-stream", []byte{0, 0, 0, 4, 0, 0, 0, 0, 1}, false},
		{"headers", []byte{0, 0, 20, 1, 0x25, 0, 0, 0, 1}, true},
		{"headers-stream-0", []byte{0, 0, 20, 1, 0x04, 0, 0, 0, 0}, false},
		{"headers-bad-flags", []byte{0, 0, 20, 1, 0x42, 0, 0, 0, 1}, false},
		{"data-too-long", []byte{0, 0x40, 1, 0, 0, 0, 0, 0, 1}, false},
		{"ping", []byte{0, 0, 8, 6, 1, 0, 0, 0, 0}, true},
		{"ping-short", []byte{0, 0, 7, 6, 0, 0, 0, 0, 0}, false},
		{"continuation", []byte{0, 0, 4, 9, 4, 0, 0, 0, 1}, false},
		{"unknown-type", []byte{0, 0, 4, 0x20, 0, 0, 0, 0, 1}, false},
		{"reserved-bit", []byte{0, 0, 4, 8, 0, 0x80, 0, 0, 1}, false},
		{"short", []byte{0, 0, 4}, false},
	} {
		if _, ok := validHeader(tc.hdr); ok != tc.ok {
			t.Errorf("%s: validHeader = %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParser")
	}
	for _, tc := range cases() {
		fuzzseed.Write(t, "FuzzParser", tc.name, fuzzseed.Encode(tc.ops))
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		f.Add(fuzzseed.Encode(tc.ops))
	}
	lim := Limits{MaxFrame: 4096, MaxBody: 512, MaxHeaderList: 1024, MaxStreams: 8, MaxTable: 1024}
	f.Fuzz(func(t *testing.T, in []byte) {
		ops := fuzzseed.Decode(in)
		// Inputs that do not start with the preface are still fed: the
		// parser must resynchronise or ignore them, never panic.
		tc := testCase{lim: lim, ops: append([]op{up([]byte(Preface))}, ops...)}
		evs := run(tc, nil)
		// The same input through the Spec decoder and its Sink: no panic,
		// and nothing secret kept in what it emits.
		checkSink(t, runSink(tc, nil))
		for _, e := range evs {
			for _, b := range []*Body{reqBody(e), respBody(e)} {
				if b != nil && len(b.Data) > lim.MaxBody {
					t.Fatalf("body over MaxBody: %d", len(b.Data))
				}
			}
		}
		if a, b := render(evs), render(run(tc, func(int) int { return 1 })); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}

// TestParamCap: query and cookie pairs stop at maxParams, as in
// pkg/proto/http, and say so.
func TestParamCap(t *testing.T) {
	pairs := func(n int, sep string) string {
		var b []string
		for i := range n {
			b = append(b, fmt.Sprintf("k%d=v", i))
		}
		return strings.Join(b, sep)
	}
	for _, tc := range []struct {
		name    string
		n       int
		wantLen int
		wantCut bool
	}{
		{"none", 0, 0, false},
		{"under", 10, 10, false},
		{"at", maxParams, maxParams, false},
		{"over", maxParams + 1, maxParams, true},
		{"flood", 30000, maxParams, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, cut := parseQuery(pairs(tc.n, "&"))
			if len(q) != tc.wantLen || cut != tc.wantCut {
				t.Errorf("query: %d pairs, cut %v; want %d, %v", len(q), cut, tc.wantLen, tc.wantCut)
			}
			c, cut := parseCookies(pairs(tc.n, "; "), nil)
			if len(c) != tc.wantLen || cut != tc.wantCut {
				t.Errorf("cookies: %d pairs, cut %v; want %d, %v", len(c), cut, tc.wantLen, tc.wantCut)
			}
		})
	}
	// Cookies split over headers share one cap.
	c, _ := parseCookies(pairs(200, ";"), nil)
	if c, cut := parseCookies(pairs(200, ";"), c); len(c) != maxParams || !cut {
		t.Errorf("two cookie headers: %d pairs, cut %v", len(c), cut)
	}
}
