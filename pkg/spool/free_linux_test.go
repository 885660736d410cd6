package spool

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
)

// With FreeAsMerged a Merge yields the same records as without, gives the
// file's space back as it reads it (here: punching holes), and a second Merge fails instead of reading holes.
func TestFreeAsMergedGivesTheFileBack(t *testing.T) {
	fill := func(dir string) []*Writer {
		ws := []*Writer{New(dir, 256<<10), New(dir, 256<<10)}
		val := bytes.Repeat([]byte("record "), 60)
		for i := range 40_000 {
			ws[i%2].Add(fmt.Appendf(nil, "k%07d", (i*7919)%40_000), append(val, fmt.Sprint(i)...))
		}
		for _, w := range ws {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return ws
	}
	dir := t.TempDir()
	plain, freeing := fill(dir), fill(dir)
	defer func() {
		for _, w := range append(plain, freeing...) {
			w.Remove()
		}
	}()
	want := collect(t, plain)
	for _, w := range freeing {
		w.FreeAsMerged()
	}
	before := allocated(freeing)
	got := collect(t, freeing)
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %q=%q, want %q=%q", i, got[i].key, got[i].val, want[i].key, want[i].val)
		}
	}
	if err := Merge(freeing, func(int, []byte, []byte) error { return nil }); err == nil {
		t.Error("a second Merge after FreeAsMerged succeeded")
	}
	after := allocated(freeing)
	t.Logf("file blocks: %d before the merge, %d after", before, after)
	if before == 0 || after > before/4 {
		t.Errorf("%d of %d blocks still allocated after the merge", after, before)
	}
}

// allocated is the 512-byte blocks the Writers' files hold (0 where the
// system does not say).
func allocated(ws []*Writer) int64 {
	var n int64
	for _, w := range ws {
		if f, ok := w.f.(interface{ Fd() uintptr }); ok {
			var st syscall.Stat_t
			if syscall.Fstat(int(f.Fd()), &st) == nil {
				n += int64(st.Blocks)
			}
		}
	}
	return n
}
