package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// profileWatcher is a standard output that notes, at the report's first
// byte, whether the profiles were still being taken: the CPU profile's file
// is empty until the profile stops, the heap profile's absent until written.
type profileWatcher struct {
	cpu, mem     string
	seen         bool
	cpuSize      int64
	memWritten   bool
	bytes.Buffer // the report
}

func (w *profileWatcher) Write(p []byte) (int, error) {
	if !w.seen {
		w.seen = true
		if fi, err := os.Stat(w.cpu); err == nil {
			w.cpuSize = fi.Size()
		}
		_, err := os.Stat(w.mem)
		w.memWritten = err == nil
	}
	return w.Buffer.Write(p)
}

// TestProfilesCoverTheWriting: --cpuprofile and --memprofile end after the
// report is written (for json the spool merge and the formatting are a
// large part of the run), and both are complete files at exit.
func TestProfilesCoverTheWriting(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			w := &profileWatcher{cpu: filepath.Join(dir, format+".cpu"), mem: filepath.Join(dir, format+".mem")}
			_, stderr, code := runCLIWith(t, w, "analyze", "--format", format, "--cpuprofile", w.cpu, "--memprofile", w.mem, "fixtures/demo.pcap")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !w.seen || w.Len() == 0 {
				t.Fatal("no report written")
			}
			if w.cpuSize != 0 || w.memWritten {
				t.Errorf("profiles ended before the report was written (CPU profile %d bytes, heap profile written %v)", w.cpuSize, w.memWritten)
			}
			for _, p := range []string{w.cpu, w.mem} {
				if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v, want a profile", p, err)
				}
			}
		})
	}
}
