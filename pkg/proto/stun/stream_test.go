package stun

import (
	"bytes"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

func streamInput() []byte {
	c := cases()
	channelData := []byte{0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}
	return bytes.Join([][]byte{c[0].msg, channelData, c[3].msg, c[5].msg}, nil)
}

func TestStreamSplits(t *testing.T) {
	all := streamInput()
	for cut := 0; cut <= len(all); cut++ {
		var methods []string
		s := NewStream(func(_ proto.Dir, m *Message, meta proto.Meta, err error) {
			if err != nil {
				t.Errorf("cut %d: %v", cut, err)
			}
			methods = append(methods, m.MethodString()+"/"+m.ClassString())
		})
		s.Data(proto.ToServer, all[:cut], proto.Meta{Frame: 1})
		s.Data(proto.ToServer, all[cut:], proto.Meta{Frame: 2})
		s.End(proto.Meta{})
		want := "[binding/request allocate/success allocate/error]"
		if got := fmtList(methods); got != want || s.Skipped != 0 {
			t.Fatalf("cut %d: %s skipped %d", cut, got, s.Skipped)
		}
	}
}

func fmtList(v []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	return b.String()
}

func TestStreamNotSTUN(t *testing.T) {
	n := 0
	s := NewStream(func(proto.Dir, *Message, proto.Meta, error) { n++ })
	s.Data(proto.ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), proto.Meta{})
	s.Data(proto.ToServer, cases()[0].msg, proto.Meta{})
	s.Data(proto.ToClient, cases()[1].msg[:10], proto.Meta{})
	s.Gap(proto.ToClient, 3, proto.Meta{})
	s.Data(proto.ToClient, cases()[1].msg, proto.Meta{})
	s.End(proto.Meta{})
	if n != 0 {
		t.Errorf("%d messages from a non-STUN stream", n)
	}
}

func FuzzStream(f *testing.F) {
	f.Add(streamInput(), uint16(30))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		var whole, split int
		s := NewStream(func(proto.Dir, *Message, proto.Meta, error) { whole++ })
		s.Data(proto.ToServer, b, proto.Meta{})
		k := int(cut) % (len(b) + 1)
		s2 := NewStream(func(proto.Dir, *Message, proto.Meta, error) { split++ })
		s2.Data(proto.ToServer, b[:k], proto.Meta{})
		s2.Data(proto.ToServer, b[k:], proto.Meta{})
		if whole != split {
			t.Fatalf("whole %d split %d", whole, split)
		}
		// The engine's TCP Spec on the same bytes, both directions.
		sp := StreamSpec()
		sp.Detect(proto.DetectInput{Up: b[:min(len(b), proto.SniffBytes)], Down: b[k:min(len(b), k+proto.SniffBytes)]})
		sink := &prototest.Sink{}
		d := sp.New(sink).(proto.StreamDecoder)
		d.Data(proto.ToServer, b, proto.Meta{})
		d.Data(proto.ToClient, b[k:], proto.Meta{})
		d.End(proto.Meta{})
		if len(sink.Events) < whole {
			t.Fatalf("Spec decoder: %d events, Stream %d messages", len(sink.Events), whole)
		}
	})
}

func TestStreamFuzzSeed(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	fuzzseed.Write(t, "FuzzStream", "messages-and-channeldata", streamInput(), uint16(30))
}

// Regression (found by FuzzStream): an empty ChannelData frame whose
// 4-byte header is split across segments used to loop forever.
func TestStreamEmptyChannelDataSplit(t *testing.T) {
	n := 0
	s := NewStream(func(proto.Dir, *Message, proto.Meta, error) { n++ })
	in := append([]byte{0x40, 0x6f, 0, 0}, cases()[0].msg...)
	for i := range in {
		s.Data(proto.ToServer, in[i:i+1], proto.Meta{})
	}
	if n != 1 || s.Skipped != 0 {
		t.Errorf("%d messages, %d skipped", n, s.Skipped)
	}
}

// TestStreamSpec: the TCP Spec claims connections whose first bytes from
// either side begin a STUN message (more may follow), refuses others, and
// scans the USERNAME the client sends.
func TestStreamSpec(t *testing.T) {
	c := cases()
	sp := StreamSpec()
	for _, tc := range []struct {
		name     string
		up, down []byte
		want     proto.Verdict
	}{
		{"request", c[0].msg, nil, proto.Yes},
		{"request and more", streamInput(), nil, proto.Yes},
		{"server first", nil, c[3].msg, proto.Yes},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil, proto.No},
		{"tls", []byte{0x16, 0x03, 0x01, 0x00, 0x10, 1, 0, 0, 0x0c, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, proto.No},
		{"short", c[0].msg[:12], nil, proto.No},
		{"odd length", append(append([]byte{}, c[0].msg[:2]...), append([]byte{0, 3}, c[0].msg[4:]...)...), nil, proto.No},
	} {
		if got := sp.Detect(proto.DetectInput{Up: tc.up, Down: tc.down, ServerPort: 3478}); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
	s := &prototest.Sink{}
	d := sp.New(s).(proto.StreamDecoder)
	d.Data(proto.ToServer, c[0].msg, proto.Meta{Frame: 1})
	d.Data(proto.ToClient, c[5].msg, proto.Meta{Frame: 2})
	d.End(proto.Meta{Frame: 3})
	if len(s.Events) != 2 || len(s.Fields) != 1 || s.Fields[0].Location != "stun.username" || string(s.Fields[0].Data) != "evtj:h6vY" {
		t.Errorf("events %d, fields %+v", len(s.Events), s.Fields)
	}
}
