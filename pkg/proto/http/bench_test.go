package http

import (
	"strings"
	"testing"

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

func BenchmarkParser(b *testing.B) {
	up, down := benchStream()
	b.SetBytes(int64(len(up) + len(down)))
	b.ReportAllocs()
	for b.Loop() {
		p := New(Limits{}, func(*Event) {})
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
