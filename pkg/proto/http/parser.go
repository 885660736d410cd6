package http

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// Limits bound the memory one Parser uses. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// MaxHeaderBytes bounds the start line plus header block of a message.
	MaxHeaderBytes int
	// MaxHeaders bounds the header fields kept per message (framing headers
	// beyond it are still obeyed).
	MaxHeaders int
	// MaxBody bounds the body bytes kept per message, after de-chunking and
	// before content decoding; the rest is skipped and counted.
	MaxBody int
	// MaxDecoded bounds a body after content decoding; a decompression bomb
	// stops here and is flagged.
	MaxDecoded int
}

// DefaultLimits returns 64 KiB of headers, 128 header fields, 1 MiB of body
// and 4 MiB of decoded body.
func DefaultLimits() Limits {
	return Limits{MaxHeaderBytes: 64 << 10, MaxHeaders: 128, MaxBody: 1 << 20, MaxDecoded: 4 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = d.MaxDecoded
	}
	return l
}

const (
	maxPending   = 64       // events queued awaiting a response or completion
	maxHold      = 64 << 10 // request bytes held while CONNECT/Upgrade awaits its answer
	maxTunnel    = 64 << 10 // tunnel bytes kept per direction for Tunnel
	maxChunkLine = 4 << 10  // chunk-size line, with extensions
	maxCarry     = 8 << 10  // partial line kept while resynchronising
)

type state uint8

const (
	stStart      state = iota // expecting a start line
	stResync                  // searching for a start line
	stHeaders                 // header fields
	stBody                    // Content-Length body
	stChunkSize               // chunk-size line
	stChunkData               // chunk data
	stChunkEnd                // CRLF after chunk data
	stTrailers                // trailer fields after the last chunk
	stUntilClose              // response body delimited by close
	stHold                    // request side after CONNECT/Upgrade, awaiting the answer
	stOpaque                  // tunnel or upgraded protocol: not HTTP
)

// pending is an event waiting for both of its halves.
type pending struct {
	ev       *Event
	reqDone  bool
	respDone bool
	noResp   bool // give up waiting for the response
	emitted  bool
	queued   bool
	hold     bool // request asked for CONNECT or Upgrade
}

// framing holds the header facts that decide how a body is delimited.
type framing struct {
	contentLength int64 // -1 when absent
	encoding      string
	contentType   string
	upgrade       string
	clBad         bool
	chunked       bool
	connUpgrade   bool
	// The first Content-Type and Server values, pending (half.pend).
	ctPending, serverPending bool
}

// half is the parsing state of one direction.
type half struct {
	line     []byte     // partial line
	lineMeta proto.Meta // of the partial line's first byte; then of the current message's
	hdrBytes int
	nHeaders int
	pe       *pending
	req      *Request
	resp     *Response
	fr       framing
	remain   int64
	body     *Body
	raw      []byte // body bytes of the current message (a pooled buffer)
	rawHint  int    // bytes the current body is expected to take in raw
	counted  int    // body bytes counted but not kept (Parser.countBodies)
	// vals holds the values of the current message's header fields that
	// nothing reads before its header block ends, and pend where they go:
	// they become one string at the end of the block (values), not one
	// each.
	vals    []byte
	pend    []pendingValue
	st      state
	paired  bool // response attached to its event
	midLine bool // resync: the next byte is not at a line start
}

// pendingValue is a header field's value in half.vals: Headers[i].Value
// of the current message (i >= 0) and *to (not nil) are vals[off:end]
// once the block ends.
type pendingValue struct {
	i, off, end int32
	to          *string
}

// values makes the pending header values of the current message one
// string and sets them; the values are final from here on. It is
// idempotent.
func (h *half) values(dir proto.Dir) {
	if len(h.pend) == 0 {
		return
	}
	var hdrs []Header
	switch {
	case dir == proto.ToServer && h.req != nil:
		hdrs = h.req.Headers
	case dir == proto.ToClient && h.resp != nil:
		hdrs = h.resp.Headers
	}
	all := string(h.vals)
	for _, pv := range h.pend {
		v := all[pv.off:pv.end]
		if pv.i >= 0 && int(pv.i) < len(hdrs) {
			hdrs[pv.i].Value = v
		}
		if pv.to != nil {
			*pv.to = v
		}
	}
	clear(h.pend) // its pointers
	h.vals, h.pend = h.vals[:0], h.pend[:0]
}

// Parser decodes one connection. It implements proto.StreamParser.
type Parser struct {
	lim     Limits
	emit    func(*Event)
	dec     *Decoder // called instead of emit (no closure to allocate)
	h       [2]half
	queue   []*pending
	respIdx int        // index in queue of the next event awaiting a response
	hold    []byte     // request bytes held in stHold
	tunnel  string     // Tunnel's kind
	tun     *[2][]byte // Tunnel's bytes, once the connection left HTTP
	sh      *shared    // the Spec's interned names and recycled exchanges, or nil
	qbuf    [2]*pending
	ended   bool
	lazy    bool // leave to Event.Fields what only events show
	// countBodies: Event.Fields is never called (the sink says so), so
	// response bodies, which only it reads, are counted, not kept (but
	// DoH answers, which the decoder reads).
	countBodies bool
	// afterGap: bytes were lost earlier; later events are flagged.
	afterGap bool
}

var _ proto.StreamParser = (*Parser)(nil)

// New returns a Parser that calls emit once per exchange, in request order.
// The Event belongs to the callee.
func New(lim Limits, emit func(*Event)) *Parser {
	p := &Parser{}
	p.init(lim, emit)
	return p
}

func (p *Parser) init(lim Limits, emit func(*Event)) {
	p.lim, p.emit = lim.withDefaults(), emit
	p.queue = p.qbuf[:0]
}

// Tunnel reports whether the connection left HTTP: kind is "connect" after a
// 2xx answer to CONNECT, the Upgrade protocol after a 101, or "" while the
// stream is still HTTP. up and down are the first bytes (at most 64 KiB each
// way) that followed the switch, for the caller to classify (TLS inside a
// proxy tunnel, for instance).
func (p *Parser) Tunnel() (kind string, up, down []byte) {
	if p.tun == nil {
		return p.tunnel, nil, nil
	}
	return p.tunnel, p.tun[proto.ToServer], p.tun[proto.ToClient]
}

// Data implements proto.StreamParser.
func (p *Parser) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || p.ended {
		return
	}
	p.feed(dir, data, m)
}

func (p *Parser) feed(dir proto.Dir, data []byte, m proto.Meta) {
	h := &p.h[dir]
	for len(data) > 0 {
		n, st := len(data), h.st
		data = p.step(dir, h, data, m)
		if len(data) == n && h.st == st {
			return // no progress; cannot happen, but never loop
		}
	}
}

func (p *Parser) step(dir proto.Dir, h *half, data []byte, m proto.Meta) []byte {
	switch h.st {
	case stStart:
		if len(h.line) == 0 {
			i := 0
			for i < len(data) && data[i] < ' ' { // CR LF between messages, keep-alive probe bytes
				i++
			}
			data = data[i:]
			if len(data) == 0 {
				return nil
			}
			if sniff(dir, data[:min(len(data), maxMethod+1)]) == no {
				h.st, h.midLine = stResync, false
				return data
			}
			h.lineMeta = m
		} else if n := len(h.line); n <= maxMethod {
			var pfx [maxMethod + 1]byte
			k := copy(pfx[:], h.line)
			k += copy(pfx[k:], data)
			if sniff(dir, pfx[:k]) == no {
				h.st, h.midLine = stResync, false // h.line is carried into resync
				return data
			}
		}
		line, rest, ok, long := h.nextLine(data, p.lim.MaxHeaderBytes)
		if long {
			h.line = h.line[:0]
			h.st, h.midLine = stResync, true
			return data
		}
		if !ok {
			return nil
		}
		p.startLine(dir, h, line)
		return rest
	case stResync:
		return p.resync(dir, h, data, m)
	case stHeaders, stTrailers:
		line, rest, ok, long := h.nextLine(data, p.lim.MaxHeaderBytes-h.hdrBytes)
		if long {
			h.line = h.line[:0]
			p.abort(dir, h, "header-limit")
			h.midLine = true
			return data
		}
		if !ok {
			return nil
		}
		h.hdrBytes += len(line) + 2
		if len(line) == 0 {
			if h.st == stTrailers {
				p.finish(dir, h)
			} else {
				p.headersDone(dir, h)
			}
			return rest
		}
		p.header(dir, h, line)
		return rest
	case stBody, stChunkData:
		n := int(min(int64(len(data)), h.remain))
		p.addBody(h, data[:n])
		h.remain -= int64(n)
		if h.remain == 0 {
			if h.st == stBody {
				p.finish(dir, h)
			} else {
				h.st = stChunkEnd
			}
		}
		return data[n:]
	case stChunkSize:
		line, rest, ok, long := h.nextLine(data, maxChunkLine)
		if long {
			h.line = h.line[:0]
			p.abort(dir, h, "bad-chunk")
			h.midLine = true
			return data
		}
		if !ok {
			return nil
		}
		size, good := chunkSize(line)
		if !good {
			p.abort(dir, h, "bad-chunk")
			return rest
		}
		if size == 0 {
			h.st = stTrailers
		} else {
			h.remain, h.st = size, stChunkData
		}
		return rest
	case stChunkEnd:
		line, rest, ok, long := h.nextLine(data, 2)
		if long || (ok && len(line) != 0) {
			h.line = h.line[:0]
			p.abort(dir, h, "bad-chunk")
			h.midLine = len(data) > 0 && data[0] != '\n'
			return data
		}
		if !ok {
			return nil
		}
		h.st = stChunkSize
		return rest
	case stUntilClose:
		p.addBody(h, data)
		return nil
	case stHold:
		if n := min(len(data), maxHold-len(p.hold)); n > 0 {
			p.hold = append(p.hold, data[:n]...)
		}
		return nil
	case stOpaque:
		if p.tun == nil {
			p.tun = new([2][]byte)
		}
		if n := min(len(data), maxTunnel-len(p.tun[dir])); n > 0 {
			p.tun[dir] = append(p.tun[dir], data[:n]...)
		}
		return nil
	}
	return nil
}

func sniff(dir proto.Dir, b []byte) verdict {
	if dir == proto.ToServer {
		return sniffRequest(b)
	}
	return sniffStatus(b)
}

// nextLine returns the next line of h.line+in without its CR LF. A line
// longer than max sets long and consumes nothing; an unfinished line is
// buffered (ok false). line may alias h.line: use it before the next call.
func (h *half) nextLine(in []byte, max int) (line, rest []byte, ok, long bool) {
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		if len(h.line)+len(in) > max {
			return nil, in, false, true
		}
		h.line = append(h.line, in...)
		return nil, nil, false, false
	}
	if len(h.line)+i > max {
		return nil, in, false, true
	}
	if len(h.line) > 0 {
		h.line = append(h.line, in[:i]...)
		line = h.line
		h.line = h.line[:0]
	} else {
		line = in[:i]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, in[i+1:], true, false
}

// resync looks for the start of a message at a line start in the carried
// partial line plus data.
func (p *Parser) resync(dir proto.Dir, h *half, data []byte, m proto.Meta) []byte {
	buf, carry := data, len(h.line)
	if carry > 0 && bytes.IndexByte(h.line, ' ') >= 0 && bytes.IndexByte(data, '\n') < 0 {
		// A carried line past its method waits for its end: no rescan.
		if carry+len(data) > maxCarry {
			h.line, h.midLine = h.line[:0], true
			return nil
		}
		h.line = append(h.line, data...)
		return nil
	}
	if carry > 0 {
		buf = append(h.line, data...)
	}
	h.line = h.line[:0]
	i := 0
	if carry == 0 && h.midLine {
		j := bytes.IndexByte(buf, '\n')
		if j < 0 {
			return nil
		}
		i = j + 1
	}
	h.midLine = buf[len(buf)-1] != '\n'
	for i < len(buf) {
		switch sniff(dir, buf[i:min(len(buf), i+maxCarry)]) {
		case yes:
			h.st = stStart
			if i < carry {
				h.line = append(h.line[:0], buf[i:carry]...)
				return data
			}
			return data[i-carry:]
		case more:
			if len(buf)-i <= maxCarry && bytes.IndexByte(buf[i:], '\n') < 0 {
				if i >= carry {
					h.lineMeta = m
				}
				h.line = append(h.line[:0], buf[i:]...)
				return nil
			}
		}
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return nil
}

// startLine begins a message.
func (p *Parser) startLine(dir proto.Dir, h *half, line []byte) {
	h.fr = framing{contentLength: -1}
	h.hdrBytes, h.nHeaders = len(line)+2, 0
	if dir == proto.ToServer {
		method, uri, version, ok := parseRequestLine(line)
		if !ok {
			h.st, h.midLine = stResync, false
			return
		}
		h.req = p.sh.request()
		*h.req = Request{Frame: h.lineMeta.Frame, Time: h.lineMeta.Time, Method: method, URI: uri, Version: version, ContentLength: -1, spare: h.req.spare}
		if !strings.HasPrefix(version, "HTTP/1.") {
			h.req.Flags = append(h.req.Flags, "bad-request-line")
		}
		h.pe = p.sh.pending(Event{Frame: h.lineMeta.Frame, Time: h.lineMeta.Time, Request: h.req})
		if p.afterGap {
			h.pe.ev.Flags = append(h.pe.ev.Flags, "after-gap")
		}
	} else {
		version, status, reason, ok := parseStatusLine(line)
		if !ok {
			h.st, h.midLine = stResync, false
			return
		}
		h.resp = p.sh.response()
		*h.resp = Response{Frame: h.lineMeta.Frame, Time: h.lineMeta.Time, Version: version, Status: status, Reason: reason, ContentLength: -1, spare: h.resp.spare}
		h.paired = false
	}
	h.st = stHeaders
}

// header records one header (or trailer) line.
func (p *Parser) header(dir proto.Dir, h *half, line []byte) {
	var hdrs, spare *[]Header
	var flags *[]string
	if dir == proto.ToServer {
		hdrs, flags, spare = &h.req.Headers, &h.req.Flags, &h.req.spare
		if h.st == stTrailers {
			hdrs = &h.req.Trailers
		}
	} else {
		hdrs, flags, spare = &h.resp.Headers, &h.resp.Flags, &h.resp.spare
		if h.st == stTrailers {
			hdrs = &h.resp.Trailers
		}
	}
	if line[0] == ' ' || line[0] == '\t' { // obsolete line folding
		if n := len(*hdrs); n > 0 && h.nHeaders <= p.lim.MaxHeaders {
			if k := len(h.pend) - 1; k >= 0 && h.st != stTrailers && int(h.pend[k].i) == n-1 {
				// The value is the last pending one, at the end of vals.
				h.vals = append(append(h.vals, ' '), bytes.TrimSpace(line)...)
				if pv := &h.pend[k]; pv.to != nil {
					// The field it also goes to keeps the first line.
					h.pend = append(h.pend, pendingValue{i: pv.i, off: pv.off, end: int32(len(h.vals))})
					pv.i = -1
				} else {
					pv.end = int32(len(h.vals))
				}
				return
			}
			(*hdrs)[n-1].Value += " " + string(bytes.TrimSpace(line))
		}
		return
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1] // bytes.TrimRight(name, " \t"), without its per-call set
	}
	if !ok || len(name) == 0 || bytes.IndexByte(name, ' ') >= 0 || bytes.IndexByte(name, '\t') >= 0 {
		addFlag(flags, "bad-header")
		return
	}
	value = bytes.TrimSpace(value)
	h.nHeaders++
	keep := h.nHeaders <= p.lim.MaxHeaders
	if !keep {
		addFlag(flags, "header-count-limit")
	}
	if h.st == stTrailers {
		if keep {
			*hdrs = append(*hdrs, Header{Name: string(name), Value: string(value)})
		}
		return
	}
	var v string   // value as a string, made once
	var to *string // a field the value goes to, made at the end of the block (pend)
	str := func() string {
		if v == "" {
			v = string(value)
		}
		return v
	}
	switch {
	case equalFold(name, "content-length"):
		n, ok := digits(value)
		var err error
		if !ok {
			n, err = strconv.ParseInt(str(), 10, 64)
		}
		switch {
		case err != nil || n < 0 || bytes.HasPrefix(value, []byte("+")):
			h.fr.clBad = true
		case h.fr.contentLength >= 0 && h.fr.contentLength != n:
			h.fr.clBad = true
		default:
			h.fr.contentLength = n
		}
	case equalFold(name, "transfer-encoding"):
		last := value // the last coding decides
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = value[i+1:]
		}
		h.fr.chunked = bytes.EqualFold(bytes.TrimSpace(last), []byte("chunked")) // Unicode folding, as strings.EqualFold before
	case equalFold(name, "content-encoding"):
		if h.fr.encoding != "" {
			h.fr.encoding += ", "
		}
		h.fr.encoding += str()
	case equalFold(name, "content-type"):
		if h.fr.contentType == "" && !h.fr.ctPending && len(value) > 0 {
			to, h.fr.ctPending = &h.fr.contentType, true
		}
	case equalFold(name, "upgrade"):
		h.fr.upgrade = str()
	case equalFold(name, "connection"):
		for rest := value; ; {
			t, more, found := bytes.Cut(rest, []byte(","))
			if bytes.EqualFold(bytes.TrimSpace(t), []byte("upgrade")) {
				h.fr.connUpgrade = true
			}
			if !found {
				break
			}
			rest = more
		}
	}
	if dir == proto.ToServer {
		r := h.req
		switch {
		case equalFold(name, "host"):
			if r.Host == "" {
				r.Host = str()
			}
		case equalFold(name, "user-agent"):
			if r.UserAgent == "" {
				r.UserAgent = str()
			}
		case equalFold(name, "referer"):
			if r.Referer == "" {
				r.Referer = str()
			}
		case equalFold(name, "cookie"):
			r.Cookies = parseCookies(str(), r.Cookies)
		}
	} else {
		r := h.resp
		switch {
		case equalFold(name, "server"):
			if r.Server == "" && !h.fr.serverPending && len(value) > 0 {
				to, h.fr.serverPending = &r.Server, true
			}
		case equalFold(name, "location"):
			if r.Location == "" {
				r.Location = str()
			}
		case equalFold(name, "set-cookie"):
			if len(r.SetCookies) < maxParams {
				r.SetCookies = append(r.SetCookies, setCookie(str()))
			}
		}
	}
	i := int32(-1)
	if keep {
		if *hdrs == nil {
			*hdrs, *spare = *spare, nil // an array a recycled message had
			if *hdrs == nil {
				*hdrs = make([]Header, 0, 8)
			}
		}
		i = int32(len(*hdrs))
		*hdrs = append(*hdrs, Header{Name: p.sh.intern(name), Value: v})
	}
	switch {
	case v != "":
		if to != nil {
			*to = v
		}
	case len(value) > 0 && (keep || to != nil):
		// Nothing read the value yet: it is made with the block's others
		// at the end of the block (values).
		h.pend = append(h.pend, pendingValue{i: i, off: int32(len(h.vals)), end: int32(len(h.vals) + len(value)), to: to})
		h.vals = append(h.vals, value...)
	}
}

// digits parses a decimal number of 1 to 18 digits (no sign, nothing
// else), as strconv.ParseInt would, without making a string of it.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// commonHeaderName returns name as a string if it is one of the field names
// most messages carry, in their usual spelling.
func commonHeaderName(name []byte) (string, bool) {
	switch string(name) {
	case "Host":
		return "Host", true
	case "User-Agent":
		return "User-Agent", true
	case "Accept":
		return "Accept", true
	case "Accept-Encoding":
		return "Accept-Encoding", true
	case "Accept-Language":
		return "Accept-Language", true
	case "Accept-Ranges":
		return "Accept-Ranges", true
	case "Connection":
		return "Connection", true
	case "Content-Type":
		return "Content-Type", true
	case "Content-Length":
		return "Content-Length", true
	case "Content-Encoding":
		return "Content-Encoding", true
	case "Transfer-Encoding":
		return "Transfer-Encoding", true
	case "Cache-Control":
		return "Cache-Control", true
	case "Cookie":
		return "Cookie", true
	case "Set-Cookie":
		return "Set-Cookie", true
	case "Date":
		return "Date", true
	case "Server":
		return "Server", true
	case "Location":
		return "Location", true
	case "Last-Modified":
		return "Last-Modified", true
	case "ETag":
		return "ETag", true
	case "Expires":
		return "Expires", true
	case "Vary":
		return "Vary", true
	case "Age":
		return "Age", true
	case "Pragma":
		return "Pragma", true
	case "Referer":
		return "Referer", true
	case "Keep-Alive":
		return "Keep-Alive", true
	case "Range":
		return "Range", true
	case "If-Modified-Since":
		return "If-Modified-Since", true
	case "If-None-Match":
		return "If-None-Match", true
	case "X-Requested-With":
		return "X-Requested-With", true
	case "Origin":
		return "Origin", true
	case "Authorization":
		return "Authorization", true
	case "Upgrade":
		return "Upgrade", true
	case "host":
		return "host", true
	case "user-agent":
		return "user-agent", true
	case "accept":
		return "accept", true
	case "content-type":
		return "content-type", true
	case "content-length":
		return "content-length", true
	case "connection":
		return "connection", true
	}
	return "", false
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func addFlag(flags *[]string, f string) {
	if !slices.Contains(*flags, f) {
		*flags = append(*flags, f)
	}
}

func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// headersDone fills the message from its headers, pairs a response with
// its request, and picks how the body is delimited.
func (p *Parser) headersDone(dir proto.Dir, h *half) {
	p.commitHeaders(dir, h)
	if dir == proto.ToServer {
		switch {
		case h.fr.chunked:
			p.startBody(h, stChunkSize)
		case h.fr.contentLength > 0:
			p.startBody(h, stBody)
			h.remain = h.fr.contentLength
		default:
			p.finish(dir, h)
		}
		return
	}
	r := h.resp
	if r.Status >= 100 && r.Status < 200 && r.Status != 101 {
		if h.paired {
			h.pe.ev.Interim = append(h.pe.ev.Interim, r.Status)
		}
		h.resp, h.pe, h.st = nil, nil, stStart
		return
	}
	var method string
	if req := h.pe.ev.Request; req != nil {
		method = req.Method
	}
	kind := ""
	switch {
	case r.Status == 101:
		kind = strings.ToLower(h.fr.upgrade)
		if kind == "" {
			kind = "upgrade"
		}
	case method == "CONNECT" && r.Status/100 == 2:
		kind = "connect"
	}
	if kind != "" {
		pe := h.pe
		pe.ev.Tunnel, p.tunnel = kind, kind
		p.finish(dir, h)
		p.switchTunnel(pe, kind)
		return
	}
	switch {
	case method == "HEAD" || r.Status == 204 || r.Status == 304 || r.Status < 200:
		p.finish(dir, h)
	case h.fr.chunked:
		p.startBody(h, stChunkSize)
	case h.fr.contentLength >= 0 && !h.fr.clBad:
		if h.fr.contentLength == 0 {
			p.finish(dir, h)
			return
		}
		p.startBody(h, stBody)
		h.remain = h.fr.contentLength
	default:
		p.startBody(h, stUntilClose)
	}
}

// commitHeaders sets the fields that depend on all headers and attaches the
// message to its event. It is idempotent.
func (p *Parser) commitHeaders(dir proto.Dir, h *half) {
	h.values(dir)
	if dir == proto.ToServer {
		r := h.req
		if h.pe == nil || h.pe.queued {
			return
		}
		r.ContentType = h.fr.contentType
		if h.fr.clBad {
			addFlag(&r.Flags, "bad-content-length")
		} else {
			r.ContentLength = h.fr.contentLength
		}
		splitURI(r)
		h.pe.hold = r.Method == "CONNECT" || (h.fr.connUpgrade && h.fr.upgrade != "")
		p.push(h.pe)
		return
	}
	r := h.resp
	if h.paired {
		return
	}
	r.ContentType = h.fr.contentType
	if h.fr.clBad {
		addFlag(&r.Flags, "bad-content-length")
	} else {
		r.ContentLength = h.fr.contentLength
	}
	if r.Status >= 100 && r.Status < 200 && r.Status != 101 {
		h.paired = p.respIdx < len(p.queue)
		if h.paired {
			h.pe = p.queue[p.respIdx]
		}
		return
	}
	h.paired = true
	if p.respIdx < len(p.queue) {
		h.pe = p.queue[p.respIdx]
		h.pe.ev.Response = r
	} else {
		h.pe = p.sh.pending(Event{Frame: r.Frame, Time: r.Time, Response: r, Flags: []string{"no-request"}})
		h.pe.reqDone = true
		if p.afterGap {
			h.pe.ev.Flags = append(h.pe.ev.Flags, "after-gap")
		}
		p.push(h.pe)
	}
	p.respIdx++
	// A held CONNECT or Upgrade that is refused: its request side resumes.
	if rq := &p.h[proto.ToServer]; rq.st == stHold && rq.pe == h.pe && !(r.Status == 101 ||
		(h.pe.ev.Request.Method == "CONNECT" && r.Status/100 == 2)) {
		held := p.hold
		p.hold, rq.pe, rq.st = nil, nil, stStart
		p.feed(proto.ToServer, held, rq.lineMeta)
	}
}

func (p *Parser) push(pe *pending) {
	if len(p.queue) >= maxPending {
		p.force()
	}
	pe.queued = true
	p.queue = append(p.queue, pe)
}

// force emits the oldest event even though it is unfinished, detaching it
// from any half still parsing into it.
func (p *Parser) force() {
	pe := p.queue[0]
	for d := range p.h {
		h := &p.h[d]
		if h.pe != pe {
			continue
		}
		dummy := &pending{ev: &Event{}, emitted: true, queued: true}
		h.values(proto.Dir(d)) // the emitted event keeps the values so far
		if h.req != nil {
			c := *h.req
			c.Headers, c.Flags = slices.Clip(c.Headers), slices.Clip(c.Flags)
			h.req.spare = nil // the copy's now
			h.req, dummy.ev.Request = &c, &c
		}
		if h.resp != nil {
			c := *h.resp
			c.Headers, c.Flags = slices.Clip(c.Headers), slices.Clip(c.Flags)
			h.resp.spare = nil
			h.resp, dummy.ev.Response = &c, &c
		}
		h.pe = dummy
	}
	pe.ev.shared = true // its parts live on in the copies: never recycled
	pe.noResp = true
	p.emitFront()
}

func (p *Parser) startBody(h *half, st state) {
	h.st = st
	h.body = p.sh.body()
	*h.body = Body{Encoding: h.fr.encoding, Chunked: h.fr.chunked}
	h.raw = h.raw[:0]
	h.rawHint, h.counted = 0, 0
	if st == stBody && h.fr.contentLength > 0 {
		h.rawHint = int(min(h.fr.contentLength, int64(p.lim.MaxBody)))
	}
}

func (p *Parser) addBody(h *half, b []byte) {
	if h.body == nil {
		return
	}
	h.body.WireSize += int64(len(b))
	room := p.lim.MaxBody - len(h.raw) - h.counted
	if len(b) > room {
		b = b[:max(room, 0)]
		addFlag(&h.body.Flags, "truncated")
	}
	if len(b) == 0 {
		return
	}
	if p.countBodies && h == &p.h[proto.ToClient] && !dns.IsDoHMedia(h.fr.contentType) {
		h.counted += len(b)
		return
	}
	if h.raw == nil {
		h.raw = getBuf(max(h.rawHint, len(b)))
	}
	h.raw = append(growBuf(h.raw, len(b)), b...)
}

// finish completes the current message of h normally.
func (p *Parser) finish(dir proto.Dir, h *half) {
	p.commitHeaders(dir, h)
	if b := h.body; b != nil && (b.WireSize > 0 || len(b.Flags) > 0) {
		b.Data, h.raw = h.raw, nil // the body keeps the buffer
		b.todo, b.contentType, b.maxDecoded = todoDecode|todoFill, h.fr.contentType, p.lim.MaxDecoded
		if dir == proto.ToServer || !p.lazy {
			b.decode() // request bodies are scanned
		}
		if dir == proto.ToServer {
			h.req.Body = b
		} else {
			h.resp.Body = b
		}
	}
	putBuf(h.raw)
	h.raw, h.counted = nil, 0
	pe := h.pe
	h.body, h.req, h.resp, h.pe, h.remain = nil, nil, nil, nil, 0
	h.st = stStart
	if pe == nil {
		return
	}
	if dir == proto.ToServer {
		pe.reqDone = true
		if pe.hold && !pe.respDone {
			h.st, h.pe, p.hold = stHold, pe, p.hold[:0]
		}
	} else {
		pe.respDone = true
	}
	p.flush()
}

// abort ends the current message of h with a problem flag and resumes at
// the next start line.
func (p *Parser) abort(dir proto.Dir, h *half, flag string) {
	if dir == proto.ToServer && h.req != nil {
		addFlag(&h.req.Flags, flag)
	}
	if dir == proto.ToClient && h.resp != nil {
		addFlag(&h.resp.Flags, flag)
	}
	if h.body != nil && (flag == "incomplete" || flag == "gap") {
		addFlag(&h.body.Flags, flag)
	}
	if h.req != nil || h.resp != nil {
		if h.pe != nil {
			h.pe.hold = false
		}
		p.finish(dir, h)
	}
	h.st, h.midLine = stResync, false
}

// switchTunnel makes both directions opaque after pe's response.
func (p *Parser) switchTunnel(pe *pending, kind string) {
	p.tunnel = kind
	pe.ev.Tunnel = kind
	rq := &p.h[proto.ToServer]
	if rq.st == stHold {
		if p.tun == nil {
			p.tun = new([2][]byte)
		}
		p.tun[proto.ToServer] = append(p.tun[proto.ToServer], p.hold...)
		p.hold = nil
	} else if rq.req != nil {
		p.abort(proto.ToServer, rq, "incomplete")
	}
	rq.st, rq.pe = stOpaque, nil
	p.h[proto.ToClient].st = stOpaque
	for _, q := range p.queue {
		q.noResp = true
	}
	p.flush()
}

// flush emits finished events from the front of the queue.
func (p *Parser) flush() {
	for len(p.queue) > 0 {
		pe := p.queue[0]
		if !pe.reqDone || !(pe.respDone || pe.noResp) {
			return
		}
		p.emitFront()
	}
}

func (p *Parser) emitFront() {
	pe := p.queue[0]
	n := copy(p.queue, p.queue[1:]) // at most maxPending: shifting keeps the array
	p.queue[n] = nil
	p.queue = p.queue[:n]
	p.respIdx = max(p.respIdx-1, 0)
	if pe.emitted {
		return
	}
	pe.emitted = true
	if pe.ev.Response == nil && pe.ev.Request != nil {
		pe.ev.Flags = append(pe.ev.Flags, "no-response")
	}
	if !p.lazy {
		pe.ev.complete()
	}
	switch {
	case p.dec != nil:
		p.dec.event(pe.ev)
	case p.emit != nil:
		p.emit(pe.ev)
	}
	if p.lazy {
		p.recycle(pe)
	}
}

// recycle hands the parts of an emitted event to later messages, unless
// the sink took the event (Event.Fields) or something still points to it.
func (p *Parser) recycle(pe *pending) {
	ev := pe.ev
	if p.sh == nil || ev.out || ev.shared {
		return
	}
	rq, rs := ev.Request, ev.Response
	for d := range p.h {
		h := &p.h[d]
		if h.pe == pe || rq != nil && (h.req == rq || h.body != nil && h.body == rq.Body) ||
			rs != nil && (h.resp == rs || h.body != nil && h.body == rs.Body) {
			return
		}
	}
	if slices.Contains(p.queue, pe) {
		return
	}
	p.sh.recycle(pe)
}

// Gap implements proto.StreamParser: n bytes of dir were not captured.
func (p *Parser) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient || p.ended || n <= 0 {
		return
	}
	h := &p.h[dir]
	switch h.st {
	case stOpaque:
		return
	case stResync:
		h.line, h.midLine, p.afterGap = h.line[:0], false, true
		return
	case stBody, stChunkData:
		if int64(n) <= h.remain {
			addFlag(&h.body.Flags, "gap")
			h.body.WireSize += int64(n)
			h.remain -= int64(n)
			if h.remain == 0 {
				if h.st == stBody {
					p.finish(dir, h)
				} else {
					h.st = stChunkEnd
				}
			}
			return
		}
	case stUntilClose:
		addFlag(&h.body.Flags, "gap")
		h.body.WireSize += int64(n)
		return
	case stHold:
		p.hold = p.hold[:0]
		return
	}
	h.line = h.line[:0]
	p.abort(dir, h, "gap")
	p.afterGap = true
	if dir == proto.ToClient {
		// Responses were lost: stop waiting for those already asked for.
		for _, q := range p.queue[p.respIdx:] {
			q.noResp = true
		}
		p.respIdx = len(p.queue)
		p.flush()
	}
}

// End implements proto.StreamParser: it completes a close-delimited body,
// flags anything else unfinished, and emits every queued event.
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	for d := proto.ToServer; d <= proto.ToClient; d++ {
		h := &p.h[d]
		switch h.st {
		case stUntilClose:
			p.finish(d, h)
		case stHeaders, stBody, stChunkSize, stChunkData, stChunkEnd, stTrailers:
			p.abort(d, h, "incomplete")
		}
	}
	for _, q := range p.queue {
		q.noResp = true
	}
	p.flush()
	p.ended = true
}
