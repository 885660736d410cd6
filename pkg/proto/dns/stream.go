package dns

import (
	"encoding/binary"

	"github.com/phonehome/phonehome/pkg/proto"
)

// StreamStats counts what a Stream did.
type StreamStats struct {
	Messages uint64 // messages handed to the callback (including malformed ones)
	Errors   uint64 // messages that Parse rejected
	Skipped  uint64 // bytes dropped after a gap or left incomplete at End
}

// Stream decodes DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message is
// preceded by a 2-byte length, a connection may carry many messages in both
// directions, and messages may be split across or packed into segments. It
// implements proto.StreamParser. Buffering is bounded by one message (65537
// bytes) per direction.
type Stream struct {
	emit  func(dir proto.Dir, m *Message, meta proto.Meta, err error)
	msg   Message
	side  [2]streamSide
	Stats StreamStats
}

type streamSide struct {
	buf  []byte
	meta proto.Meta // where the buffered message started
	lost bool       // a gap broke framing; wait for a segment that resyncs
}

var _ proto.StreamParser = (*Stream)(nil)

// NewStream returns a Stream that calls emit for every complete message,
// with the Meta of the segment that carried its first byte and Parse's
// error (m then holds what was readable). m is only valid during the call.
func NewStream(emit func(dir proto.Dir, m *Message, meta proto.Meta, err error)) *Stream {
	return &Stream{emit: emit}
}

// Data consumes in-order bytes of one direction.
func (s *Stream) Data(dir proto.Dir, data []byte, meta proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	sd := &s.side[dir]
	if sd.lost {
		// After a gap, resynchronise only on a segment that holds exactly
		// one well-formed message; otherwise keep dropping.
		if len(data) >= 2+HeaderLen && int(binary.BigEndian.Uint16(data))+2 == len(data) &&
			Parse(data[2:], &s.msg) == nil {
			sd.lost = false
		} else {
			s.Stats.Skipped += uint64(len(data))
			return
		}
	}
	for len(data) > 0 {
		if len(sd.buf) == 0 {
			if len(data) >= 2 {
				if n := int(binary.BigEndian.Uint16(data)); len(data) >= 2+n {
					s.message(dir, data[2:2+n], meta)
					data = data[2+n:]
					continue
				}
			}
			sd.meta = meta
			sd.buf = append(sd.buf, data...) // shorter than one message
			return
		}
		want := 2
		if len(sd.buf) >= 2 {
			want += int(binary.BigEndian.Uint16(sd.buf))
		}
		take := min(want-len(sd.buf), len(data))
		sd.buf = append(sd.buf, data[:take]...)
		data = data[take:]
		if len(sd.buf) >= 2 && len(sd.buf) == 2+int(binary.BigEndian.Uint16(sd.buf)) {
			s.message(dir, sd.buf[2:], sd.meta)
			sd.buf = sd.buf[:0]
		}
	}
}

func (s *Stream) message(dir proto.Dir, b []byte, meta proto.Meta) {
	err := Parse(b, &s.msg)
	s.Stats.Messages++
	if err != nil {
		s.Stats.Errors++
	}
	if s.emit != nil {
		s.emit(dir, &s.msg, meta, err)
	}
}

// Gap drops the partial message of dir; framing is lost until a segment
// that holds exactly one message arrives.
func (s *Stream) Gap(dir proto.Dir, n int, meta proto.Meta) {
	if dir > proto.ToClient {
		return
	}
	sd := &s.side[dir]
	s.Stats.Skipped += uint64(len(sd.buf))
	sd.buf = sd.buf[:0]
	sd.lost = true
}

// End discards incomplete messages and releases buffers.
func (s *Stream) End(meta proto.Meta) {
	for i := range s.side {
		s.Stats.Skipped += uint64(len(s.side[i].buf))
		s.side[i].buf = nil
	}
}
