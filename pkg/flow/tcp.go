package flow

import (
	"github.com/phonehome/phonehome/pkg/proto"
)

// The reassembler keeps, per direction, the next expected sequence number
// and a short sorted list of segments that arrived ahead of a hole. Data
// that arrives in order is handed on without copying. A hole is given up
// (reported as a gap, and the stream continues after it) when the peer
// acknowledges past it, when a buffer cap is reached, or when the flow ends.
// Overlapping bytes: the first copy seen wins, as in Wireshark's follow.

// MaxSegments bounds the segments buffered ahead of a hole per direction.
// Insertion into the sorted list copies its tail, so tiny segments
// arriving in reverse order would otherwise cost quadratic time, and
// segments cut to their headers by the snap length hold no bytes for the
// byte caps to count. Reaching it gives the first hole up, like the byte
// caps (TableStats.BufferDropped). 1024 full-size segments are 1.4 MiB,
// more than the default per-direction buffer.
const MaxSegments = 1024

type seg struct {
	seq     uint32
	data    []byte
	claimed int // sequence space the segment covers (>= len(data))
	m       proto.Meta
}

func (s *seg) end() uint32 { return s.seq + uint32(s.claimed) }

type half struct {
	init  bool
	next  uint32
	segs  []seg
	bytes int
	// A capture that starts mid-connection often starts with a keep-alive
	// probe: one byte at next-1. The first one-byte segment is held until
	// the next segment tells whether it was a probe (data follows at seq+1)
	// or data.
	probe     bool
	probeSeq  uint32
	probeByte []byte
	probeMeta proto.Meta
}

type tcpConn struct {
	h [2]half
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

func (t *Table) tcpSegment(f *Flow, dir proto.Dir, p *Packet) {
	if f.tcp == nil {
		if p.Claimed == 0 && p.Flags&(FlagSYN|FlagFIN|FlagRST) == 0 {
			return // pure ACK before any state: nothing to do
		}
		if n := len(t.freeTCP); n > 0 {
			f.tcp, t.freeTCP[n-1] = t.freeTCP[n-1], nil
			t.freeTCP = t.freeTCP[:n-1]
		} else {
			f.tcp = &tcpConn{}
		}
	}
	c := f.tcp
	h := &c.h[dir]
	m := proto.Meta{Frame: p.Frame, Time: p.Time}
	seq := p.Seq
	if p.Flags&FlagSYN != 0 {
		seq++
		if !h.init {
			h.init, h.next = true, seq
		}
	}
	if p.Flags&FlagACK != 0 {
		o := &c.h[1-dir]
		if o.init && len(o.segs) > 0 && seqLT(o.next, p.Ack) {
			// The peer has everything up to Ack; what we lack is lost.
			for len(o.segs) > 0 && seqLT(o.next, p.Ack) && seqLE(o.segs[0].seq, p.Ack) {
				t.skipHole(f, 1-dir, o)
			}
		}
	}
	if p.Claimed > 0 {
		if !h.init {
			if !t.startMidstream(f, dir, h, seq, p, m) {
				t.tcpFlags(f, dir, p)
				return
			}
		}
		t.insert(f, dir, h, seq, p.Payload, p.Claimed, m)
	}
	t.tcpFlags(f, dir, p)
}

// startMidstream sets the start of a direction first seen without a SYN.
// It returns false while a possible keep-alive probe is held back.
func (t *Table) startMidstream(f *Flow, dir proto.Dir, h *half, seq uint32, p *Packet, m proto.Meta) bool {
	plain := p.Flags&(FlagSYN|FlagFIN|FlagRST) == 0
	switch {
	case !h.probe && p.Claimed == 1 && plain:
		h.probe, h.probeSeq, h.probeMeta = true, seq, m
		h.probeByte = append(h.probeByte[:0], p.Payload...)
		return false
	case h.probe && seq == h.probeSeq && p.Claimed == 1 && plain:
		return false // the probe again
	case h.probe && (seq == h.probeSeq+1 || seq == h.probeSeq):
		t.Stats.KeepAlives++ // it was a probe: the stream starts here
		h.init, h.next, h.probe = true, seq, false
	case h.probe:
		// It was data after all: deliver it first.
		h.init, h.next, h.probe = true, h.probeSeq, false
		t.insert(f, dir, h, h.probeSeq, h.probeByte, 1, h.probeMeta)
	default:
		h.init, h.next = true, seq
	}
	return true
}

func (t *Table) tcpFlags(f *Flow, dir proto.Dir, p *Packet) {
	if p.Flags&FlagRST != 0 {
		if f.State == Open {
			f.State = Reset
		}
		if f.tcp != nil {
			t.flushTCP(f)
		}
		return
	}
	if p.Flags&FlagFIN != 0 {
		f.finMask |= 1 << dir
		if f.finMask == 3 && f.State == Open {
			f.State = Closed
			if f.tcp != nil {
				t.flushTCP(f)
			}
		}
	}
}

func (t *Table) insert(f *Flow, dir proto.Dir, h *half, seq uint32, data []byte, claimed int, m proto.Meta) {
	end := seq + uint32(claimed)
	if seqLE(end, h.next) {
		t.Stats.Retransmitted++
		return
	}
	if seqLE(seq, h.next) {
		t.deliver(f, dir, h, seq, data, claimed, m)
		t.drain(f, dir, h)
		return
	}
	// Ahead of a hole: buffer a copy, within the caps.
	for len(h.segs) > 0 && (len(h.segs) >= MaxSegments || h.bytes+len(data) > t.cfg.MaxFlowBuffer || t.buffered+int64(len(data)) > t.cfg.MaxTotalBuffer) {
		t.Stats.BufferDropped++
		t.skipHole(f, dir, h)
		if seqLE(seq, h.next) {
			t.insert(f, dir, h, seq, data, claimed, m)
			return
		}
	}
	if len(data) > t.cfg.MaxFlowBuffer || t.buffered+int64(len(data)) > t.cfg.MaxTotalBuffer {
		// Even alone it does not fit: give up the hole before it.
		t.Stats.BufferDropped++
		gap := int(seq - h.next)
		t.gap(f, dir, gap, m)
		h.next = seq
		t.deliver(f, dir, h, seq, data, claimed, m)
		return
	}
	t.Stats.OutOfOrder++
	s := seg{seq: seq, data: append([]byte(nil), data...), claimed: claimed, m: m}
	i := len(h.segs)
	for i > 0 && seqLT(seq, h.segs[i-1].seq) {
		i--
	}
	if i > 0 && h.segs[i-1].seq == seq && h.segs[i-1].claimed >= claimed {
		t.Stats.Retransmitted++
		return
	}
	h.segs = append(h.segs, seg{})
	copy(h.segs[i+1:], h.segs[i:])
	h.segs[i] = s
	h.bytes += len(s.data)
	t.buffered += int64(len(s.data))
	if t.buffered > t.Stats.PeakBuffered {
		t.Stats.PeakBuffered = t.buffered
	}
}

// deliver hands on the part of a segment at or after h.next (seq <= h.next).
func (t *Table) deliver(f *Flow, dir proto.Dir, h *half, seq uint32, data []byte, claimed int, m proto.Meta) {
	skip := int(h.next - seq)
	if skip < len(data) {
		t.h.Stream(f, dir, data[skip:], m)
	}
	if claimed > len(data) {
		// The snap length cut the segment: the rest was never captured.
		from := skip
		if from < len(data) {
			from = len(data)
		}
		if n := claimed - from; n > 0 {
			t.gap(f, dir, n, m)
		}
	}
	h.next = seq + uint32(claimed)
}

// drain delivers buffered segments that have become contiguous.
func (t *Table) drain(f *Flow, dir proto.Dir, h *half) {
	for len(h.segs) > 0 && seqLE(h.segs[0].seq, h.next) {
		s := h.segs[0]
		h.segs[0] = seg{}
		h.segs = h.segs[1:]
		h.bytes -= len(s.data)
		t.buffered -= int64(len(s.data))
		if seqLT(h.next, s.end()) {
			t.deliver(f, dir, h, s.seq, s.data, s.claimed, s.m)
		} else {
			t.Stats.Retransmitted++
		}
	}
	if len(h.segs) == 0 {
		h.segs = nil
	}
}

// skipHole gives up the hole before the first buffered segment.
func (t *Table) skipHole(f *Flow, dir proto.Dir, h *half) {
	if len(h.segs) == 0 {
		return
	}
	first := h.segs[0]
	if seqLT(h.next, first.seq) {
		t.gap(f, dir, int(first.seq-h.next), first.m)
		h.next = first.seq
	}
	t.drain(f, dir, h)
}

func (t *Table) gap(f *Flow, dir proto.Dir, n int, m proto.Meta) {
	if n <= 0 {
		return
	}
	f.GapBytes += uint64(n)
	t.Stats.GapBytes += uint64(n)
	t.h.Gap(f, dir, n, m)
}

// flushTCP delivers everything still buffered, giving up the holes.
func (t *Table) flushTCP(f *Flow) {
	for d := range f.tcp.h {
		h := &f.tcp.h[d]
		for len(h.segs) > 0 {
			t.skipHole(f, proto.Dir(d), h)
		}
	}
}
