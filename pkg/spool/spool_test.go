package spool

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
)

type rec struct {
	key, val string
	src, seq int
}

func collect(t *testing.T, ws []*Writer) []rec {
	t.Helper()
	var got []rec
	err := Merge(ws, func(src int, k, v []byte) error {
		got = append(got, rec{key: string(k), val: string(v), src: src})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMergeSortsStablyAcrossRunsAndWriters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		writers int
		records int
		budget  int
	}{
		{"empty", 2, 0, 0},
		{"in-memory", 1, 500, 0},
		{"many-runs", 1, 2000, 1 << 10},
		{"writers-and-runs", 3, 3000, 2 << 10},
		{"record-larger-than-budget", 2, 50, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(1, uint64(tc.records)))
			ws := make([]*Writer, tc.writers)
			for i := range ws {
				ws[i] = New(dir, tc.budget)
			}
			var want []rec
			for i := 0; i < tc.records; i++ {
				src := rng.IntN(tc.writers)
				// Few distinct keys, so that ties are common.
				r := rec{key: fmt.Sprintf("k%03d", rng.IntN(100)), val: fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte("x"), rng.IntN(40))), src: src, seq: i}
				ws[src].Add([]byte(r.key), []byte(r.val))
				want = append(want, r)
			}
			for _, w := range ws {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortStableFunc(want, func(a, b rec) int {
				return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.src, b.src), cmp.Compare(a.seq, b.seq))
			})
			got := collect(t, ws)
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].key != want[i].key || got[i].val != want[i].val || got[i].src != want[i].src {
					t.Fatalf("record %d: got %q=%q, want %q=%q", i, got[i].key, got[i].val, want[i].key, want[i].val)
				}
			}
			// A second merge reads the same again.
			if again := collect(t, ws); len(again) != len(got) {
				t.Fatalf("second merge: %d records, want %d", len(again), len(got))
			}
			spilled := false
			for _, w := range ws {
				spilled = spilled || w.SpilledBytes() > 0
				if err := w.Remove(); err != nil {
					t.Fatal(err)
				}
			}
			if wantSpill := tc.budget > 0 && tc.records > 0; spilled != wantSpill {
				t.Errorf("spilled to disk: %v, want %v", spilled, wantSpill)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("Remove left %d files in the spool directory", len(ents))
			}
		})
	}
}

func TestMergeStopsAtYieldError(t *testing.T) {
	w := New(t.TempDir(), 64)
	for i := 0; i < 100; i++ {
		w.Add([]byte{byte(i)}, []byte("value"))
	}
	w.Close()
	defer w.Remove()
	stop := errors.New("stop")
	n := 0
	err := Merge([]*Writer{w}, func(src int, k, v []byte) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Errorf("Merge returned %v after %d records, want the yield error after 10", err, n)
	}
}

func TestMergeNeedsClose(t *testing.T) {
	w := New("", 0)
	w.Add([]byte("a"), nil)
	if err := Merge([]*Writer{w}, func(src int, k, v []byte) error { return nil }); err == nil {
		t.Error("Merge of an open Writer succeeded")
	}
}

func TestUnwritableDirectoryIsAnError(t *testing.T) {
	w := New("/nonexistent/phonehome-spool-test", 8)
	for i := 0; i < 10; i++ {
		w.Add([]byte("key"), []byte("value"))
	}
	if err := w.Close(); err == nil {
		t.Error("Close returned no error though no run could be written")
	}
}

func BenchmarkSpoolAndMerge(b *testing.B) {
	dir := b.TempDir()
	val := bytes.Repeat([]byte("v"), 300)
	key := make([]byte, 24)
	rng := rand.New(rand.NewPCG(1, 2))
	b.SetBytes(int64(100_000 * (len(val) + len(key))))
	for b.Loop() {
		ws := []*Writer{New(dir, 4<<20), New(dir, 4<<20)}
		for i := 0; i < 100_000; i++ {
			for j := range key {
				key[j] = byte(rng.Uint32())
			}
			ws[i%2].Add(key, val)
		}
		for _, w := range ws {
			w.Close()
		}
		if err := Merge(ws, func(src int, k, v []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
		for _, w := range ws {
			w.Remove()
		}
	}
}

// BenchmarkSort sorts a run of records keyed as the engine's events are:
// a big-endian frame number first (mostly rising, some late: an HTTP
// event carries its request's frame), then a flow key and a sequence.
func BenchmarkSort(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := New(b.TempDir(), 64<<20)
	flow := []byte("tcp\x00192.0.2.1:443\x00198.51.100.7:51234\x00")
	for i := range 60_000 {
		frame := uint64(i * 3)
		if rng.IntN(4) == 0 {
			frame -= uint64(rng.IntN(3000))
		}
		k := binary.BigEndian.AppendUint64(nil, frame)
		k = append(append(k, 1), flow...)
		k = binary.BigEndian.AppendUint64(k, uint64(i))
		w.Add(k, []byte("v"))
	}
	recs := slices.Clone(w.recs)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	for b.Loop() {
		copy(w.recs, recs)
		w.sort()
	}
	if t := threadCPU(); t > 0 {
		b.ReportMetric(float64(t-t0)/float64(b.N), "cpu-ns/op")
	}
}

// TestKeyPrefixOrder: where two keys' prefixes differ they order the keys
// as bytes.Compare does (short keys, zero bytes and prefixes of each other
// included).
func TestKeyPrefixOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	key := func() []byte {
		k := make([]byte, rng.IntN(11))
		for i := range k {
			k[i] = []byte{0, 1, 0x7f, 0x80, 0xff}[rng.IntN(5)]
		}
		return k
	}
	for range 200_000 {
		a, b := key(), key()
		pa, pb := keyPrefix(a), keyPrefix(b)
		if pa != pb && cmp.Compare(pa, pb) != bytes.Compare(a, b) {
			t.Fatalf("%x (%x) and %x (%x): prefixes order them otherwise than bytes.Compare", a, pa, b, pb)
		}
	}
}

// addReference is how Add worked before Append existed: the record copied
// whole into the run's memory, the run flushed first when it would not
// fit. Add itself is now Append behind the same check, so comparing Append
// with Add would compare Append with itself.
func addReference(w *Writer, key, val []byte) {
	if w.closed {
		return
	}
	if len(w.arena)+len(key)+len(val) > w.budget && len(w.recs) > 0 {
		w.flush()
	}
	if w.arena == nil {
		w.arena = make([]byte, 0, w.budget)
	}
	start := len(w.arena)
	w.arena = append(w.arena, key...)
	w.arena = append(w.arena, val...)
	k := w.arena[start : start+len(key) : start+len(key)]
	v := w.arena[start+len(key) : len(w.arena) : len(w.arena)]
	w.recs = append(w.recs, record{k, v})
	w.n++
}

// TestAppendIsAdd: records appended in place (in pieces, some failing,
// some larger than the budget) make the same runs and the same merge as
// the records copied whole (addReference, the old Add), with the file and
// with the memory fallback.
func TestAppendIsAdd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		budget   int
		maxVal   int
		diskFull bool
	}{
		{"small values", 1 << 10, 40, false},
		{"values near the budget", 256, 300, false},
		{"keys and values past the budget", 16, 64, false},
		{"disk full, in memory", 512, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.diskFull {
				defer func(old func(string) (file, error)) { createTemp = old }(createTemp)
				createTemp = func(string) (file, error) {
					f, err := os.CreateTemp(dir, "full-*")
					return &fullFile{File: f, room: 1 << 10}, err
				}
			}
			fb := NewFallback(1 << 30)
			add, app := New(dir, tc.budget).WithFallback(fb), New(dir, tc.budget).WithFallback(fb)
			rng := rand.New(rand.NewPCG(5, uint64(tc.budget)))
			failed := errors.New("unencodable")
			for i := range 3000 {
				key := []byte(fmt.Sprintf("k%03d", rng.IntN(100)))
				if rng.IntN(50) == 0 {
					key = bytes.Repeat(key, 8)
				}
				val := bytes.Repeat([]byte{byte('a' + i%26)}, rng.IntN(tc.maxVal+1))
				fail := rng.IntN(10) == 0
				err := app.Append(key, func(dst []byte) ([]byte, error) {
					half := len(val) / 2
					dst = append(dst, val[:half]...)
					if fail {
						return dst, failed
					}
					return append(dst, val[half:]...), nil
				})
				if fail != (err == failed) {
					t.Fatalf("record %d: Append returned %v, want the value's error: %v", i, err, fail)
				}
				if !fail {
					addReference(add, key, val)
				}
			}
			for _, w := range []*Writer{add, app} {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				defer w.Remove()
			}
			if len(app.runs) != len(add.runs) || len(app.mem) != len(add.mem) || app.SpilledBytes() != add.SpilledBytes() || app.Len() != add.Len() {
				t.Errorf("Append: %d runs in the file, %d in memory, %d bytes, %d records; copied: %d, %d, %d, %d",
					len(app.runs), len(app.mem), app.SpilledBytes(), app.Len(), len(add.runs), len(add.mem), add.SpilledBytes(), add.Len())
			}
			got, want := collect(t, []*Writer{app}), collect(t, []*Writer{add})
			if !slices.Equal(got, want) {
				t.Errorf("Append merged %d records, the copying reference %d; not the same", len(got), len(want))
			}
		})
	}
}
