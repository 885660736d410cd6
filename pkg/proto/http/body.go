package http

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
	kzlib "github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

const (
	maxParams     = 256     // query, form and cookie pairs kept per message
	maxParts      = 64      // multipart parts kept
	maxFormValue  = 4 << 10 // bytes of a multipart field value copied into Form
	maxEncodings  = 4       // stacked Content-Encodings undone
	bombRatio     = 100     // decoded/encoded ratio that marks a bomb
	zstdMaxWindow = 8 << 20 // zstd window accepted (memory bound)
)

// decodeBody removes the content codings listed in enc (applied in order, so
// undone last to first) from raw, keeping at most max bytes. The result is
// raw itself (or a prefix of it) when nothing was decoded, otherwise a
// buffer from the body pools; raw is not modified.
func decodeBody(enc string, raw []byte, max int) ([]byte, []string) {
	var kept [maxEncodings]string // no slice of its own per body
	codings, n := kept[:0], 0
	for c := range strings.SplitSeq(enc, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" || c == "identity" {
			continue
		}
		if n++; n <= maxEncodings {
			codings = append(codings, c)
		}
	}
	if n == 0 {
		return clip(raw, max)
	}
	if n > maxEncodings {
		return clip(raw, max, "unknown-encoding")
	}
	data := raw
	var flags []string
	for i := len(codings) - 1; i >= 0; i-- {
		out, used, err := inflate(codings[i], data, max)
		if errors.Is(err, errUnknownCoding) {
			flags = append(flags, "unknown-encoding")
			break
		}
		if err != nil && len(out) == 0 {
			putBuf(out)
			flags = append(flags, "decode-error")
			break
		}
		if err != nil && !errors.Is(err, errLimit) {
			flags = append(flags, "decode-error")
		}
		if !sameBuf(data, raw) {
			putBuf(data) // an intermediate layer
		}
		data = out
		if errors.Is(err, errLimit) {
			flags = append(flags, "decoded-limit")
			// The ratio is of what came out to the compressed bytes
			// read to make it, not to the whole body kept: a 1000:1
			// body stops at max long before its end.
			if used == 0 || len(out)/used >= bombRatio {
				flags = append(flags, "bomb")
			}
			break
		}
	}
	if len(data) > max {
		data = data[:max]
	}
	return data, flags
}

func clip(raw []byte, max int, flags ...string) ([]byte, []string) {
	if len(raw) > max {
		raw = raw[:max]
		flags = append(flags, "decoded-limit")
	}
	return raw, flags
}

// sameBuf reports whether a and b start at the same byte of one array.
func sameBuf(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

var (
	errUnknownCoding = errors.New("http: unknown content coding")
	errLimit         = errors.New("http: decoded size limit")
)

// inflate undoes one content coding, reading at most max bytes of output.
// It returns what it decoded even on error, and how many bytes of in the
// decoder read for it (read-ahead included).
//
// gzip, zlib and DEFLATE are read with klauspost/compress's decoders,
// faster than the standard library's (BenchmarkInflateCorpus), and read again
// with the standard library's when they fail or reach max: only there do
// the two differ (on a stream cut short klauspost's gives back up to a few
// hundred bytes fewer, and how far a decoder reads ahead is what the bomb
// ratio counts), so the result is always the standard library's
// (TestInflateMatchesStandardLibrary, FuzzInflate).
func inflate(coding string, in []byte, max int) ([]byte, int, error) {
	out, used, err := inflateWith(&fastReaders, coding, in, max)
	gz := coding == "gzip" || coding == "x-gzip"
	// The fast gzip reader stops after one member (Multistream(false)):
	// what follows it (another member, or garbage the standard library
	// reports differently) is left to the standard library too.
	if (err != nil && !errors.Is(err, errUnknownCoding) && (gz || coding == "deflate")) || (gz && err == nil && used < len(in)) {
		putBuf(out)
		out, used, err = inflateWith(&stdReaders, coding, in, max)
	}
	return out, used, err
}

func inflateWith(rs *readers, coding string, in []byte, max int) ([]byte, int, error) {
	src := bytes.NewReader(in)
	out, err := rs.inflateFrom(coding, src, len(in), max)
	return out, len(in) - src.Len(), err
}

// readers are the reset-and-reuse pools of one implementation of gzip,
// zlib and DEFLATE: each reader allocates a 32 KiB window.
type readers struct {
	gzip, zlib, flate sync.Pool
	newGzip           func(io.Reader) (gzipReader, error)
	newZlib           func(io.Reader) (io.ReadCloser, error)
	newFlate          func(io.Reader) io.ReadCloser
	singleMember      bool // gzip: stop after the first member
}

// gzipReader is the part of *gzip.Reader (either package's) used here.
type gzipReader interface {
	io.Reader
	Reset(io.Reader) error
	Multistream(bool)
}

var (
	fastReaders = readers{
		newGzip:      func(r io.Reader) (gzipReader, error) { return kgzip.NewReader(r) },
		newZlib:      kzlib.NewReader,
		newFlate:     kflate.NewReader,
		singleMember: true,
	}
	stdReaders = readers{
		newGzip:  func(r io.Reader) (gzipReader, error) { return gzip.NewReader(r) },
		newZlib:  zlib.NewReader,
		newFlate: flate.NewReader,
	}
	brReaders sync.Pool // *brotli.Reader
)

// inflateFrom decodes src into a pooled buffer.
func (rs *readers) inflateFrom(coding string, src *bytes.Reader, size, max int) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, _ := rs.gzip.Get().(gzipReader)
		if zr == nil {
			var err error
			if zr, err = rs.newGzip(src); err != nil {
				return nil, err
			}
		} else if err := zr.Reset(src); err != nil {
			rs.gzip.Put(zr)
			return nil, err
		}
		if rs.singleMember {
			zr.Multistream(false)
		}
		defer rs.gzip.Put(zr)
		r = zr
	case "deflate":
		// RFC 9110 deflate is zlib-wrapped, but many servers send raw DEFLATE.
		var hdr [2]byte
		n, _ := src.ReadAt(hdr[:], 0)
		if n == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, _ := rs.zlib.Get().(io.ReadCloser)
			if zr == nil {
				var err error
				if zr, err = rs.newZlib(src); err != nil {
					return nil, err
				}
			} else if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
				rs.zlib.Put(zr)
				return nil, err
			}
			defer rs.zlib.Put(zr)
			r = zr
		} else {
			fr, _ := rs.flate.Get().(io.ReadCloser)
			if fr == nil {
				fr = rs.newFlate(src)
			} else {
				fr.(flate.Resetter).Reset(src, nil)
			}
			defer rs.flate.Put(fr)
			r = fr
		}
	case "br":
		b, _ := brReaders.Get().(*brotli.Reader)
		if b == nil {
			b = brotli.NewReader(src)
		} else {
			b.Reset(src)
		}
		defer brReaders.Put(b)
		r = b
	case "zstd":
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(max)+zstdMaxWindow), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, errUnknownCoding
	}
	return readMax(r, max, 4*size)
}

// readMax reads r until EOF or limit bytes into a pooled buffer, starting
// with room for hint bytes; errLimit says more was available.
func readMax(r io.Reader, limit, hint int) ([]byte, error) {
	buf := getBuf(min(limit, hint+512))
	for {
		if len(buf) >= limit {
			var one [1]byte
			for {
				n, err := r.Read(one[:])
				switch {
				case n > 0:
					return buf[:limit], errLimit
				case err == io.EOF:
					return buf, nil
				case err != nil:
					return buf, err
				}
			}
		}
		if len(buf) == cap(buf) {
			buf = growBuf(buf, 1)
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// fillBody classifies b.Data and extracts form fields and multipart parts.
func fillBody(b *Body, contentType string) {
	mt, params := mediaType(contentType)
	b.MediaType = mt
	b.Size = len(b.Data)
	switch {
	case mt == "application/x-www-form-urlencoded":
		b.Kind = "form"
		b.Form = parseQuery(string(b.Data), nil)
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		b.Kind = "multipart"
		parseMultipart(b, params["boundary"])
	case strings.Contains(mt, "json"):
		b.Kind = "json"
	case mt == "" && looksJSON(b.Data):
		b.Kind = "json"
	case strings.HasPrefix(mt, "text/"), strings.Contains(mt, "xml"), strings.Contains(mt, "javascript"):
		b.Kind = "text"
	case isText(b.Data):
		b.Kind = "text"
	default:
		b.Kind = "binary"
	}
}

// mediaType is the lowercased media type of a Content-Type, what
// mime.ParseMediaType gives or what its failure falls back to (the same),
// and for a multipart type its parameters: fillBody reads no other
// parameter, so other types skip the parser and its map.
func mediaType(contentType string) (string, map[string]string) {
	base, _, hasParams := strings.Cut(contentType, ";")
	mt := strings.ToLower(strings.TrimSpace(base))
	if !hasParams || !strings.HasPrefix(mt, "multipart/") {
		return mt, nil
	}
	_, params, _ := mime.ParseMediaType(contentType)
	return mt, params
}

func looksJSON(d []byte) bool {
	d = bytes.TrimSpace(d)
	return len(d) > 1 && (d[0] == '{' || d[0] == '[') && json.Valid(d)
}

// isText reports whether the first 512 bytes are valid UTF-8 without
// control characters other than whitespace.
func isText(d []byte) bool {
	if len(d) > 512 {
		d = d[:512]
		for i := 0; i < 3 && len(d) > 0 && !utf8.Valid(d); i++ {
			d = d[:len(d)-1] // a rune cut at the edge
		}
	}
	if !utf8.Valid(d) {
		return false
	}
	for _, c := range d {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func parseMultipart(b *Body, boundary string) {
	mr := multipart.NewReader(bytes.NewReader(b.Data), boundary)
	for len(b.Parts) < maxParts {
		p, err := mr.NextRawPart()
		if err != nil {
			return
		}
		data, _ := io.ReadAll(p)
		part := Part{
			Name:        p.FormName(),
			Filename:    p.FileName(),
			ContentType: p.Header.Get("Content-Type"),
			Size:        len(data),
			Data:        data,
		}
		b.Parts = append(b.Parts, part)
		if part.Filename == "" && part.Name != "" && len(b.Form) < maxParams {
			v := data
			if len(v) > maxFormValue {
				v = v[:maxFormValue]
			}
			b.Form = append(b.Form, Param{Name: part.Name, Value: string(v)})
		}
	}
}

// parseQuery splits an application/x-www-form-urlencoded string into
// ordered pairs, unescaping where possible (raw text is kept otherwise).
func parseQuery(s string, out []Param) []Param {
	if s != "" && out == nil {
		out = make([]Param, 0, min(strings.Count(s, "&")+1, maxParams)) // at most; not grown by doubling
	}
	for s != "" && len(out) < maxParams {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, Param{Name: unescape(k), Value: unescape(v)})
	}
	return out
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// parseCookies appends the pairs of one Cookie header value.
func parseCookies(v string, out []Param) []Param {
	for v != "" && len(out) < maxParams {
		var c string
		c, v, _ = strings.Cut(v, ";")
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		k, val, _ := strings.Cut(c, "=")
		out = append(out, Param{Name: strings.TrimSpace(k), Value: strings.Trim(strings.TrimSpace(val), `"`)})
	}
	return out
}

// setCookie returns the name=value of one Set-Cookie header value.
func setCookie(v string) Param {
	c, _, _ := strings.Cut(v, ";")
	k, val, _ := strings.Cut(c, "=")
	return Param{Name: strings.TrimSpace(k), Value: strings.Trim(strings.TrimSpace(val), `"`)}
}

// splitURI fills path, query and (for absolute URIs) host of r.
func splitURI(r *Request) {
	u := r.URI
	if r.Method == "CONNECT" || u == "*" {
		r.Path = u
		return
	}
	if i := strings.Index(u, "://"); i > 0 && !strings.Contains(u[:i], "/") {
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if r.Host == "" {
			host := rest[:end]
			if at := strings.LastIndexByte(host, '@'); at >= 0 {
				host = host[at+1:]
			}
			r.Host = host
		}
		u = rest[end:]
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	path, q, ok := strings.Cut(u, "?")
	r.Path = path
	if ok {
		r.RawQuery = q
		r.lazyQuery = true // parsed by Event.complete
	}
}
