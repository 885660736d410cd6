package mqtt

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"

	"github.com/phonehome/phonehome/pkg/proto"
)

const maxCarry = 1 << 10 // bytes kept while a resync candidate is unconfirmed

// half is the parsing state of one direction.
type half struct {
	sync    bool // false: searching for a packet boundary
	resync  bool // flag the next event "resync"
	started bool // bytes were seen
	hdr     [5]byte
	nh      int  // header bytes collected
	inBody  bool // header complete, body pending
	rem     int  // remaining length of the current packet
	got     int  // body bytes consumed
	buf     []byte
	gap     bool // body bytes of the current packet were lost: keep no more
	meta    proto.Meta
	carry   []byte
	marks   []mark // where in carry each call's bytes begin
}

// mark records that carried bytes from off on came with m.
type mark struct {
	off int
	m   proto.Meta
}

// rebase returns the marks of marks[from:to], relative to from.
func rebase(marks []mark, from, to int) []mark {
	var out []mark
	for k, mk := range marks {
		if mk.off >= to {
			break
		}
		if k+1 < len(marks) && marks[k+1].off <= from {
			continue
		}
		out = append(out, mark{off: max(mk.off-from, 0), m: mk.m})
	}
	return out
}

// Parser decodes one connection. It implements proto.StreamParser.
type Parser struct {
	lim     Limits
	emit    func(*Event)
	h       [2]half
	version int // protocol level from CONNECT, 0 until seen
	counts  [2][16]uint64
	ended   bool
}

// New returns a Parser that calls emit for each CONNECT, CONNACK, PUBLISH,
// SUBSCRIBE and UNSUBSCRIBE, and once at End with the packet counts. The
// Event belongs to the callee.
func New(lim Limits, emit func(*Event)) *Parser {
	p := &Parser{lim: lim.withDefaults(), emit: emit}
	return p
}

// Counts returns how many packets of each type (index = MQTT packet type)
// were decoded per direction.
func (p *Parser) Counts() [2][16]uint64 { return p.counts }

// Data implements proto.StreamParser.
func (p *Parser) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || p.ended {
		return
	}
	p.feed(dir, data, m, false)
}

// feed parses data; final says no more bytes will follow.
func (p *Parser) feed(dir proto.Dir, data []byte, m proto.Meta, final bool) {
	h := &p.h[dir]
	if !h.started && len(data) > 0 {
		// Trust a stream that starts with a valid header; otherwise look for
		// a packet boundary.
		h.started = true
		h.sync = validHeader(data[0])
		h.resync = !h.sync
	}
	for len(data) > 0 {
		if !h.sync {
			var pre []byte
			var marks []mark
			pre, marks, data = p.resync(h, data, m, final)
			p.feedMarked(dir, pre, marks, final && len(data) == 0)
			continue
		}
		if !h.inBody {
			if h.nh == 0 {
				h.meta = m
				if !validHeader(data[0]) {
					h.sync, h.resync = false, true
					continue
				}
				// Fast path: the whole packet is in data.
				if v, n, ok := remLen(data[1:]); ok && v <= p.lim.MaxPacket && 1+n+v <= len(data) {
					p.packet(dir, h, data[0], data[1+n:1+n+v], v)
					data = data[1+n+v:]
					continue
				}
			}
			h.hdr[h.nh] = data[0]
			h.nh++
			data = data[1:]
			if h.nh < 2 {
				continue
			}
			v, n, ok := remLen(h.hdr[1:h.nh])
			switch {
			case ok:
				h.inBody, h.rem, h.got, h.buf, h.gap = true, v, 0, h.buf[:0], false
			case n == 4:
				h.nh, h.sync, h.resync = 0, false, true
				continue
			default:
				continue
			}
		}
		// Body bytes: keep up to MaxPacket, skip the rest.
		n := min(len(data), h.rem-h.got)
		if keep := min(n, p.lim.MaxPacket-len(h.buf)); keep > 0 && !h.gap {
			h.buf = append(h.buf, data[:keep]...)
		}
		h.got += n
		data = data[n:]
		if h.got == h.rem {
			p.packet(dir, h, h.hdr[0], h.buf, h.rem)
		}
	}
}

// feedMarked feeds carried bytes, each run with the Meta it came with.
func (p *Parser) feedMarked(dir proto.Dir, b []byte, marks []mark, final bool) {
	for k, mk := range marks {
		end := len(b)
		if k+1 < len(marks) {
			end = marks[k+1].off
		}
		p.feed(dir, b[mk.off:end], mk.m, final && k == len(marks)-1)
	}
}

// packet decodes one complete packet (body possibly cut to MaxPacket) and
// resets the header state.
func (p *Parser) packet(dir proto.Dir, h *half, first byte, body []byte, size int) {
	gap := h.gap
	h.nh, h.inBody, h.gap = 0, false, false
	if cap(h.buf) > 64<<10 {
		h.buf = nil
	}
	t := first >> 4
	p.counts[dir][t]++
	ev, ok := decode(first, body, size, p.version, p.lim.MaxPayload)
	if t == typeConnect && ok {
		p.version = ev.Version
	}
	if t == typeConnack && ok && p.version == 0 && len(body) > 2 {
		p.version = 5 // only MQTT 5 CONNACKs carry properties
	}
	if ev == nil {
		return
	}
	if gap {
		ev.Flags = append(ev.Flags, "gap")
	}
	if h.resync {
		ev.Flags = append(ev.Flags, "resync")
		h.resync = false
	}
	ev.Frame, ev.Time, ev.Dir = h.meta.Frame, h.meta.Time, dir.String()
	if p.emit != nil {
		p.emit(ev)
	}
}

type verdict uint8

const (
	no verdict = iota
	yes
	more
)

// candidate says whether a packet plausibly starts at b[0]: a valid fixed
// header, a body that decodes, and a valid next header. b is a window of at
// most maxCarry bytes; complete says no more bytes can be added to it (it
// is full, or the stream ended), so the answer must not be more.
func candidate(b []byte, version, maxPacket int, complete bool) verdict {
	if len(b) == 0 || !validHeader(b[0]) {
		return no
	}
	v, n, ok := remLen(b[1:])
	switch {
	case !ok && n == 4, ok && v > maxPacket && b[0]>>4 != typePublish:
		return no
	case !ok && complete:
		return no
	case !ok:
		return more
	}
	end := 1 + n + v
	if end <= len(b) {
		if _, good := decode(b[0], b[1+n:end], v, version, 0); !good {
			return no
		}
		switch {
		case end < len(b) && !validHeader(b[end]):
			return no
		case end == len(b) && !complete:
			return more // wait for the next header
		}
		return yes
	}
	if !complete {
		return more
	}
	// Only the start of a long packet is visible: check what it holds.
	t := b[0] >> 4
	if t != typePublish && t != typeConnect {
		return no
	}
	s := cryptobyte.String(b[1+n:])
	var str cryptobyte.String
	switch {
	case !s.ReadUint16LengthPrefixed(&str), len(str)+2 > v, !validString(str):
		return no
	case t == typeConnect && string(str) != "MQTT" && string(str) != "MQIsdp":
		return no
	case t == typePublish && len(str) == 0 && version != 5:
		return no
	}
	return yes
}

// resync looks for a packet boundary in carry+data. It returns the carried
// bytes from the boundary on with their marks (to parse first), and the
// bytes of data to parse next; all nil when no boundary is found yet.
func (p *Parser) resync(h *half, data []byte, m proto.Meta, final bool) (pre []byte, marks []mark, rest []byte) {
	buf, carry := data, len(h.carry)
	marks = []mark{{0, m}}
	if carry > 0 {
		buf, marks = append(h.carry, data...), h.marks
		if last := marks[len(marks)-1].m; last.Frame != m.Frame || !last.Time.Equal(m.Time) {
			marks = append(marks, mark{carry, m})
		}
		h.carry, h.marks = nil, nil
	}
	h.nh, h.inBody = 0, false
	for i := range buf {
		w := buf[i:min(len(buf), i+maxCarry)]
		switch candidate(w, p.version, p.lim.MaxPacket, final || len(w) == maxCarry) {
		case yes:
			h.sync = true
			if i < carry {
				return buf[i:carry], rebase(marks, i, carry), data
			}
			return nil, nil, data[i-carry:]
		case more:
			h.carry, h.marks = bytes.Clone(buf[i:]), rebase(marks, i, len(buf))
			return nil, nil, nil
		}
	}
	return nil, nil, nil
}

// Gap implements proto.StreamParser.
func (p *Parser) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient || p.ended || n <= 0 {
		return
	}
	h := &p.h[dir]
	h.started = true
	if h.sync && h.inBody && n <= h.rem-h.got {
		// The packet boundary survives: skip into the body, keeping only the
		// prefix received before the gap.
		h.got += n
		h.gap = true
		if h.got == h.rem {
			p.packet(dir, h, h.hdr[0], h.buf, h.rem)
		}
		return
	}
	h.sync, h.resync, h.nh, h.inBody, h.carry, h.marks = false, true, 0, false, nil, nil
}

// End implements proto.StreamParser: it emits the packet counts.
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	for d := range p.h {
		h := &p.h[d]
		if c, marks := h.carry, h.marks; len(c) > 0 {
			h.carry, h.marks = nil, nil
			p.feedMarked(proto.Dir(d), c, marks, true)
		}
		if h.sync && h.inBody && len(h.buf) > 0 {
			h.gap = true // cut short by the end of the capture
			p.packet(proto.Dir(d), h, h.hdr[0], h.buf, h.rem)
		}
	}
	p.ended = true
	var counts []Count
	for d := range p.counts {
		for t, n := range p.counts[d] {
			if n > 0 {
				counts = append(counts, Count{Dir: proto.Dir(d).String(), Packet: typeName(byte(t)), N: n})
			}
		}
	}
	if len(counts) > 0 && p.emit != nil {
		p.emit(&Event{Frame: m.Frame, Time: m.Time, Dir: "both", Packet: "summary", Version: p.version, Counts: counts})
	}
}
