package http3

import (
	"errors"
	"slices"
	"strconv"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	"github.com/phonehome/phonehome/pkg/qpack"
)

// Limits bound the memory of one Conn. Zero fields take the defaults.
type Limits struct {
	MaxBody        int          // body bytes kept per side of a stream, before and after content decoding (256 KiB)
	MaxHeaderBlock int          // bytes of one HEADERS frame; larger ones are skipped (64 KiB)
	MaxFrame       int          // bytes of one control-stream frame; larger ones are skipped (16 KiB)
	MaxStreams     int          // request streams tracked at once; past it the oldest is emitted (64)
	MaxPending     int          // encoder-stream bytes and header sections held until the SETTINGS they need arrive (256 KiB)
	QPACK          qpack.Limits // per direction; MaxTableCapacity comes from the peer's SETTINGS
}

// DefaultLimits are generous for real connections.
func DefaultLimits() Limits {
	return Limits{MaxBody: 256 << 10, MaxHeaderBlock: 64 << 10, MaxFrame: 16 << 10, MaxStreams: 64, MaxPending: 256 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	if l.MaxHeaderBlock <= 0 {
		l.MaxHeaderBlock = d.MaxHeaderBlock
	}
	if l.MaxFrame <= 0 {
		l.MaxFrame = d.MaxFrame
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.MaxPending <= 0 {
		l.MaxPending = d.MaxPending
	}
	return l
}

// Frame, stream and setting codes (RFC 9114 sections 6.2, 7.2, 7.2.4.1; RFC 9204 section 5).
const (
	frameData     = 0x00
	frameHeaders  = 0x01
	frameSettings = 0x04

	uniControl = 0x00
	uniEncoder = 0x02

	settingQPACKCapacity = 0x01
)

// Stats count what a Conn saw.
type Stats struct {
	Requests     int // request streams emitted
	Settings     [2]bool
	SkippedUni   int // push, QPACK decoder, reserved and unknown unidirectional streams
	EncoderBytes [2]int64
	Dynamic      int // header sections decoded that refer to the dynamic table
	Blocked      int // of them, sections that had to wait for the encoder stream
}

// Conn decodes the HTTP/3 of one QUIC connection. Its methods have the
// shape of pkg/quicdecrypt's Handler; End emits what is left.
type Conn struct {
	lim    Limits
	emit   func(*Event)
	uni    map[uint64]*uniStream
	reqs   map[uint64]*reqStream
	qp     [2]*qpack.Decoder // decoder of the header sections sent in each direction
	static *qpack.Decoder    // sections that use only the static table
	// Held until the SETTINGS of the receiving side: the encoder stream
	// bytes and header sections each direction sent.
	pendEnc [2][]byte
	pendSec [2][]*slot
	pendN   int
	desync  [2]bool // the encoder stream of a direction lost bytes
	tokens  map[uint64]*slot
	nextTok uint64
	closed  map[uint64]bool // request streams already emitted (at most maxClosed)
	stats   Stats
	ended   bool
}

// New returns a Conn that reports each request stream to emit.
func New(lim Limits, emit func(*Event)) *Conn {
	lim = lim.withDefaults()
	st := lim.QPACK
	st.MaxTableCapacity = 0
	return &Conn{lim: lim, emit: emit, uni: map[uint64]*uniStream{}, reqs: map[uint64]*reqStream{},
		static: qpack.NewDecoder(st), tokens: map[uint64]*slot{}, closed: map[uint64]bool{}}
}

// Stats returns the counters so far.
func (c *Conn) Stats() Stats { return c.stats }

// frames splits one direction of a stream into frames: DATA payload is
// handed on as it comes, other frames whole up to max bytes.
type frames struct {
	hdr     []byte // partial frame header (type, length varints)
	typ     uint64
	left    uint64 // payload bytes of the current frame still to come
	in      bool   // inside a frame's payload
	buf     []byte
	skip    bool // the current frame is too large: skipped
	dead    bool // a gap or a framing error: nothing more is read
	started bool
}

// feed reads b; data gets DATA payload, frame whole other frames,
// tooLarge the type of a frame skipped. It returns false on a framing
// error (then dead).
func (f *frames) feed(b []byte, max int, data func([]byte), frame func(typ uint64, payload []byte), tooLarge func(typ uint64)) bool {
	for len(b) > 0 && !f.dead {
		if !f.in {
			need := len(f.hdr)
			f.hdr = append(f.hdr, b[:min(len(b), 16-need)]...)
			typ, n1, ok := quic.Varint(f.hdr)
			if !ok {
				b = b[len(f.hdr)-need:]
				continue
			}
			l, n2, ok := quic.Varint(f.hdr[n1:])
			if !ok {
				if len(f.hdr) >= 16 {
					f.dead = true
					return false
				}
				b = b[len(f.hdr)-need:]
				continue
			}
			used := n1 + n2 - need // bytes of b that were header
			b = b[used:]
			f.hdr = f.hdr[:0]
			f.typ, f.left, f.in, f.skip, f.buf = typ, l, true, false, f.buf[:0]
			if typ != frameData && l > uint64(max) {
				f.skip = true
				tooLarge(typ)
			}
			if l == 0 {
				f.done(frame)
			}
			continue
		}
		n := int(min(uint64(len(b)), f.left))
		p := b[:n]
		b = b[n:]
		f.left -= uint64(n)
		switch {
		case f.typ == frameData:
			data(p)
		case !f.skip:
			f.buf = append(f.buf, p...)
		}
		if f.left == 0 {
			f.done(frame)
		}
	}
	return !f.dead
}

func (f *frames) done(frame func(uint64, []byte)) {
	f.in = false
	if f.typ != frameData && !f.skip {
		frame(f.typ, f.buf)
	}
}

// partial reports whether the direction stopped inside a frame.
func (f *frames) partial() bool { return f.in || len(f.hdr) > 0 }

type uniStream struct {
	dir   proto.Dir
	typ   uint64
	known bool
	head  []byte
	fr    frames
	dead  bool
}

// slot is one header section of a stream side, in the order sent.
type slot struct {
	fields []qpack.Field
	done   bool
	failed bool
	block  []byte // held until the SETTINGS it needs
	req    *reqStream
	dir    proto.Dir
	meta   proto.Meta
}

type side struct {
	fr        frames
	meta      proto.Meta
	slots     []*slot
	headers   []qpack.Field
	trailers  []qpack.Field
	status    int
	raw       []byte
	wire      int64
	bodyFlags []string
	ended     bool
	gap       bool
	limit     bool
}

type reqStream struct {
	id    uint64
	req   side
	resp  side
	flags []string
}

func (r *reqStream) side(dir proto.Dir) *side {
	if dir == proto.ToServer {
		return &r.req
	}
	return &r.resp
}

// StreamData takes in-order bytes of stream id sent in direction dir.
func (c *Conn) StreamData(dir proto.Dir, id uint64, data []byte, m proto.Meta) {
	if c.ended || len(data) == 0 {
		return
	}
	dir &= 1
	switch id & 3 {
	case 0: // client-initiated bidirectional: a request stream
		r := c.request(id)
		if r == nil {
			return
		}
		c.requestData(r, dir, data, m)
	case 2, 3: // unidirectional
		c.uniData(dir, id, data, m)
	}
}

// maxClosed bounds the ids of emitted streams remembered, so that bytes
// arriving after a stream was emitted early (stream-limit) do not make a
// second event of its rest.
const maxClosed = 4096

func (c *Conn) request(id uint64) *reqStream {
	if r := c.reqs[id]; r != nil {
		return r
	}
	if c.closed[id] {
		return nil
	}
	if len(c.reqs) >= c.lim.MaxStreams {
		oldest := uint64(1<<64 - 1)
		for sid := range c.reqs {
			oldest = min(oldest, sid)
		}
		o := c.reqs[oldest]
		addFlag(&o.flags, "stream-limit")
		c.finish(o)
	}
	r := &reqStream{id: id}
	c.reqs[id] = r
	return r
}

func (c *Conn) requestData(r *reqStream, dir proto.Dir, data []byte, m proto.Meta) {
	sd := r.side(dir)
	if sd.ended {
		return
	}
	ok := sd.fr.feed(data, c.lim.MaxHeaderBlock, func(p []byte) {
		sd.wire += int64(len(p))
		if room := c.lim.MaxBody - len(sd.raw); room > 0 {
			sd.raw = append(sd.raw, p[:min(len(p), room)]...)
		}
		if len(sd.raw) >= c.lim.MaxBody && int64(len(sd.raw)) < sd.wire {
			addFlag(&sd.bodyFlags, "truncated")
		}
	}, func(typ uint64, payload []byte) {
		if typ == frameHeaders {
			c.section(r, dir, payload, m)
		}
	}, func(typ uint64) {
		if typ == frameHeaders {
			addFlag(&r.flags, "frame-too-large")
		}
	})
	if !ok {
		sd.ended, sd.gap = true, true
		addFlag(&r.flags, "malformed")
	}
}

// section decodes (or holds) one HEADERS payload of a request stream.
func (c *Conn) section(r *reqStream, dir proto.Dir, block []byte, m proto.Meta) {
	sd := r.side(dir)
	s := &slot{req: r, dir: dir, meta: m}
	if len(sd.slots) == 0 {
		sd.meta = m
	}
	if len(sd.slots) >= 64 {
		sd.limit = true
		return
	}
	sd.slots = append(sd.slots, s)
	switch {
	case len(block) == 0 || block[0] == 0:
		// Required Insert Count 0: the static table and literals only.
		s.fields, s.failed = c.decode(c.static, s, block)
		s.done = true
	case c.desync[dir]:
		s.done, s.failed = true, true
	case c.qp[dir] == nil:
		if c.pendN+len(block) > c.lim.MaxPending {
			s.done, s.failed = true, true
			return
		}
		s.block = append([]byte(nil), block...)
		c.pendN += len(block)
		c.pendSec[dir] = append(c.pendSec[dir], s)
	default:
		c.decodeDynamic(s, block)
	}
}

func (c *Conn) decode(d *qpack.Decoder, s *slot, block []byte) ([]qpack.Field, bool) {
	f, err := d.Decode(0, block)
	return f, err != nil
}

// decodeDynamic decodes a section that may use the dynamic table; a
// blocked one comes back through release.
func (c *Conn) decodeDynamic(s *slot, block []byte) {
	c.nextTok++
	tok := c.nextTok
	f, err := c.qp[s.dir].Decode(tok, block)
	switch {
	case errors.Is(err, qpack.ErrBlocked) && !errors.Is(err, qpack.ErrLimit):
		c.tokens[tok] = s
		c.stats.Blocked++
	case err != nil:
		s.done, s.failed = true, true
	default:
		s.fields, s.done = f, true
		c.stats.Dynamic++
	}
}

func (c *Conn) release(secs []qpack.Section) {
	for _, sec := range secs {
		s := c.tokens[sec.Stream]
		if s == nil {
			continue
		}
		delete(c.tokens, sec.Stream)
		s.fields, s.done, s.failed = sec.Fields, true, sec.Err != nil
		if sec.Err == nil {
			c.stats.Dynamic++
		}
		c.maybeFinish(s.req)
	}
}

func (c *Conn) uniData(dir proto.Dir, id uint64, data []byte, m proto.Meta) {
	u := c.uni[id]
	if u == nil {
		if len(c.uni) >= 64 {
			return
		}
		u = &uniStream{dir: dir}
		c.uni[id] = u
	}
	if u.dead || u.dir != dir {
		return
	}
	if !u.known {
		need := len(u.head)
		u.head = append(u.head, data[:min(len(data), 8-need)]...)
		typ, n, ok := quic.Varint(u.head)
		if !ok {
			return
		}
		data = data[n-need:]
		u.typ, u.known, u.head = typ, true, nil
		switch typ {
		case uniControl, uniEncoder:
		default:
			c.stats.SkippedUni++
			u.dead = true
			return
		}
	}
	switch u.typ {
	case uniEncoder:
		c.encoder(dir, data)
	case uniControl:
		u.fr.feed(data, c.lim.MaxFrame, func([]byte) {}, func(typ uint64, payload []byte) {
			if typ == frameSettings && !u.fr.started {
				c.settings(dir, payload)
			}
			u.fr.started = true
		}, func(uint64) { u.fr.started = true })
	}
}

// encoder feeds the QPACK encoder stream of dir.
func (c *Conn) encoder(dir proto.Dir, b []byte) {
	if c.desync[dir] {
		return
	}
	c.stats.EncoderBytes[dir] += int64(len(b))
	if c.qp[dir] == nil {
		if c.pendN+len(b) > c.lim.MaxPending {
			c.lose(dir)
			return
		}
		c.pendEnc[dir] = append(c.pendEnc[dir], b...)
		c.pendN += len(b)
		return
	}
	released, err := c.qp[dir].EncoderStream(b)
	c.release(released)
	if err != nil {
		c.lose(dir)
	}
}

// lose marks the encoder stream of dir broken: sections that wait on it
// or need its table from now on are not decoded.
func (c *Conn) lose(dir proto.Dir) {
	c.desync[dir] = true
	c.pendN -= len(c.pendEnc[dir])
	c.pendEnc[dir] = nil
	for _, s := range c.pendSec[dir] {
		c.pendN -= len(s.block)
		s.block, s.done, s.failed = nil, true, true
		c.maybeFinish(s.req)
	}
	c.pendSec[dir] = nil
	for tok, s := range c.tokens {
		if s.dir == dir {
			delete(c.tokens, tok)
			s.done, s.failed = true, true
			c.maybeFinish(s.req)
		}
	}
}

// settings reads the SETTINGS dir sent: its QPACK table capacity is that
// of the decoder of what the other direction sends.
func (c *Conn) settings(dir proto.Dir, b []byte) {
	c.stats.Settings[dir] = true
	var capacity uint64
	for len(b) > 0 {
		id, n, ok := quic.Varint(b)
		if !ok {
			break
		}
		v, m, ok := quic.Varint(b[n:])
		if !ok {
			break
		}
		b = b[n+m:]
		if id == settingQPACKCapacity {
			capacity = v
		}
	}
	peer := 1 - dir
	if c.qp[peer] != nil {
		return
	}
	lim := c.lim.QPACK
	lim.MaxTableCapacity = capacity
	c.qp[peer] = qpack.NewDecoder(lim)
	c.replay(peer)
}

// replay hands what peer sent before the SETTINGS to its new decoder.
func (c *Conn) replay(dir proto.Dir) {
	enc := c.pendEnc[dir]
	c.pendN -= len(enc)
	c.pendEnc[dir] = nil
	secs := c.pendSec[dir]
	c.pendSec[dir] = nil
	if len(enc) > 0 && !c.desync[dir] {
		released, err := c.qp[dir].EncoderStream(enc)
		c.release(released)
		if err != nil {
			c.lose(dir)
		}
	}
	for _, s := range secs {
		c.pendN -= len(s.block)
		block := s.block
		s.block = nil
		if c.desync[dir] {
			s.done, s.failed = true, true
		} else {
			c.decodeDynamic(s, block)
		}
		c.maybeFinish(s.req)
	}
}

// StreamGap reports n bytes of a stream that were not captured.
func (c *Conn) StreamGap(dir proto.Dir, id uint64, n uint64, m proto.Meta) {
	dir &= 1
	switch id & 3 {
	case 0:
		if r := c.reqs[id]; r != nil {
			sd := r.side(dir)
			sd.ended, sd.gap, sd.fr.dead = true, true, true
			addFlag(&r.flags, "gap")
			c.maybeFinish(r)
		}
	case 2, 3:
		if u := c.uni[id]; u != nil && !u.dead {
			u.dead = true
			if u.known && u.typ == uniEncoder {
				c.lose(u.dir)
			}
		}
	}
}

// StreamEnd reports the FIN of a stream.
func (c *Conn) StreamEnd(dir proto.Dir, id uint64, m proto.Meta) {
	if id&3 != 0 {
		return
	}
	r := c.reqs[id]
	if r == nil {
		return
	}
	sd := r.side(dir & 1)
	if sd.fr.partial() {
		addFlag(&r.flags, "incomplete")
	}
	sd.ended = true
	c.maybeFinish(r)
}

// maybeFinish emits r once its response ended and every header section
// is decoded.
func (c *Conn) maybeFinish(r *reqStream) {
	if c.reqs[r.id] != r || !r.resp.ended {
		return
	}
	for _, sd := range []*side{&r.req, &r.resp} {
		for _, s := range sd.slots {
			if !s.done {
				return
			}
		}
	}
	c.finish(r)
}

// End emits every stream still open, flagged.
func (c *Conn) End(m proto.Meta) {
	if c.ended {
		return
	}
	// Sections that waited for SETTINGS that never came cannot be read.
	for dir := range c.pendSec {
		for _, s := range c.pendSec[dir] {
			s.block, s.done, s.failed = nil, true, true
		}
		c.pendSec[dir] = nil
	}
	ids := make([]uint64, 0, len(c.reqs))
	for id := range c.reqs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := c.reqs[id]
		if !r.req.ended || !r.resp.ended {
			addFlag(&r.flags, "incomplete")
		}
		c.finish(r)
	}
	c.ended = true
}

// finish builds r's Event, emits it and forgets r.
func (c *Conn) finish(r *reqStream) {
	delete(c.reqs, r.id)
	if len(c.closed) < maxClosed {
		c.closed[r.id] = true
	}
	ev := &Event{Version: "HTTP/3", StreamID: r.id, Flags: r.flags}
	var interim []int
	for _, x := range []struct {
		sd   *side
		resp bool
	}{{&r.req, false}, {&r.resp, true}} {
		sd := x.sd
		final := false
		for _, s := range sd.slots {
			switch {
			case !s.done:
				addFlag(&ev.Flags, "qpack-blocked")
				continue
			case s.failed:
				addFlag(&ev.Flags, "qpack-desync")
				continue
			}
			if final {
				sd.trailers = append(sd.trailers, s.fields...)
				continue
			}
			if x.resp {
				st, _ := strconv.Atoi(pseudo(s.fields, ":status"))
				if st >= 100 && st < 200 {
					if len(interim) < 16 {
						interim = append(interim, st)
					}
					continue
				}
				sd.status = st
			}
			sd.headers, sd.meta, final = s.fields, s.meta, true
		}
		if sd.gap && sd.wire > 0 {
			addFlag(&sd.bodyFlags, "gap")
		}
		if !final {
			continue
		}
		if x.resp {
			ev.Response = sd.message().Response(c.lim.MaxBody)
		} else {
			ev.Request = sd.message().Request(c.lim.MaxBody)
		}
	}
	// Forget held sections of this stream.
	for _, sd := range []*side{&r.req, &r.resp} {
		for _, s := range sd.slots {
			if !s.done {
				s.done = true
				for tok, t := range c.tokens {
					if t == s {
						delete(c.tokens, tok)
					}
				}
			}
		}
	}
	ev.Interim = interim
	switch {
	case ev.Request != nil:
		ev.Frame, ev.Time = ev.Request.Frame, ev.Request.Time
		if ev.Response == nil {
			addFlag(&ev.Flags, "no-response")
		}
	case ev.Response != nil:
		ev.Frame, ev.Time = ev.Response.Frame, ev.Response.Time
	case len(ev.Flags) == 0:
		return
	default:
		ev.Frame, ev.Time = max(r.req.meta.Frame, r.resp.meta.Frame), r.req.meta.Time
	}
	c.stats.Requests++
	if c.emit != nil {
		c.emit(ev)
	}
}
