package flow

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// recorder is a Handler that rebuilds each direction's stream, writing
// gaps as '~' bytes so tests can see where they fell.
type recorder struct {
	streams map[uint64]*[2]bytes.Buffer
	ended   []*Flow
	gaps    int
}

func newRecorder() *recorder { return &recorder{streams: map[uint64]*[2]bytes.Buffer{}} }

func (r *recorder) buf(f *Flow) *[2]bytes.Buffer {
	b := r.streams[f.ID]
	if b == nil {
		b = &[2]bytes.Buffer{}
		r.streams[f.ID] = b
	}
	return b
}
func (r *recorder) Start(f *Flow, p *Packet)                            {}
func (r *recorder) Datagram(f *Flow, dir proto.Dir, p *Packet)          {}
func (r *recorder) Stream(f *Flow, d proto.Dir, b []byte, m proto.Meta) { r.buf(f)[d].Write(b) }
func (r *recorder) Gap(f *Flow, d proto.Dir, n int, m proto.Meta) {
	r.gaps++
	r.buf(f)[d].WriteString(strings.Repeat("~", n))
}
func (r *recorder) End(f *Flow) { r.ended = append(r.ended, f) }

var (
	cli = netip.MustParseAddr("10.0.0.2")
	srv = netip.MustParseAddr("192.0.2.80")
)

// tseg makes a client→server (up) or server→client packet.
func tseg(up bool, flags uint8, seq uint32, data string) *Packet {
	p := &Packet{Proto: ProtoTCP, Flags: flags | FlagACK, Seq: seq, Payload: []byte(data), Claimed: len(data), WireLen: 54 + len(data), Time: time.Unix(1000, 0)}
	if flags&FlagSYN != 0 && up {
		p.Flags = flags
	}
	if up {
		p.Src, p.Dst, p.SrcPort, p.DstPort = cli, srv, 40000, 80
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort = srv, cli, 80, 40000
	}
	return p
}

func TestReassembly(t *testing.T) {
	const isn = 100
	tests := []struct {
		name string
		pkts []*Packet
		want string // client→server stream, gaps as ~
		gaps int
	}{
		{"in order", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+1, "hello "), tseg(true, 0, isn+7, "world")}, "hello world", 0},
		{"out of order", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+7, "world"), tseg(true, 0, isn+1, "hello ")}, "hello world", 0},
		{"retransmission", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+1, "hello "), tseg(true, 0, isn+1, "hello "), tseg(true, 0, isn+7, "world")}, "hello world", 0},
		{"overlap keeps first copy", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+1, "hello "), tseg(true, 0, isn+4, "XXXwor"), tseg(true, 0, isn+10, "ld")}, "hello world", 0},
		{"gap at end", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+1, "hello "), tseg(true, 0, isn+10, "ld")}, "hello ~~~ld", 1},
		{"gap closed by peer ack", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, 0, isn+1, "ab"), tseg(true, 0, isn+5, "ef"), func() *Packet { p := tseg(false, 0, 900, ""); p.Ack = isn + 7; return p }(), tseg(true, 0, isn+7, "gh")}, "ab~~efgh", 1},
		{"midstream keep-alive probe skipped", []*Packet{tseg(true, 0, 4999, "\x00"), tseg(true, 0, 4999, "\x00"), tseg(true, 0, 5000, "GET / HTTP/1.1")}, "GET / HTTP/1.1", 0},
		{"midstream one-byte data kept", []*Packet{tseg(true, 0, 4999, "G"), tseg(true, 0, 5003, "/ HTTP/1.1")}, "G~~~/ HTTP/1.1", 1},
		{"midstream start", []*Packet{tseg(true, 0, 5000, "middle "), tseg(true, 0, 5007, "of it")}, "middle of it", 0},
		{"sequence wrap", []*Packet{tseg(true, FlagSYN, 0xfffffffa, ""), tseg(true, 0, 0xfffffffb, "abcde"), tseg(true, 0, 0, "fghij")}, "abcdefghij", 0},
		{"fin then data is retransmit", []*Packet{tseg(true, FlagSYN, isn, ""), tseg(true, FlagFIN, isn+1, "bye"), tseg(true, 0, isn+1, "bye")}, "bye", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			tab := NewTable(Config{}, rec)
			for _, p := range tt.pkts {
				tab.Add(p)
			}
			tab.Flush()
			if len(rec.ended) != 1 {
				t.Fatalf("got %d flows, want 1", len(rec.ended))
			}
			got := rec.streams[rec.ended[0].ID][proto.ToServer].String()
			if got != tt.want {
				t.Errorf("stream = %q, want %q", got, tt.want)
			}
			if rec.gaps != tt.gaps {
				t.Errorf("gaps = %d, want %d", rec.gaps, tt.gaps)
			}
		})
	}
}

func TestSnaplenCutSegmentIsGap(t *testing.T) {
	rec := newRecorder()
	tab := NewTable(Config{}, rec)
	tab.Add(tseg(true, FlagSYN, 1, ""))
	p := tseg(true, 0, 2, "abc")
	p.Claimed = 10 // the IP header says 10 payload bytes; 3 were captured
	tab.Add(p)
	tab.Add(tseg(true, 0, 12, "k"))
	tab.Flush()
	if got := rec.streams[1][0].String(); got != "abc~~~~~~~k" {
		t.Errorf("stream = %q", got)
	}
}

func TestBufferCapForcesGap(t *testing.T) {
	rec := newRecorder()
	tab := NewTable(Config{MaxFlowBuffer: 8}, rec)
	tab.Add(tseg(true, FlagSYN, 0, ""))
	tab.Add(tseg(true, 0, 1, "a"))
	// A hole at 2; then 3 segments of 4 bytes, the third exceeding the cap.
	tab.Add(tseg(true, 0, 3, "cdef"))
	tab.Add(tseg(true, 0, 7, "ghij"))
	tab.Add(tseg(true, 0, 11, "klmn"))
	if tab.Stats.BufferDropped == 0 {
		t.Fatal("cap was not enforced")
	}
	if tab.Buffered() > 8 {
		t.Fatalf("buffered %d > cap", tab.Buffered())
	}
	tab.Flush()
	if got := rec.streams[1][0].String(); got != "a~cdefghijklmn" {
		t.Errorf("stream = %q", got)
	}
}

func TestFlowCapEvictsAndReports(t *testing.T) {
	rec := newRecorder()
	tab := NewTable(Config{MaxFlows: 10}, rec)
	for i := 0; i < 100; i++ {
		p := tseg(true, FlagSYN, 1, "")
		p.SrcPort = uint16(1024 + i)
		tab.Add(p)
	}
	if tab.Len() > 10 {
		t.Fatalf("live flows %d > cap", tab.Len())
	}
	tab.Flush()
	if len(rec.ended) != 100 {
		t.Fatalf("reported %d flows, want 100 (evicted flows must be reported)", len(rec.ended))
	}
	if tab.Stats.Evicted != 90 {
		t.Errorf("evicted = %d, want 90", tab.Stats.Evicted)
	}
}

func TestIdleTimeoutByCaptureTime(t *testing.T) {
	rec := newRecorder()
	tab := NewTable(Config{IdleTimeout: time.Minute}, rec)
	p := tseg(true, 0, 1, "x")
	tab.Add(p)
	q := tseg(true, 0, 1, "y")
	q.SrcPort = 50000
	q.Time = p.Time.Add(2 * time.Minute)
	tab.Add(q)
	if len(rec.ended) != 1 || rec.ended[0].State != Timeout {
		t.Fatalf("first flow should have timed out, ended=%v", rec.ended)
	}
}

func TestPortReuseStartsNewFlow(t *testing.T) {
	rec := newRecorder()
	tab := NewTable(Config{}, rec)
	tab.Add(tseg(true, FlagSYN, 100, ""))
	tab.Add(tseg(true, FlagSYN, 100, "")) // retransmitted SYN: same flow
	tab.Add(tseg(true, FlagSYN, 9000, ""))
	tab.Flush()
	if len(rec.ended) != 2 {
		t.Fatalf("got %d flows, want 2", len(rec.ended))
	}
	if rec.ended[0].Packets[0] != 2 {
		t.Errorf("first flow has %d packets, want 2", rec.ended[0].Packets[0])
	}
}

func TestOrientation(t *testing.T) {
	tests := []struct {
		p    *Packet
		want string
	}{
		{tseg(true, FlagSYN, 1, ""), "10.0.0.2:40000"},
		{tseg(false, FlagSYN, 1, ""), "10.0.0.2:40000"}, // SYN-ACK from the server
		{tseg(false, 0, 1, "x"), "10.0.0.2:40000"},      // midstream: port 80 is the server
	}
	for i, tt := range tests {
		rec := newRecorder()
		tab := NewTable(Config{}, rec)
		tab.Add(tt.p)
		tab.Flush()
		if got := rec.ended[0].Client.String(); got != tt.want {
			t.Errorf("%d: client = %s, want %s", i, got, tt.want)
		}
	}
}

func ExampleTable() {
	rec := newRecorder()
	tab := NewTable(Config{}, rec)
	tab.Add(tseg(true, FlagSYN, 1, ""))
	tab.Add(tseg(true, 0, 2, "GET / HTTP/1.1\r\n\r\n"))
	tab.Flush()
	f := rec.ended[0]
	fmt.Println(f.Transport(), f.Client, "->", f.Server, f.Packets[0], "packets", f.State)
	// Output: tcp 10.0.0.2:40000 -> 192.0.2.80:80 2 packets open
}

// BenchmarkReassembly streams 1 MiB in 1400-byte segments through the
// table, every 8th pair swapped (out of order), and reports MB/s.
func BenchmarkReassembly(b *testing.B) {
	const total, mss = 1 << 20, 1400
	data := make([]byte, mss)
	var pkts []*Packet
	pkts = append(pkts, tseg(true, FlagSYN, 0, ""))
	for off := 0; off < total; off += mss {
		p := tseg(true, 0, uint32(1+off), string(data))
		pkts = append(pkts, p)
	}
	for i := 8; i+1 < len(pkts); i += 8 {
		pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tab := NewTable(Config{}, discard{})
		for _, p := range pkts {
			tab.Add(p)
		}
		tab.Flush()
	}
}
