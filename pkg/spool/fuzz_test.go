package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzMergeDamagedFile: a merge reads runs back from a file that may have
// been damaged (or written by someone else) since: whatever the bytes,
// Merge returns the records or an error that says the run is damaged,
// never panics, and never holds a record longer than its run. The
// fuzzer's bytes are the file; the first byte splits it into up to four
// runs, as a Writer would have listed them.
func FuzzMergeDamagedFile(f *testing.F) {
	// Seeds: the file of a Writer with records in three runs, and
	// damaged forms of it (truncated, a length that overflows, a length
	// far beyond the file, a key longer than its record).
	good := func() []byte {
		var b []byte
		for _, r := range [][2]string{{"a", "1"}, {"b", "22"}, {"c", ""}, {"a", strings.Repeat("x", 300)}, {"", "v"}} {
			b = binary.AppendUvarint(b, uint64(len(r[0])))
			b = binary.AppendUvarint(b, uint64(len(r[1])))
			b = append(append(b, r[0]...), r[1]...)
		}
		return b
	}()
	f.Add(append([]byte{0}, good...))
	f.Add(append([]byte{0x5a}, good...))
	f.Add(append([]byte{0x17}, good[:len(good)-7]...))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 'k'})
	f.Add([]byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 'k'})
	f.Add([]byte{0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'k'})
	f.Add([]byte{0, 0x05, 0x01, 'k', 'v'})
	f.Add([]byte{0x01})
	f.Add([]byte{0, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		split, body := data[0], data[1:]
		for _, free := range []bool{false, true} {
			w := New("", 0)
			w.f, w.off, w.closed = &memFile{bytes.NewReader(body)}, int64(len(body)), true
			w.runs = splitRuns(split, int64(len(body)))
			if free {
				w.FreeAsMerged()
			}
			n := 0
			err := Merge([]*Writer{w}, func(_ int, k, v []byte) error {
				if len(k)+len(v) > len(body) {
					t.Fatalf("a record of %d bytes from a file of %d", len(k)+len(v), len(body))
				}
				n++
				return nil
			})
			if err != nil && !strings.Contains(err.Error(), "spool: damaged run") {
				t.Fatalf("error %q does not say the run is damaged", err)
			}
			if err == nil && n > len(body)/2 {
				t.Fatalf("%d records from %d bytes", n, len(body))
			}
		}
	})
}

// memFile is a spool file held in memory (read only).
type memFile struct{ *bytes.Reader }

func (*memFile) Write([]byte) (int, error) { return 0, errors.New("read only") }
func (*memFile) Close() error              { return nil }
func (*memFile) Name() string              { return "memory" }

// splitRuns cuts size bytes into up to four consecutive runs at the
// places the bits of split choose (a run may be empty).
func splitRuns(split byte, size int64) []run {
	var runs []run
	var off int64
	for i := range 3 {
		n := size * int64(split>>(2*i)&3) / 8
		runs = append(runs, run{off, min(n, size-off)})
		off += runs[len(runs)-1].size
	}
	return append(runs, run{off, size - off})
}

// TestDamagedLengthIsAnError: a record whose length runs past its run (or
// overflows) is an error, not a buffer of that length.
func TestDamagedLengthIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"beyond the run", []byte{0x05, 0xff, 0xff, 0x03, 'k'}},
		{"overflowing sum", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'k'}},
		{"truncated record", []byte{0x01, 0x05, 'k', 'v'}},
		{"truncated length", []byte{0x01, 0x80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, err := os.CreateTemp(t.TempDir(), "spool-*")
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			file.Write(tc.file)
			w := New("", 0)
			w.f, w.closed, w.runs = file, true, []run{{0, int64(len(tc.file))}}
			err = Merge([]*Writer{w}, func(int, []byte, []byte) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "spool: damaged run") {
				t.Fatalf("Merge = %v, want a damaged run", err)
			}
		})
	}
}
