package ntp

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
)

// pkt builds a time packet: li/vn/mode, stratum, poll, precision, then the
// rest of the header fields.
func pkt(li, vn, mode, stratum uint8, poll, prec int8, delay, disp uint32, ref [4]byte, refTS, org, rec, xmt uint64, extra ...byte) []byte {
	b := []byte{li<<6 | vn<<3 | mode, stratum, byte(poll), byte(prec)}
	b = binary.BigEndian.AppendUint32(b, delay)
	b = binary.BigEndian.AppendUint32(b, disp)
	b = append(b, ref[:]...)
	for _, v := range []uint64{refTS, org, rec, xmt} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return append(b, extra...)
}

// 2024-05-01T12:00:00Z in NTP seconds, with a half-second fraction.
const t2024 = uint64(3923553600)<<32 | 1<<31

type ntpCase struct {
	name   string
	msg    []byte
	err    error
	detect bool
}

func cases() []ntpCase {
	return []ntpCase{
		{name: "client-v4", detect: true, msg: pkt(0, 4, 3, 0, 6, -20, 0, 0, [4]byte{}, 0, 0, 0, t2024)},
		{name: "server-v4", detect: true, msg: pkt(0, 4, 4, 2, 6, -23, 0x00000c5a, 0x00001b3e, [4]byte{17, 253, 4, 253}, t2024-1<<32, t2024, t2024+1<<30, t2024+1<<30+1<<20)},
		{name: "server-stratum1-gps", detect: true, msg: pkt(0, 4, 4, 1, 4, -29, 0, 16, [4]byte{'G', 'P', 'S', 0}, t2024, t2024, t2024, t2024)},
		{name: "kiss-rate", detect: true, msg: pkt(3, 4, 4, 0, 4, 0, 0, 0, [4]byte{'R', 'A', 'T', 'E'}, 0, t2024, 0, 0)},
		{name: "v3-with-mac", detect: true, msg: pkt(0, 3, 3, 0, 10, 0, 0, 0, [4]byte{}, 0, 0, 0, t2024, make([]byte, 20)...)},
		{name: "era1-2040", detect: true, msg: pkt(0, 4, 3, 0, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, uint64(120000000)<<32)},
		{name: "control-readvar", detect: true, msg: append([]byte{0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4}, "ab=1"...)},
		{name: "private-monlist", detect: true, msg: []byte{0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0}},
		{name: "control-short-data", err: ErrShort, msg: []byte{0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 40}},
		{name: "short", err: ErrShort, msg: pkt(0, 4, 3, 0, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, 0)[:40]},
		{name: "version-0", err: ErrVersion, msg: pkt(0, 0, 3, 0, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, 0)},
		{name: "empty", err: ErrShort},
	}
}

func TestParseGolden(t *testing.T) {
	var m Message
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			err := Parse(c.msg, &m)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got := Detect(c.msg); got != c.detect {
				t.Errorf("Detect = %v", got)
			}
			got, _ := json.MarshalIndent(NewEvent(&m, err), "", "  ")
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", c.name+".json")
			golden.Check(t, path, got)
		})
	}
}

func TestTimestamp(t *testing.T) {
	cases := []struct {
		ts   Timestamp
		want time.Time
	}{
		{0, time.Time{}},
		{Timestamp(t2024), time.Date(2024, 5, 1, 12, 0, 0, 5e8, time.UTC)},
		{Timestamp(uint64(2208988800) << 32), time.Unix(0, 0).UTC()},
		{Timestamp(uint64(0x80000000) << 32), time.Date(1968, 1, 20, 3, 14, 8, 0, time.UTC)},
		{Timestamp(uint64(1) << 32), time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := c.ts.Time(); !got.Equal(c.want) {
			t.Errorf("%x: %v, want %v", uint64(c.ts), got, c.want)
		}
	}
}

func TestDetectNegative(t *testing.T) {
	for _, b := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345678901"),
		pkt(0, 4, 3, 17, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, 0),
		pkt(0, 4, 3, 2, 100, 0, 0, 0, [4]byte{}, 0, 0, 0, 0),
		pkt(0, 4, 3, 2, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, 0, 1, 2),
		pkt(0, 4, 0, 2, 6, 0, 0, 0, [4]byte{}, 0, 0, 0, 0),
		nil,
	} {
		if Detect(b) {
			t.Errorf("Detect(%x) = true", b)
		}
	}
}

func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range cases() {
		fuzzseed.Write(t, "FuzzParse", c.name, c.msg)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range cases() {
		f.Add(c.msg)
	}
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if Detect(b) && err != nil && m.Mode != ModeControl {
			t.Fatalf("Detect true but Parse: %v", err)
		}
		if _, err := json.Marshal(NewEvent(&m, err)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	msg := cases()[1].msg
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
