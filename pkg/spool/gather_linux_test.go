package spool

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// TestSkipWritten: after a short write the slices left begin at the
// first byte not written.
func TestSkipWritten(t *testing.T) {
	parts := []string{"ab", "cde", "f", "ghij"}
	all := "abcdefghij"
	for m := range len(all) + 1 {
		var iov []syscall.Iovec
		for _, p := range parts {
			iov = appendIovec(iov, []byte(p))
		}
		got := ""
		for _, v := range skipWritten(iov, uint64(m)) {
			got += string(unsafe.Slice(v.Base, v.Len))
		}
		if got != all[m:] {
			t.Errorf("after %d bytes: %q left, want %q", m, got, all[m:])
		}
	}
}

// wrappedFile is an *os.File the Writer does not know as one: it writes
// through its buffer.
type wrappedFile struct{ *os.File }

// TestGatheredIsBuffered: runs written with writev(2) are the bytes the
// buffered writes make, in batches larger than one call takes.
func TestGatheredIsBuffered(t *testing.T) {
	dir := t.TempDir()
	defer func(old func(string) (file, error)) { createTemp = old }(createTemp)
	var files []*os.File
	wrap := false
	createTemp = func(string) (file, error) {
		f, err := os.CreateTemp(dir, "gather-*")
		files = append(files, f)
		if wrap {
			return wrappedFile{f}, err
		}
		return f, err
	}
	var runs [2][]run
	var data [2][]byte
	for i, wrapped := range []bool{false, true} {
		wrap = wrapped
		w := New(dir, 64<<10)
		for j := range 3 * gatherMax {
			w.Add(fmt.Appendf(nil, "k%05d", (j*7919)%(3*gatherMax)), bytes.Repeat([]byte{'v'}, j%90))
		}
		w.flush()
		w.Close()
		runs[i], data[i] = w.runs, make([]byte, w.off)
		files[i].ReadAt(data[i], 0) // the file has no name any more
		w.Remove()
	}
	if len(data[0]) == 0 || !bytes.Equal(data[0], data[1]) || !slices.Equal(runs[0], runs[1]) {
		t.Errorf("writev wrote %d bytes in runs %v; the buffer %d in %v", len(data[0]), runs[0], len(data[1]), runs[1])
	}
}
