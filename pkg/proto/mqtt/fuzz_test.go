package mqtt

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// encodeOps turns ops into the fuzz input format: per op a control byte
// (bit 0: direction, bit 1: gap), a big-endian uint16 length, then the data
// (none for a gap, whose size is the length).
func encodeOps(ops []op) []byte {
	var b []byte
	for _, o := range ops {
		if o.gap > 0 {
			b = append(b, byte(o.dir)|2)
			b = binary.BigEndian.AppendUint16(b, uint16(o.gap))
			continue
		}
		b = append(b, byte(o.dir))
		b = binary.BigEndian.AppendUint16(b, uint16(len(o.data)))
		b = append(b, o.data...)
	}
	return b
}

func decodeOps(b []byte) []op {
	var ops []op
	for len(b) >= 3 {
		ctl, n := b[0], int(binary.BigEndian.Uint16(b[1:3]))
		b = b[3:]
		o := op{dir: proto.Dir(ctl & 1)}
		if ctl&2 != 0 {
			o.gap = n
		} else {
			n = min(n, len(b))
			o.data, b = b[:n], b[n:]
		}
		ops = append(ops, o)
	}
	return ops
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParser")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", encodeOps(tc.ops))
		if err := os.WriteFile(filepath.Join(dir, tc.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		f.Add(encodeOps(tc.ops))
	}
	lim := Limits{MaxPacket: 2048, MaxPayload: 256}
	f.Fuzz(func(t *testing.T, in []byte) {
		tc := testCase{lim: lim, ops: decodeOps(in)}
		evs := run(tc, nil)
		for _, e := range evs {
			if len(e.Payload) > lim.MaxPayload || len(e.WillPayload) > lim.MaxPayload {
				t.Fatalf("payload over MaxPayload")
			}
		}
		// Splitting the same bytes differently must not change the events.
		if a, b := render(evs), render(run(tc, func(int) int { return 1 })); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, tc := range cases() {
		for _, o := range tc.ops {
			f.Add(o.data)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if Detect(in) && (len(in) < 2 || in[0] != 0x10) {
			t.Fatalf("Detect accepted a non-CONNECT")
		}
	})
}
