package dns

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

type seen struct {
	dir   proto.Dir
	id    uint16
	frame uint64
	qname string
	err   bool
}

func collect(out *[]seen) func(proto.Dir, *Message, proto.Meta, error) {
	return func(d proto.Dir, m *Message, meta proto.Meta, err error) {
		s := seen{dir: d, id: m.ID, frame: meta.Frame, err: err != nil}
		if len(m.Questions) > 0 {
			s.qname = string(m.Questions[0].Name)
		}
		*out = append(*out, s)
	}
}

func framed(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// Every way of cutting a stream of three messages in two segments yields the
// same three messages, each located at the segment that carried its start.
func TestStreamSplits(t *testing.T) {
	q1 := header(1, rd, 1, 0, 0, 0).question("one.example", TypeA, 1).b
	q2 := header(2, rd, 1, 0, 0, 0).question("two.example", TypeAAAA, 1).b
	q3 := header(3, rd, 1, 0, 0, 0).question("three.example", TypeHTTPS, 1).b
	all := framed(q1, q2, q3)
	for cut := 0; cut <= len(all); cut++ {
		var got []seen
		s := NewStream(collect(&got))
		s.Data(proto.ToServer, all[:cut], proto.Meta{Frame: 1})
		s.Data(proto.ToServer, all[cut:], proto.Meta{Frame: 2})
		s.End(proto.Meta{})
		if len(got) != 3 {
			t.Fatalf("cut %d: %d messages", cut, len(got))
		}
		for i, want := range []string{"one.example", "two.example", "three.example"} {
			if got[i].qname != want || got[i].err {
				t.Errorf("cut %d msg %d = %+v", cut, i, got[i])
			}
		}
		wantFrame := func(start int) uint64 {
			if start < cut {
				return 1
			}
			return 2
		}
		if got[1].frame != wantFrame(2+len(q1)) || got[2].frame != wantFrame(4+len(q1)+len(q2)) {
			t.Errorf("cut %d: frames %d %d", cut, got[1].frame, got[2].frame)
		}
	}
}

func TestStreamByteAtATimeBothDirections(t *testing.T) {
	q := header(9, rd, 1, 0, 0, 0).question("x.example", TypeA, 1).b
	r := header(9, qr|rd|ra, 1, 1, 0, 0).question("x.example", TypeA, 1).rr("@12", TypeA, 1, 1, rawData(1, 2, 3, 4)).b
	var got []seen
	s := NewStream(collect(&got))
	up, down := framed(q, q), framed(r)
	for i := 0; i < max(len(up), len(down)); i++ {
		if i < len(up) {
			s.Data(proto.ToServer, up[i:i+1], proto.Meta{Frame: uint64(i)})
		}
		if i < len(down) {
			s.Data(proto.ToClient, down[i:i+1], proto.Meta{Frame: uint64(i)})
		}
	}
	if len(got) != 3 || s.Stats.Messages != 3 || s.Stats.Errors != 0 {
		t.Fatalf("got %+v stats %+v", got, s.Stats)
	}
	if got[0].dir != proto.ToServer || got[1].dir != proto.ToClient || got[1].frame != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestStreamGapAndGarbage(t *testing.T) {
	q := header(4, rd, 1, 0, 0, 0).question("after.gap", TypeA, 1).b
	cases := []struct {
		name     string
		feed     func(s *Stream)
		wantMsgs int
		wantErrs uint64
		wantLast string
	}{
		{"gap then resync", func(s *Stream) {
			s.Data(proto.ToServer, framed(q)[:10], proto.Meta{})
			s.Gap(proto.ToServer, 100, proto.Meta{})
			s.Data(proto.ToServer, []byte("mid-message junk"), proto.Meta{})
			s.Data(proto.ToServer, framed(q), proto.Meta{})
			s.Data(proto.ToServer, framed(q), proto.Meta{})
		}, 2, 0, "after.gap"},
		{"zero length message", func(s *Stream) {
			s.Data(proto.ToServer, []byte{0, 0}, proto.Meta{})
			s.Data(proto.ToServer, framed(q), proto.Meta{})
		}, 2, 1, "after.gap"},
		{"garbage length", func(s *Stream) {
			s.Data(proto.ToServer, []byte{0, 3, 'a', 'b', 'c'}, proto.Meta{})
		}, 1, 1, ""},
		{"incomplete at end", func(s *Stream) {
			s.Data(proto.ToServer, []byte{0xff, 0xff, 1, 2, 3}, proto.Meta{})
		}, 0, 0, ""},
		{"bad direction ignored", func(s *Stream) {
			s.Data(proto.Dir(7), framed(q), proto.Meta{})
			s.Gap(proto.Dir(7), 1, proto.Meta{})
		}, 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []seen
			s := NewStream(collect(&got))
			c.feed(s)
			s.End(proto.Meta{})
			if len(got) != c.wantMsgs || s.Stats.Errors != c.wantErrs {
				t.Fatalf("got %+v stats %+v", got, s.Stats)
			}
			if c.wantMsgs > 0 && got[len(got)-1].qname != c.wantLast {
				t.Errorf("last = %+v", got[len(got)-1])
			}
		})
	}
}

func BenchmarkStream(b *testing.B) {
	var msgs [][]byte
	for i := 0; i < 20; i++ {
		msgs = append(msgs, header(uint16(i), rd, 1, 0, 0, 0).question(fmt.Sprintf("host%d.example.com", i), TypeA, 1).b)
	}
	all := framed(msgs...)
	b.ReportAllocs()
	b.SetBytes(int64(len(all)))
	s := NewStream(func(proto.Dir, *Message, proto.Meta, error) {})
	meta := proto.Meta{Frame: 1, Time: time.Unix(0, 0)}
	for b.Loop() {
		for i := 0; i < len(all); i += 100 {
			s.Data(proto.ToServer, all[i:min(i+100, len(all))], meta)
		}
	}
}
