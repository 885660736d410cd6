package engine

import (
	"encoding/binary"
	"net/netip"

	"github.com/phonehome/phonehome/pkg/flow"
)

// tcpDNS cuts DNS answers out of the server side of DNS-over-TCP
// connections (RFC 1035 4.2.2: each message after a two-byte length) in the
// reading goroutine, so that every worker's name cache learns them at the
// same place in the packet order, whichever worker owns the connection.
// Only in-order bytes are used: a hole (a segment lost before the capture)
// restarts the stream at the next segment, which usually begins a message.
// The flow's own worker still reassembles and decodes the connection fully
// for its events.
type tcpDNS struct {
	streams map[tcpDNSKey]*tcpDNSStream
	msg     flow.Packet
}

type tcpDNSKey struct {
	server, client netip.AddrPort
}

type tcpDNSStream struct {
	next    uint32 // next expected sequence number
	started bool
	buf     []byte
}

const (
	maxTCPDNSStreams = 1024
	maxTCPDNSBuffer  = 2 + 65535
)

func newTCPDNS() *tcpDNS { return &tcpDNS{streams: map[tcpDNSKey]*tcpDNSStream{}} }

// segment takes one TCP segment sent from port 53 and calls emit with each
// complete DNS message in it (Payload: the message; Dst: the client).
func (t *tcpDNS) segment(p *flow.Packet, emit func(*flow.Packet)) {
	k := tcpDNSKey{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)}
	st := t.streams[k]
	if p.Flags&(flow.FlagRST|flow.FlagFIN) != 0 && len(p.Payload) == 0 {
		delete(t.streams, k)
		return
	}
	if st == nil {
		if len(t.streams) >= maxTCPDNSStreams {
			clear(t.streams) // many half-open streams: start over (rare; deterministic)
		}
		st = &tcpDNSStream{}
		t.streams[k] = st
	}
	seq := p.Seq
	if p.Flags&flow.FlagSYN != 0 {
		seq++
		st.next, st.started, st.buf = seq, true, st.buf[:0]
	}
	data := p.Payload
	if len(data) == 0 || len(data) < p.Claimed {
		if len(data) < p.Claimed { // cut by the snap length: what follows is lost
			st.started = false
			st.buf = st.buf[:0]
		}
		if p.Flags&(flow.FlagRST|flow.FlagFIN) != 0 {
			delete(t.streams, k)
		}
		return
	}
	switch d := int32(seq - st.next); {
	case !st.started || d > 0:
		// First bytes seen, or a hole: start over here.
		st.buf = st.buf[:0]
	case d < 0:
		if -d >= int32(len(data)) {
			return // retransmission of bytes already seen
		}
		data = data[-d:]
		seq = st.next
	}
	st.started = true
	st.next = seq + uint32(len(data))
	if len(st.buf)+len(data) > maxTCPDNSBuffer {
		st.buf = st.buf[:0]
		st.started = false
		return
	}
	st.buf = append(st.buf, data...)
	for len(st.buf) >= 2 {
		n := int(binary.BigEndian.Uint16(st.buf))
		if len(st.buf) < 2+n {
			break
		}
		m := &t.msg
		*m = *p
		m.Payload = st.buf[2 : 2+n]
		m.Claimed = n
		emit(m)
		st.buf = st.buf[:copy(st.buf, st.buf[2+n:])]
	}
	if p.Flags&(flow.FlagRST|flow.FlagFIN) != 0 {
		delete(t.streams, k)
	}
}
