package http2

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Preface is the client connection preface (RFC 9113 section 3.4).
const Preface = http2.ClientPreface

// Limits bound the memory of one Parser. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// MaxFrame bounds the bytes of one frame buffered for decoding; larger
	// frames are skipped (a skipped header block restarts the table).
	MaxFrame int
	// MaxBody bounds the body bytes kept per side of a stream, before and
	// after content decoding.
	MaxBody int
	// MaxHeaderList bounds the header bytes (names and values) kept per
	// header block.
	MaxHeaderList int
	// MaxStreams bounds the streams tracked at once; past it the oldest is
	// emitted early, flagged "stream-limit".
	MaxStreams int
	// MaxTable bounds each HPACK dynamic table (bytes as RFC 7541 counts
	// them), whatever size the peer's SETTINGS allow.
	MaxTable int
}

// DefaultLimits returns 256 KiB frames, 256 KiB bodies, 64 KiB header
// lists, 128 streams and 64 KiB tables.
func DefaultLimits() Limits {
	return Limits{MaxFrame: 256 << 10, MaxBody: 256 << 10, MaxHeaderList: 64 << 10, MaxStreams: 128, MaxTable: 64 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFrame <= 0 {
		l.MaxFrame = d.MaxFrame
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	if l.MaxHeaderList <= 0 {
		l.MaxHeaderList = d.MaxHeaderList
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.MaxTable <= 0 {
		l.MaxTable = d.MaxTable
	}
	return l
}

// Detect reports whether b begins with the client preface, or is a prefix
// of it at least 4 bytes long ("PRI ").
func Detect(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	n := min(len(b), len(Preface))
	return string(b[:n]) == Preface[:n]
}

const (
	headerLen   = 9
	maxCarry    = 64 << 10 // bytes kept while looking for a frame boundary after a gap
	resyncFrame = 1 << 14  // largest frame accepted as a resync point (the default SETTINGS_MAX_FRAME_SIZE)
	initTable   = 4096     // SETTINGS_HEADER_TABLE_SIZE default
	maxInterim  = 16       // 1xx statuses kept per stream
	maxTrailers = 256      // trailer fields kept per side of a stream
)

// frameReader serves one buffered frame to the Framer.
type frameReader struct{ b []byte }

func (r *frameReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// block is a header block being decoded (HEADERS or PUSH_PROMISE and its
// CONTINUATIONs).
type block struct {
	open      bool
	stream    uint32 // the stream the fields belong to (the promised one for a push)
	push      bool
	endStream bool
	fields    []Header
	size      int
	limit     bool // fields past MaxHeaderList dropped
	err       bool // the block did not decode
	meta      proto.Meta
}

// half is the decoding state of one direction.
type half struct {
	preface int // client: preface bytes matched so far; -1 once matched (or for the server)
	hdr     [headerLen]byte
	nh      int
	inFrame bool // header complete, payload pending
	length  int
	need    int  // payload bytes still to come
	skip    bool // the frame is over MaxFrame: its payload is not kept
	gapped  bool // a gap fell inside this DATA frame: the rest only counts
	buf     []byte
	meta    proto.Meta // where the current frame began
	end     proto.Meta // where it was completed
	sync    bool
	carry   []byte
	cmeta   proto.Meta // of the first carried byte
	dec     *hpack.Decoder
	rd      frameReader
	fr      *http2.Framer
	table   uint32 // the peer's allowed table size (SETTINGS_HEADER_TABLE_SIZE of the other side)
	lost    bool   // bytes were lost: the table restarted, flag streams "after-gap"
	blk     block
}

// side is one direction of a stream.
type side struct {
	started bool
	ended   bool
	frame   uint64
	meta    proto.Meta
	body    proto.Meta // where its latest DATA payload was completed
	hasBody bool
	fields  []Header
	trail   []Header
	status  int
	interim []int
	limit   bool
	raw     []byte
	wire    int64
	flags   []string
}

type stream struct {
	id    uint32
	req   side
	resp  side
	flags []string
	reset string
}

// Parser decodes one connection. It implements proto.StreamParser.
type Parser struct {
	lim     Limits
	emit    func(*Event)
	h       [2]half
	streams map[uint32]*stream
	opened1 bool // stream 1 was opened (by the client, or as an upgrade)
	ended   bool
	stats   Stats
}

// Stats counts what a Parser saw.
type Stats struct {
	Frames      uint64 // frames decoded
	BadFrames   uint64 // frames the Framer refused
	Skipped     uint64 // frames over MaxFrame
	Resyncs     uint64 // frame boundaries found again after a gap
	TableResets uint64 // HPACK tables restarted (gap or decoding error)
	Streams     uint64 // events emitted
}

// New returns a Parser for a connection that speaks HTTP/2 from its first
// byte (prior knowledge: the client sends the preface). emit is called for
// each stream as it ends; the Event belongs to the callee.
func New(lim Limits, emit func(*Event)) *Parser {
	p := &Parser{lim: lim.withDefaults(), emit: emit, streams: map[uint32]*stream{}}
	for d := range p.h {
		h := &p.h[d]
		h.sync = true
		h.table = initTable
		p.newTable(h)
		p.newFramer(h)
	}
	p.h[proto.ToClient].preface = -1
	return p
}

// NewUpgrade returns a Parser for the HTTP/2 part of a connection that
// switched with "Upgrade: h2c": up and down are the bytes each side sent
// after the 101 response (the client's begin with the preface), m where
// they were. Stream 1 carries the response to the HTTP/1.1 request, which
// the HTTP/1 decoder already reported; its event is flagged "upgrade".
func NewUpgrade(lim Limits, emit func(*Event), up, down []byte, m proto.Meta) *Parser {
	p := New(lim, emit)
	p.upgradeStream()
	if len(up) > 0 {
		p.Data(proto.ToServer, up, m)
	}
	if len(down) > 0 {
		p.Data(proto.ToClient, down, m)
	}
	return p
}

// upgradeStream opens stream 1 as the continuation of the HTTP/1.1
// request of an h2c upgrade: its request side is over, flagged "upgrade".
func (p *Parser) upgradeStream() *stream {
	s := p.stream(1)
	s.req.started, s.req.ended = true, true
	s.flags = append(s.flags, "upgrade")
	return s
}

// Stats returns the counters so far.
func (p *Parser) Stats() Stats { return p.stats }

func (p *Parser) newTable(h *half) {
	h.dec = hpack.NewDecoder(initTable, nil)
	h.dec.SetAllowedMaxDynamicTableSize(min(h.table, uint32(p.lim.MaxTable)))
	h.dec.SetMaxStringLength(p.lim.MaxHeaderList)
	h.dec.SetEmitFunc(func(f hpack.HeaderField) { h.addField(f, p.lim.MaxHeaderList) })
}

func (p *Parser) newFramer(h *half) {
	h.fr = http2.NewFramer(nil, &h.rd)
	h.fr.SetMaxReadFrameSize(uint32(p.lim.MaxFrame))
}

func (h *half) addField(f hpack.HeaderField, max int) {
	b := &h.blk
	if !b.open {
		return
	}
	b.size += len(f.Name) + len(f.Value)
	if b.size > max {
		b.limit = true
		return
	}
	b.fields = append(b.fields, Header{Name: f.Name, Value: f.Value})
}

// Data implements proto.StreamParser.
func (p *Parser) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || p.ended {
		return
	}
	h := &p.h[dir]
	for len(data) > 0 {
		if !h.sync {
			data = p.resync(dir, h, data, m)
			continue
		}
		if h.preface >= 0 {
			n := min(len(data), len(Preface)-h.preface)
			if string(data[:n]) != Preface[h.preface:h.preface+n] {
				p.lose(dir, h)
				continue
			}
			h.preface += n
			data = data[n:]
			if h.preface == len(Preface) {
				h.preface = -1
			}
			continue
		}
		if !h.inFrame {
			if h.nh == 0 {
				h.meta = m
			}
			n := copy(h.hdr[h.nh:], data)
			h.nh += n
			data = data[n:]
			if h.nh < headerLen {
				continue
			}
			h.nh = 0
			h.length = int(h.hdr[0])<<16 | int(h.hdr[1])<<8 | int(h.hdr[2])
			h.need, h.inFrame = h.length, true
			h.skip, h.gapped = h.length > p.lim.MaxFrame, false
			h.buf = append(h.buf[:0], h.hdr[:]...)
		}
		n := min(len(data), h.need)
		switch {
		case h.gapped:
			p.dataWire(dir, h, n)
		case !h.skip:
			h.buf = append(h.buf, data[:n]...)
		}
		h.need -= n
		data = data[n:]
		if h.need == 0 {
			h.inFrame = false
			switch {
			case h.gapped:
				p.dataEnd(dir, h)
			case h.skip:
				p.skipped(dir, h)
			default:
				h.end = m
				p.frame(dir, h)
			}
			if cap(h.buf) > 64<<10 {
				h.buf = nil
			}
		}
	}
}

// frameType returns the type byte of the buffered frame header.
func (h *half) frameType() http2.FrameType { return http2.FrameType(h.hdr[3]) }

func (h *half) streamID() uint32 {
	return (uint32(h.hdr[5])<<24 | uint32(h.hdr[6])<<16 | uint32(h.hdr[7])<<8 | uint32(h.hdr[8])) & 0x7fffffff
}

// skipped accounts for a frame over MaxFrame.
func (p *Parser) skipped(dir proto.Dir, h *half) {
	p.stats.Skipped++
	switch h.frameType() {
	case http2.FrameData:
		if s := p.streams[h.streamID()]; s != nil {
			sd := s.side(dir)
			sd.wire += int64(h.length)
			addFlag(&sd.flags, "frame-too-large")
			if h.hdr[4]&0x1 != 0 {
				p.endSide(s, dir)
			}
		}
	case http2.FrameHeaders, http2.FrameContinuation, http2.FramePushPromise:
		// The block updated the table: it is out of step now.
		p.resetTable(h, true)
		p.newFramer(h)
	}
}

// frame decodes the buffered frame.
func (p *Parser) frame(dir proto.Dir, h *half) {
	h.rd.b = h.buf
	f, err := h.fr.ReadFrame()
	if err != nil {
		p.stats.BadFrames++
		if t := h.frameType(); t == http2.FrameHeaders || t == http2.FrameContinuation || t == http2.FramePushPromise || h.blk.open {
			p.failBlock(dir, h)
		}
		p.newFramer(h)
		return
	}
	p.stats.Frames++
	switch f := f.(type) {
	case *http2.HeadersFrame:
		h.blk = block{open: true, stream: f.StreamID, endStream: f.StreamEnded(), meta: h.meta, fields: h.blk.fields[:0]}
		p.fragment(dir, h, f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.PushPromiseFrame:
		h.blk = block{open: true, stream: f.PromiseID, push: true, meta: h.meta, fields: h.blk.fields[:0]}
		p.fragment(dir, h, f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		p.fragment(dir, h, f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		s := p.streams[f.StreamID]
		if s == nil {
			return // a stream whose headers were not seen
		}
		sd := s.side(dir)
		if !sd.started {
			sd.started, sd.meta = true, h.meta
		}
		d := f.Data()
		if len(d) > 0 {
			sd.body, sd.hasBody = h.end, true
		}
		sd.wire += int64(len(d))
		if keep := min(len(d), p.lim.MaxBody-len(sd.raw)); keep > 0 {
			sd.raw = append(sd.raw, d[:keep]...)
		}
		if len(d) > 0 && len(sd.raw) == p.lim.MaxBody && sd.wire > int64(len(sd.raw)) {
			addFlag(&sd.flags, "truncated")
		}
		if f.StreamEnded() {
			p.endSide(s, dir)
		}
	case *http2.RSTStreamFrame:
		if s := p.streams[f.StreamID]; s != nil {
			s.reset = f.ErrCode.String()
			addFlag(&s.flags, "reset")
			if dir == proto.ToClient || s.resp.ended {
				p.finish(s)
			}
			// Reset by the client: what the server sent before it saw the
			// reset (an answer in flight) still arrives, and ends the
			// stream; so does the end of the connection.
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return
		}
		if v, ok := f.Value(http2.SettingHeaderTableSize); ok {
			// This side's setting bounds the other side's encoder.
			o := &p.h[1-dir]
			o.table = v
			o.dec.SetAllowedMaxDynamicTableSize(min(v, uint32(p.lim.MaxTable)))
		}
	}
}

// fragment feeds one header block fragment to the direction's decoder.
func (p *Parser) fragment(dir proto.Dir, h *half, frag []byte, end bool) {
	if !h.blk.open {
		return
	}
	if !h.blk.err {
		if _, err := h.dec.Write(frag); err != nil {
			h.blk.err = true
		}
	}
	if !end {
		return
	}
	if err := h.dec.Close(); err != nil {
		h.blk.err = true
	}
	b := &h.blk
	b.open = false
	if b.err {
		p.resetTable(h, false)
	}
	p.headers(dir, h, b)
}

// failBlock ends the open header block (or the one a refused frame would
// have been part of) as undecodable.
func (p *Parser) failBlock(dir proto.Dir, h *half) {
	b := &h.blk
	if b.open {
		b.open, b.err = false, true
		p.headers(dir, h, b)
	}
	p.resetTable(h, false)
}

// resetTable restarts a direction's HPACK table empty; lost says bytes
// were lost (a gap, a skipped header block), which flags later streams.
func (p *Parser) resetTable(h *half, lost bool) {
	p.stats.TableResets++
	h.lost = h.lost || lost
	h.blk.open = false
	p.newTable(h)
}

// headers applies a complete header block to its stream.
func (p *Parser) headers(dir proto.Dir, h *half, b *block) {
	if b.stream == 0 {
		return
	}
	s := p.streams[b.stream]
	if s == nil {
		switch {
		case dir == proto.ToClient && !b.push && b.stream == 1 && !p.opened1 && !p.h[proto.ToServer].lost:
			// Stream 1 answered before any request on it: the connection
			// switched with Upgrade: h2c (a client with prior knowledge
			// opens stream 1 itself), and stream 1 answers the HTTP/1.1
			// request sent before the switch.
			s = p.upgradeStream()
		case dir == proto.ToClient && !b.push:
			return // a response to a request not seen: nothing to pair it with
		default:
			s = p.stream(b.stream)
		}
	}
	if b.err {
		addFlag(&s.flags, "hpack-desync")
	}
	if h.lost {
		addFlag(&s.flags, "after-gap")
	}
	sd := s.side(dir)
	if b.push {
		sd = &s.req
		addFlag(&s.flags, "push")
		s.req.ended = true
	}
	fields := slices.Clone(b.fields)
	if sd.fields == nil {
		if dir == proto.ToClient && !b.push {
			st, _ := strconv.Atoi(pseudo(fields, ":status"))
			if st >= 100 && st < 200 {
				if len(sd.interim) < maxInterim {
					sd.interim = append(sd.interim, st)
				}
				return
			}
			sd.status = st
		}
		if fields == nil {
			fields = []Header{}
		}
		sd.started, sd.meta, sd.fields, sd.limit = true, b.meta, fields, b.limit
	} else if len(sd.trail)+len(fields) <= maxTrailers {
		sd.trail = append(sd.trail, fields...)
	} else {
		sd.limit = true // trailer blocks past maxTrailers fields: dropped
	}
	if b.endStream {
		p.endSide(s, dir)
	}
}

func pseudo(fields []Header, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (s *stream) side(dir proto.Dir) *side {
	if dir == proto.ToServer {
		return &s.req
	}
	return &s.resp
}

// stream returns a new stream, emitting the oldest first when MaxStreams
// are tracked.
func (p *Parser) stream(id uint32) *stream {
	if len(p.streams) >= p.lim.MaxStreams {
		oldest := uint32(0)
		for sid := range p.streams {
			if oldest == 0 || sid < oldest {
				oldest = sid
			}
		}
		s := p.streams[oldest]
		addFlag(&s.flags, "stream-limit")
		p.finish(s)
	}
	s := &stream{id: id}
	p.streams[id] = s
	p.opened1 = p.opened1 || id == 1
	return s
}

func (p *Parser) endSide(s *stream, dir proto.Dir) {
	s.side(dir).ended = true
	if dir == proto.ToClient {
		p.finish(s)
	}
}

// finish emits a stream and forgets it.
func (p *Parser) finish(s *stream) {
	delete(p.streams, s.id)
	ev := p.event(s)
	p.stats.Streams++
	if p.emit != nil && ev != nil {
		p.emit(ev)
	}
}

// Gap implements proto.StreamParser. A gap inside a DATA frame's payload
// keeps frame boundaries (its size is known) and only marks the body; any
// other loss restarts the direction's header table and looks for the next
// frame boundary.
func (p *Parser) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient || p.ended || n <= 0 {
		return
	}
	h := &p.h[dir]
	if h.sync && h.inFrame && n <= h.need && h.frameType() == http2.FrameData {
		if !h.gapped && !h.skip {
			p.dataWire(dir, h, len(h.buf)-headerLen) // what was buffered is lost with the frame
		}
		h.gapped = true
		p.dataWire(dir, h, n)
		if s := p.streams[h.streamID()]; s != nil {
			addFlag(&s.side(dir).flags, "gap")
		}
		h.need -= n
		if h.need == 0 {
			h.inFrame = false
			p.dataEnd(dir, h)
		}
		return
	}
	if h.sync && h.inFrame && h.skip && n <= h.need {
		h.need -= n
		if h.need == 0 {
			h.inFrame = false
			p.skipped(dir, h)
		}
		return
	}
	p.lose(dir, h)
}

// dataWire counts n bytes of a gapped DATA frame on its stream.
func (p *Parser) dataWire(dir proto.Dir, h *half, n int) {
	if s := p.streams[h.streamID()]; s != nil {
		s.side(dir).wire += int64(n)
	}
}

// dataEnd ends a gapped DATA frame.
func (p *Parser) dataEnd(dir proto.Dir, h *half) {
	if s := p.streams[h.streamID()]; s != nil && h.hdr[4]&0x1 != 0 {
		p.endSide(s, dir)
	}
}

// lose drops frame sync in one direction: the open header block fails,
// the table restarts, open streams' bodies this way are marked "gap".
func (p *Parser) lose(dir proto.Dir, h *half) {
	if h.blk.open {
		p.failBlock(dir, h)
	}
	p.resetTable(h, true)
	p.newFramer(h)
	h.sync, h.inFrame, h.nh, h.preface = false, false, 0, -1
	h.carry = h.carry[:0]
	for _, s := range p.streams {
		if sd := s.side(dir); sd.started && !sd.ended {
			addFlag(&sd.flags, "gap")
		}
	}
}

// resync looks for a frame boundary in carried bytes plus data: a valid
// frame header whose frame is followed by another valid header. It returns
// the data not yet consumed.
func (p *Parser) resync(dir proto.Dir, h *half, data []byte, m proto.Meta) []byte {
	if len(h.carry) == 0 {
		h.cmeta = m
	}
	take := min(len(data), maxCarry-len(h.carry))
	h.carry = append(h.carry, data[:take]...)
	data = data[take:]
	for i := 0; i+headerLen <= len(h.carry); i++ {
		l, ok := validHeader(h.carry[i:])
		if !ok {
			continue
		}
		next := i + headerLen + l
		if next+headerLen > len(h.carry) {
			// Not confirmable yet: keep from i on and wait for more bytes
			// (a resync frame always fits in maxCarry).
			h.carry = append(h.carry[:0], h.carry[i:]...)
			return data
		}
		if _, ok := validHeader(h.carry[next:]); !ok {
			continue
		}
		p.stats.Resyncs++
		h.sync = true
		rest := slices.Clone(h.carry[i:])
		h.carry = h.carry[:0]
		p.Data(dir, rest, m)
		return data
	}
	// No boundary: keep the last bytes that could start a header.
	keep := min(len(h.carry), headerLen-1)
	h.carry = append(h.carry[:0], h.carry[len(h.carry)-keep:]...)
	return data
}

// validHeader reports whether b starts with a plausible frame header for a
// resync point, and the frame's length.
func validHeader(b []byte) (int, bool) {
	if len(b) < headerLen {
		return 0, false
	}
	l := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	t, fl := b[3], b[4]
	sid := (uint32(b[5])<<24 | uint32(b[6])<<16 | uint32(b[7])<<8 | uint32(b[8]))
	if l > resyncFrame || sid&0x80000000 != 0 {
		return 0, false
	}
	var flags byte
	ok := true
	switch http2.FrameType(t) {
	case http2.FrameData:
		flags, ok = 0x09, sid != 0
	case http2.FrameHeaders:
		flags, ok = 0x2d, sid != 0
	case http2.FramePriority:
		ok = sid != 0 && l == 5
	case http2.FrameRSTStream:
		ok = sid != 0 && l == 4
	case http2.FrameSettings:
		flags, ok = 0x01, sid == 0 && l%6 == 0 && (fl&1 == 0 || l == 0)
	case http2.FramePushPromise:
		flags, ok = 0x0c, sid != 0 && l >= 4
	case http2.FramePing:
		flags, ok = 0x01, sid == 0 && l == 8
	case http2.FrameGoAway:
		ok = sid == 0 && l >= 8
	case http2.FrameWindowUpdate:
		ok = l == 4
	default: // CONTINUATION cannot start a block; unknown types are not trusted
		return 0, false
	}
	return l, ok && fl&^flags == 0
}

// End implements proto.StreamParser: streams still open are emitted,
// flagged "incomplete", in stream order.
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	p.ended = true
	ids := make([]uint32, 0, len(p.streams))
	for id := range p.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := p.streams[id]
		if !slices.Contains(s.flags, "reset") {
			addFlag(&s.flags, "incomplete")
		}
		p.finish(s)
	}
}

func addFlag(flags *[]string, f string) {
	if !slices.Contains(*flags, f) {
		*flags = append(*flags, f)
	}
}

// splitPath splits a :path into path and raw query.
func splitPath(uri string) (path, query string) {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i], uri[i+1:]
	}
	return uri, ""
}
