package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// pcapngWithStamp is a pcapng file with one interface whose timestamps
// count whole seconds (if_tsresol 2^0) and one 60-byte frame at secs.
func pcapngWithStamp(secs uint64) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v ...any) {
		for _, x := range v {
			binary.Write(&b, le, x)
		}
	}
	w(uint32(0x0A0D0D0A), uint32(28), uint32(0x1A2B3C4D), uint16(1), uint16(0), int64(-1), uint32(28))
	// IDB: Ethernet, snaplen 0, if_tsresol 2^0 (seconds), end of options.
	w(uint32(1), uint32(32), uint16(1), uint16(0), uint32(0), uint16(9), uint16(1), [4]byte{0x80}, uint16(0), uint16(0), uint32(32))
	w(uint32(6), uint32(92), uint32(0), uint32(secs>>32), uint32(secs), uint32(60), uint32(60), [60]byte{}, uint32(92))
	return b.Bytes()
}

func TestTimestampsPastYear9999AreZeroed(t *testing.T) {
	for _, tc := range []struct {
		secs     uint64
		timeless uint64
	}{
		{1_700_000_000, 0},   // 2023
		{400_000_000_000, 1}, // year ~12,700
		{1 << 63, 1},         // negative as int64
	} {
		r, err := NewReader(bytes.NewReader(pcapngWithStamp(tc.secs)), "t.pcapng")
		if err != nil {
			t.Fatal(err)
		}
		var f Frame
		if err := r.Next(&f); err != nil {
			t.Fatalf("secs %d: %v", tc.secs, err)
		}
		if err := r.Next(&f); err != io.EOF {
			t.Fatalf("secs %d: want one frame, then %v", tc.secs, err)
		}
		if r.Timeless != tc.timeless {
			t.Errorf("secs %d: Timeless %d, want %d", tc.secs, r.Timeless, tc.timeless)
		}
		if tc.timeless == 0 && f.CI.Timestamp.Unix() != int64(tc.secs) {
			t.Errorf("secs %d: timestamp %v", tc.secs, f.CI.Timestamp)
		}
		if tc.timeless > 0 && !f.CI.Timestamp.Equal(time.Time{}) {
			t.Errorf("secs %d: unrepresentable timestamp kept as %v", tc.secs, f.CI.Timestamp)
		}
	}
}
