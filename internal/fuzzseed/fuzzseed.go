// Package fuzzseed holds what the decoders' tests share: the input format
// of stream-parser fuzz targets (a sequence of data and gap calls in
// either direction), the replay of such a sequence on a parser, and the
// writer of committed seed corpus files.
package fuzzseed

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Op is one call on a stream parser: Data in direction Dir, or a gap of
// Gap bytes when Gap > 0.
type Op struct {
	Dir  proto.Dir
	Data []byte
	Gap  int
}

// Encode turns ops into the fuzz input format: per op a control byte
// (bit 0: direction, bit 1: gap), a big-endian uint16 length, then the
// data (none for a gap, whose size is the length). Data longer than 65,535
// bytes becomes several ops.
func Encode(ops []Op) []byte {
	var b []byte
	for _, o := range ops {
		if o.Gap > 0 {
			b = append(b, byte(o.Dir)|2)
			b = binary.BigEndian.AppendUint16(b, uint16(o.Gap))
			continue
		}
		for d := o.Data; len(d) > 0; {
			n := min(len(d), 0xffff)
			b = append(b, byte(o.Dir))
			b = binary.BigEndian.AppendUint16(b, uint16(n))
			b = append(b, d[:n]...)
			d = d[n:]
		}
	}
	return b
}

// Decode reads what Encode writes, from any bytes: a truncated last op
// keeps the data there is.
func Decode(b []byte) []Op {
	var ops []Op
	for len(b) >= 3 {
		ctl, n := b[0], int(binary.BigEndian.Uint16(b[1:3]))
		b = b[3:]
		o := Op{Dir: proto.Dir(ctl & 1)}
		if ctl&2 != 0 {
			o.Gap = n
		} else {
			n = min(n, len(b))
			o.Data, b = b[:n], b[n:]
		}
		ops = append(ops, o)
	}
	return ops
}

// Feed replays ops on p: op i gets frame first+i and a time 1 ms per
// frame after a fixed base; data is delivered in pieces of split(n) bytes
// (whole when split is nil), each a copy that is scribbled over after the
// call, so a parser that keeps a slice it was given without copying shows
// up as wrong output. End follows with the next frame number.
func Feed(p proto.StreamParser, ops []Op, first uint64, split func(int) int) {
	base := time.Unix(1700000000, 0)
	frame := first
	for _, o := range ops {
		m := proto.Meta{Frame: frame, Time: base.Add(time.Duration(frame) * time.Millisecond)}
		frame++
		if o.Gap > 0 {
			p.Gap(o.Dir, o.Gap, m)
			continue
		}
		for b := o.Data; len(b) > 0; {
			n := len(b)
			if split != nil {
				n = min(n, split(n))
			}
			piece := append([]byte(nil), b[:n]...)
			p.Data(o.Dir, piece, m)
			for i := range piece {
				piece[i] = 0xee
			}
			b = b[n:]
		}
	}
	p.End(proto.Meta{Frame: frame})
}

// Write stores values as the seed file testdata/fuzz/<target>/<name> of
// the package under test, in the Go fuzz corpus format: one line per
// argument of the fuzz function ([]byte, string or uint16).
func Write(t testing.TB, target, name string, values ...any) {
	t.Helper()
	body := "go test fuzz v1\n"
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			body += fmt.Sprintf("[]byte(%q)\n", v)
		case string:
			body += fmt.Sprintf("string(%q)\n", v)
		case uint16:
			body += fmt.Sprintf("uint16(%d)\n", v)
		default:
			t.Fatalf("fuzzseed: no corpus encoding for %T", v)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
