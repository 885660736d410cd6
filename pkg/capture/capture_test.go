package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/phonehome/phonehome/fixtures/adversarial"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/internal/corpus"
)

func demo() []byte { return scenario.Bytes(scenario.All()[0]) }

func readAll(t testing.TB, r io.Reader) (int, error) {
	rd, err := NewReader(r, "test")
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var f Frame
	n := 0
	for {
		if err := rd.Next(&f); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

func TestFormats(t *testing.T) {
	raw := demo()
	want, err := readAll(t, bytes.NewReader(raw))
	if err != nil || want == 0 {
		t.Fatalf("plain: %d frames, %v", want, err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zs := enc.EncodeAll(raw, nil)
	for name, data := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs} {
		got, err := readAll(t, bytes.NewReader(data))
		if err != nil || got != want {
			t.Errorf("%s: %d frames, %v; want %d", name, got, err, want)
		}
	}
}

func TestNotACapture(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty": nil, "short": []byte("ab"), "text": []byte("hello world, not a pcap"),
	} {
		_, err := NewReader(bytes.NewReader(data), name)
		if !errors.Is(err, ErrNotCapture) {
			t.Errorf("%s: err = %v, want ErrNotCapture", name, err)
		}
	}
}

// TestTruncationAtEveryOffset cuts a small capture at every byte and checks
// that reading never panics, keeps every whole frame before the cut, and
// reports damage (with an offset inside the file) unless the cut falls
// between records.
func TestTruncationAtEveryOffset(t *testing.T) {
	raw := scenario.Bytes(scenario.All()[1]) // handshake.pcap
	full, err := readAll(t, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// Record boundaries.
	bounds := map[int]int{24: 0}
	off, n := 24, 0
	for off+16 <= len(raw) {
		caplen := int(raw[off+8]) | int(raw[off+9])<<8 | int(raw[off+10])<<16 | int(raw[off+11])<<24
		off += 16 + caplen
		n++
		bounds[off] = n
	}
	for cut := 0; cut < len(raw); cut++ {
		got, err := readAll(t, bytes.NewReader(raw[:cut]))
		if cut < 24 {
			if !errors.Is(err, ErrNotCapture) && err == nil && cut > 0 {
				t.Errorf("cut %d: header cut but no error", cut)
			}
			continue
		}
		if whole, ok := bounds[cut]; ok {
			if err != nil || got != whole {
				t.Errorf("cut %d at a boundary: %d frames, %v; want %d, nil", cut, got, err, whole)
			}
			continue
		}
		var de *DamageError
		if !errors.As(err, &de) {
			t.Errorf("cut %d: err = %v, want a DamageError", cut, err)
			continue
		}
		if de.Offset > int64(cut) || got > full || uint64(got) != de.Frame {
			t.Errorf("cut %d: %d frames, damage at %d after frame %d", cut, got, de.Offset, de.Frame)
		}
	}
}

func TestCorpusFrameCounts(t *testing.T) {
	for _, e := range corpus.Dev(t) {
		t.Run(e.Name(), func(t *testing.T) {
			var truth struct {
				PacketCount int  `json:"packet_count"`
				ReadOK      bool `json:"tshark_read_ok"`
			}
			corpus.LoadTruth(t, e, &truth)
			r, err := Open(e.Path)
			if err != nil {
				if truth.PacketCount == 0 || !truth.ReadOK {
					return // tshark could not read it either
				}
				t.Fatalf("open: %v", err)
			}
			defer r.Close()
			var f Frame
			n := 0
			var rerr error
			for {
				if err := r.Next(&f); err != nil {
					if err != io.EOF {
						rerr = err
					}
					break
				}
				n++
			}
			if n != truth.PacketCount {
				t.Errorf("read %d frames (err %v), tshark counts %d", n, rerr, truth.PacketCount)
			}
			if rerr != nil && truth.ReadOK && !e.HasTag("truncated") && !e.HasTag("corrupt") {
				t.Errorf("damage reported on a file tshark reads cleanly: %v", rerr)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add(demo()[:600])
	f.Add(scenario.Bytes(scenario.All()[1]))
	// The reader's own hostile inputs (fixtures/adversarial), small sizes.
	for _, w := range []func(io.Writer) error{
		adversarial.BadBlockLength, adversarial.ZstdLongWindow, adversarial.UnknownLink,
		func(w io.Writer) error { return adversarial.OldPcap(w, 1) },
		func(w io.Writer) error { return adversarial.ZstdTruncated(w, 1) },
		func(w io.Writer) error { return adversarial.HugeRecord(w, 70_000, false) },
		func(w io.Writer) error { return adversarial.HugeRecord(w, 70_001, true) },
		func(w io.Writer) error { return adversarial.Snoop(w, 70_000) },
	} {
		var b bytes.Buffer
		w(&b)
		f.Add(b.Bytes())
	}
	seeds, _ := filepath.Glob("testdata/seed/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small record cap, so that fuzzed inputs reach the cutting.
		r, err := NewReaderWith(bytes.NewReader(data), "fuzz", Options{MaxRecord: 4096})
		if err != nil {
			return
		}
		var fr Frame
		for i := 0; i < 10000; i++ {
			if err := r.Next(&fr); err != nil {
				return
			}
			if len(fr.Data) > len(data) && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && !bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
				t.Fatalf("frame longer than the input")
			}
			if len(fr.Data) > 4096 || fr.CI.CaptureLength != len(fr.Data) || fr.CI.Length < fr.CI.CaptureLength {
				t.Fatalf("frame of %d bytes (captured %d, length %d) with a 4096-byte cap", len(fr.Data), fr.CI.CaptureLength, fr.CI.Length)
			}
		}
	})
}

func BenchmarkRead(b *testing.B) {
	raw := bytes.Repeat(demo()[24:], 200)
	raw = append(demo()[:24], raw...)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := readAll(b, bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}
