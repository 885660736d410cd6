// Package pcaptest gives decoder tests the transport payloads of a capture
// file, read with the product's own reader and decoder (pkg/capture,
// pkg/flow), so corpus tests of a decoder do not depend on the engine.
package pcaptest

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/capture"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
)

// Datagram is one UDP datagram, or one TCP segment's payload (TCP set).
type Datagram struct {
	Frame    int
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
	TCP      bool
}

// HasPort reports whether either endpoint uses one of ports.
func (d Datagram) HasPort(ports ...uint16) bool {
	for _, p := range ports {
		if d.Src.Port() == p || d.Dst.Port() == p {
			return true
		}
	}
	return false
}

// Packets returns every UDP datagram of the capture at path (IP fragments
// reassembled, tunnels followed), and with tcp also every non-empty TCP
// segment payload (not reassembled), numbered like Wireshark frames, plus
// the number of frames read. ok is false when the file is not a capture
// the reader accepts.
func Packets(t testing.TB, path string, tcp bool) (out []Datagram, frames int, ok bool) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		if errors.Is(err, capture.ErrNotCapture) {
			return nil, 0, false
		}
		t.Fatal(err)
	}
	defer r.Close()
	d := flow.NewDecoder()
	var f capture.Frame
	for {
		if err := r.Next(&f); err != nil {
			if err != io.EOF {
				t.Logf("%s: stopped after frame %d: %v", path, f.N, err)
			}
			break
		}
		frames = int(f.N)
		d.Decode(f.N, f.CI.Timestamp, f.CI.Length, f.CI.CaptureLength, f.Link, f.Data, func(p *flow.Packet) {
			if p.Proto != flow.ProtoUDP && !(tcp && p.Proto == flow.ProtoTCP && len(p.Payload) > 0) {
				return
			}
			out = append(out, Datagram{
				Frame: int(p.Frame), Time: p.Time, TCP: p.Proto == flow.ProtoTCP,
				Src:     netip.AddrPortFrom(p.Src, p.SrcPort),
				Dst:     netip.AddrPortFrom(p.Dst, p.DstPort),
				Payload: append([]byte(nil), p.Payload...),
			})
		})
	}
	return out, frames, true
}

// Chunk is one delivery of reassembled TCP bytes (or a gap of Gap bytes)
// in one direction, in capture order.
type Chunk struct {
	Frame uint64
	Dir   proto.Dir
	Data  []byte
	Gap   int
}

// Conn is one TCP connection: its endpoints as the flow table oriented
// them and its chunks (see Streams).
type Conn struct {
	Client, Server netip.AddrPort
	Chunks         []Chunk
}

type streams struct {
	byFlow map[uint64]*Conn
	order  []uint64
}

func (s *streams) Start(f *flow.Flow, p *flow.Packet) {}
func (s *streams) Datagram(f *flow.Flow, d proto.Dir, p *flow.Packet) {
}
func (s *streams) Stream(f *flow.Flow, d proto.Dir, b []byte, m proto.Meta) {
	s.add(f, Chunk{Frame: m.Frame, Dir: d, Data: append([]byte(nil), b...)})
}
func (s *streams) Gap(f *flow.Flow, d proto.Dir, n int, m proto.Meta) {
	s.add(f, Chunk{Frame: m.Frame, Dir: d, Gap: n})
}
func (s *streams) End(f *flow.Flow) {}

func (s *streams) add(f *flow.Flow, c Chunk) {
	conn := s.byFlow[f.ID]
	if conn == nil {
		conn = &Conn{Client: f.Client, Server: f.Server}
		s.byFlow[f.ID] = conn
		s.order = append(s.order, f.ID)
	}
	conn.Chunks = append(conn.Chunks, c)
}

// Streams returns, per TCP connection of the capture at path (in order of
// first frame), the reassembled bytes of both directions as pkg/flow
// delivers them to decoders: in capture order, client to server as
// proto.ToServer, gaps marked.
func Streams(t testing.TB, path string) [][]Chunk {
	t.Helper()
	var out [][]Chunk
	for _, c := range Conns(t, path) {
		out = append(out, c.Chunks)
	}
	return out
}

// Conns is Streams with each connection's endpoints.
func Conns(t testing.TB, path string) []Conn {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		if errors.Is(err, capture.ErrNotCapture) {
			return nil
		}
		t.Fatal(err)
	}
	defer r.Close()
	st := &streams{byFlow: map[uint64]*Conn{}}
	tab := flow.NewTable(flow.Config{IdleTimeout: 1<<63 - 1, UDPIdleTimeout: 1<<63 - 1, ClosedLinger: 1<<63 - 1}, st)
	d := flow.NewDecoder()
	var f capture.Frame
	for r.Next(&f) == nil {
		d.Decode(f.N, f.CI.Timestamp, f.CI.Length, f.CI.CaptureLength, f.Link, f.Data, tab.Add)
	}
	tab.Flush()
	out := make([]Conn, 0, len(st.order))
	for _, id := range st.order {
		out = append(out, *st.byFlow[id])
	}
	return out
}
