package http3

import (
	"encoding/binary"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// encodeOps writes a script for FuzzConn: per op a control byte (bit 0:
// direction, bit 1: gap, bit 2: FIN, bits 3-7: the stream id, 0-31), a
// big-endian uint16 length, then the data (none for a gap).
func encodeOps(ops []op) []byte {
	var b []byte
	for _, o := range ops {
		ctl := byte(o.dir&1) | byte(o.id&31)<<3
		if o.fin {
			ctl |= 4
		}
		if o.gap > 0 {
			b = append(b, ctl|2)
			b = binary.BigEndian.AppendUint16(b, uint16(o.gap))
			continue
		}
		b = append(b, ctl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(o.data)))
		b = append(b, o.data...)
	}
	return b
}

// FuzzConn replays fuzzed stream scripts: no panic, bodies within their
// bound, no more events than request streams.
func FuzzConn(f *testing.F) {
	for _, ops := range [][]op{
		{{dir: up, id: 0, data: getStatic, fin: true}, {dir: down, id: 0, data: resp200, fin: true}},
		{{dir: down, id: 3, data: settings(220)}, {dir: up, id: 6, data: encoderB2}, {dir: up, id: 0, data: reqB2, fin: true}, {dir: down, id: 0, data: resp200, fin: true}},
		{{dir: up, id: 0, data: reqB2, fin: true}, {dir: up, id: 6, data: encoderB2[:3]}, {dir: up, id: 6, gap: 4}, {dir: down, id: 3, data: settings(4096)}},
	} {
		f.Add(encodeOps(ops))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxBody = 1024
		events, streams := 0, map[uint64]bool{}
		c := New(Limits{MaxBody: maxBody, MaxStreams: 4}, func(ev *Event) {
			events++
			if ev.Request != nil && ev.Request.Body != nil && len(ev.Request.Body.Data) > maxBody {
				t.Fatalf("request body %d bytes", len(ev.Request.Body.Data))
			}
			if ev.Response != nil && ev.Response.Body != nil && len(ev.Response.Body.Data) > maxBody {
				t.Fatalf("response body %d bytes", len(ev.Response.Body.Data))
			}
		})
		for i := 0; len(b) >= 3; i++ {
			ctl, n := b[0], int(binary.BigEndian.Uint16(b[1:3]))
			b = b[3:]
			dir, id, m := proto.Dir(ctl&1), uint64(ctl>>3), proto.Meta{Frame: uint64(i)}
			if id&3 == 0 {
				streams[id] = true
			}
			if ctl&2 != 0 {
				c.StreamGap(dir, id, uint64(n), m)
			} else {
				n = min(n, len(b))
				c.StreamData(dir, id, b[:n], m)
				b = b[n:]
			}
			if ctl&4 != 0 {
				c.StreamEnd(dir, id, m)
			}
		}
		c.End(proto.Meta{})
		if events > len(streams) {
			t.Fatalf("%d events from %d request streams", events, len(streams))
		}
	})
}
