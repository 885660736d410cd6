package spool

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// fullFile is a temporary file on a disk that fills up after room bytes.
type fullFile struct {
	*os.File
	room int
}

func (f *fullFile) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n, _ := f.File.Write(p[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.room -= len(p)
	return f.File.Write(p)
}

// TestDiskFullFallsBackToMemory: the disk fills up part-way through a
// run; that run and the later ones stay in memory, the runs written before
// stay in the file, and the merge gives every record in order. With a
// fallback too small, records are dropped and counted.
func TestDiskFullFallsBackToMemory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		room     int // bytes the disk takes
		fallback int64
		lost     bool
	}{
		{"full after 3 KiB", 3 << 10, 1 << 20, false},
		{"full at once", 0, 1 << 20, false},
		{"full, small fallback", 3 << 10, 2 << 10, true},
		{"full, no fallback", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			defer func(old func(string) (file, error)) { createTemp = old }(createTemp)
			createTemp = func(string) (file, error) {
				f, err := os.CreateTemp(dir, "full-*")
				return &fullFile{File: f, room: tc.room}, err
			}
			w := New(dir, 1<<10)
			if tc.fallback > 0 {
				w.WithFallback(NewFallback(tc.fallback))
			}
			const n = 2000
			for i := 0; i < n; i++ {
				w.Add([]byte(fmt.Sprintf("k%05d", (i*7919)%n)), []byte("value"))
			}
			err := w.Close()
			defer w.Remove()
			if w.FileError() == nil {
				t.Error("no file error recorded")
			}
			if (err != nil) != tc.lost || (w.Lost() > 0) != tc.lost {
				t.Fatalf("Close: %v, %d lost; want loss %v", err, w.Lost(), tc.lost)
			}
			got := collect(t, []*Writer{w})
			if int64(len(got))+w.Lost() != n {
				t.Errorf("%d records merged + %d lost, want %d", len(got), w.Lost(), n)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].key > got[i].key {
					t.Fatalf("out of order at %d: %s > %s", i, got[i-1].key, got[i].key)
				}
			}
		})
	}
}
