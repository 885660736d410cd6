package capture

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/adversarial"
)

// read reads every frame of data with opt and returns the frames, the
// reader (for its counters) and the final error (nil at a clean end).
func read(t *testing.T, data []byte, opt Options) ([]Frame, *Reader, error) {
	t.Helper()
	r, err := NewReaderWith(bytes.NewReader(data), "test", opt)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { r.Close() })
	var out []Frame
	for {
		var f Frame
		if err := r.Next(&f); err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, r, err
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

func gen(t *testing.T, write func(io.Writer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// smallFrames is the number of frames of adversarial.Small.
func smallFrames(t *testing.T) int {
	fs, _, err := read(t, gen(t, adversarial.Small), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return len(fs)
}

// TestHostileRecords runs the crafted inputs of fixtures/adversarial that
// test the reader itself: records longer than the cap, framing damage, old
// and rare formats, compressed input cut short or with a large window.
func TestHostileRecords(t *testing.T) {
	const huge = 8 << 20 // one record; the cap is 256 KiB
	small := smallFrames(t)
	tests := []struct {
		name    string
		write   func(io.Writer) error
		opt     Options
		frames  int
		cut     uint64 // records cut to the cap
		damage  string // "" for a clean end, else part of the error
		offset  int64  // damage offset, when > 0
		largest int    // longest frame delivered, when > 0
	}{
		{"pcap.gz record of 8 MiB", func(w io.Writer) error { return adversarial.HugeRecord(w, huge, false) }, Options{}, 15, 1, "", 0, DefaultMaxRecord},
		{"pcapng.gz EPB of 8 MiB", func(w io.Writer) error { return adversarial.HugeRecord(w, huge, true) }, Options{}, 15, 1, "", 0, DefaultMaxRecord},
		{"pcap record under a raised cap", func(w io.Writer) error { return adversarial.HugeRecord(w, huge, false) }, Options{MaxRecord: 16 << 20}, 15, 0, "", 0, huge},
		{"pcapng EPB under a raised cap", func(w io.Writer) error { return adversarial.HugeRecord(w, huge, true) }, Options{MaxRecord: 16 << 20}, 15, 0, "", 0, huge},
		{"pcap record, small cap", func(w io.Writer) error { return adversarial.HugeRecord(w, 1000, false) }, Options{MaxRecord: 999}, 15, 1, "", 0, 999},
		{"pcapng EPB, odd small cap", func(w io.Writer) error { return adversarial.HugeRecord(w, 1001, true) }, Options{MaxRecord: 999}, 15, 1, "", 0, 999},
		{"snoop: jumbo frame and 300 KiB record", func(w io.Writer) error { return adversarial.Snoop(w, 300<<10) }, Options{}, 16, 1, "", 0, DefaultMaxRecord},
		{"pcapng block length 37", adversarial.BadBlockLength, Options{}, 12, 0, "length 37", adversarial.BadBlockLengthOffset(), 0},
		{"pcap 2.1 (lengths swapped)", func(w io.Writer) error { return adversarial.OldPcap(w, 1) }, Options{}, 22, 0, "", 0, 0},
		{"pcap 2.2 (lengths swapped)", func(w io.Writer) error { return adversarial.OldPcap(w, 2) }, Options{}, 22, 0, "", 0, 0},
		{"pcap 2.3 (either order)", func(w io.Writer) error { return adversarial.OldPcap(w, 3) }, Options{}, 22, 0, "", 0, 0},
		{"zstd 1 byte short", func(w io.Writer) error { return adversarial.ZstdTruncated(w, 1) }, Options{}, small, 0, "zstd: compressed data truncated", 0, 0},
		{"zstd 4 bytes short", func(w io.Writer) error { return adversarial.ZstdTruncated(w, 4) }, Options{}, small, 0, "zstd: compressed data truncated", 0, 0},
		{"zstd 1 GiB window", adversarial.ZstdLongWindow, Options{}, small, 0, "", 0, 0},
		{"zstd window over the limit", adversarial.ZstdLongWindow, Options{MaxZstdWindow: 512 << 20}, 0, 0, "window size exceeded", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := gen(t, tc.write)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			frames, r, err := read(t, data, tc.opt)
			runtime.ReadMemStats(&after)
			if tc.damage == "" && err != nil {
				t.Fatalf("error %v, want a clean end", err)
			}
			if tc.damage != "" && (err == nil || !strings.Contains(err.Error(), tc.damage)) {
				t.Fatalf("error %v, want one containing %q", err, tc.damage)
			}
			if len(frames) != tc.frames {
				t.Errorf("%d frames, want %d", len(frames), tc.frames)
			}
			if r == nil {
				return
			}
			if got := r.Cut().Records; got != tc.cut {
				t.Errorf("%d records cut, want %d", got, tc.cut)
			}
			var de *DamageError
			if tc.offset > 0 && (!errors.As(err, &de) || de.Offset != tc.offset) {
				t.Errorf("damage %v, want it at offset %d", err, tc.offset)
			}
			longest := 0
			for _, f := range frames {
				longest = max(longest, len(f.Data))
				if f.CI.Timestamp.Before(adversarial.Start) {
					t.Errorf("frame %d stamped %v, before the capture began", f.N, f.CI.Timestamp)
				}
			}
			if tc.largest > 0 && longest != tc.largest {
				t.Errorf("longest frame %d bytes, want %d", longest, tc.largest)
			}
			if r.Backwards > 0 {
				t.Errorf("%d frames went back in time", r.Backwards)
			}
			// Memory: the cut record is never held whole (the frames
			// themselves are cloned by the test: about 3 x the cap).
			if tc.cut > 0 {
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 6<<20 {
					t.Errorf("reading allocated %d KiB for a record cut at %d", grew>>10, r.MaxRecord())
				}
			}
		})
	}
}

// TestOldPcapLengths: in pcap 2.1 the wire length comes first; the cut
// record must come out with 60 captured bytes of a longer packet.
func TestOldPcapLengths(t *testing.T) {
	frames, _, err := read(t, gen(t, func(w io.Writer) error { return adversarial.OldPcap(w, 1) }), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, f := range frames {
		if f.CI.CaptureLength != len(f.Data) || f.CI.Length < f.CI.CaptureLength {
			t.Errorf("frame %d: captured %d, length %d, %d bytes", f.N, f.CI.CaptureLength, f.CI.Length, len(f.Data))
		}
		if f.CI.CaptureLength == 60 && f.CI.Length > 60 {
			cut++
		}
	}
	if cut == 0 {
		t.Error("no frame cut to 60 bytes of a longer packet: lengths read the wrong way round")
	}
}
