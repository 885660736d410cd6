package stun

import (
	"encoding/binary"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Stream decodes STUN/TURN over TCP or TLS (RFC 8489 §6.2.2, RFC 8656
// §11.5): messages are self-delimiting (20-byte header plus length) and,
// once a TURN channel is bound, interleaved with ChannelData frames (4-byte
// header, padded to 4 bytes), which are skipped. It implements
// proto.StreamParser; buffering is bounded by one frame per direction. Use
// it for connections whose first bytes Detect accepts; a direction that
// stops looking like STUN is dropped.
type Stream struct {
	emit func(dir proto.Dir, m *Message, meta proto.Meta, err error)
	msg  Message
	side [2]struct {
		buf  []byte
		meta proto.Meta
		dead bool
	}
	// Messages counts messages handed to emit; Skipped counts bytes dropped.
	Messages, Skipped uint64
}

var _ proto.StreamParser = (*Stream)(nil)

// NewStream returns a Stream calling emit for each message; m is only valid
// during the call.
func NewStream(emit func(dir proto.Dir, m *Message, meta proto.Meta, err error)) *Stream {
	return &Stream{emit: emit}
}

// frameLen returns the length of the frame starting at b (which has at
// least 4 bytes), or -1 if b does not start a STUN or ChannelData frame.
func frameLen(b []byte) int {
	n := int(binary.BigEndian.Uint16(b[2:]))
	switch b[0] >> 6 {
	case 0:
		if n%4 != 0 {
			return -1
		}
		return HeaderLen + n
	case 1: // ChannelData, channel numbers 0x4000-0x4FFF (padded over TCP)
		if b[0] > 0x4F {
			return -1
		}
		return 4 + (n+3)&^3
	}
	return -1
}

// Data consumes in-order bytes of one direction.
func (s *Stream) Data(dir proto.Dir, data []byte, meta proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	sd := &s.side[dir]
	if sd.dead {
		s.Skipped += uint64(len(data))
		return
	}
	for len(data) > 0 {
		if len(sd.buf) == 0 && len(data) >= 4 {
			n := frameLen(data)
			if n < 0 {
				sd.dead = true
				s.Skipped += uint64(len(data))
				return
			}
			if len(data) >= n {
				s.frame(dir, data[:n], meta)
				data = data[n:]
				continue
			}
		}
		if len(sd.buf) == 0 {
			sd.meta = meta
		}
		want := 4
		if len(sd.buf) >= 4 {
			want = frameLen(sd.buf)
		}
		take := min(want-len(sd.buf), len(data))
		sd.buf = append(sd.buf, data[:take]...)
		data = data[take:]
		if len(sd.buf) < 4 {
			continue
		}
		n := frameLen(sd.buf)
		if n < 0 {
			sd.dead = true
			s.Skipped += uint64(len(sd.buf) + len(data))
			sd.buf = nil
			return
		}
		// A frame may be exactly its 4-byte header (empty ChannelData).
		if len(sd.buf) == n {
			s.frame(dir, sd.buf, sd.meta)
			sd.buf = sd.buf[:0]
		}
	}
}

func (s *Stream) frame(dir proto.Dir, b []byte, meta proto.Meta) {
	if b[0]>>6 != 0 {
		return // ChannelData: application payload
	}
	err := Parse(b, &s.msg)
	s.Messages++
	if s.emit != nil {
		s.emit(dir, &s.msg, meta, err)
	}
}

// Gap stops decoding dir: framing cannot be recovered.
func (s *Stream) Gap(dir proto.Dir, n int, meta proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	s.side[dir].dead = true
	s.Skipped += uint64(len(s.side[dir].buf))
	s.side[dir].buf = nil
}

// End releases buffers.
func (s *Stream) End(meta proto.Meta) {
	for i := range s.side {
		s.Skipped += uint64(len(s.side[i].buf))
		s.side[i].buf = nil
	}
}
