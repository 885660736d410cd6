package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// A directory is walked recursively in sorted path order; files in it that
// are not captures are skipped with a warning, never read as damage.
func TestExpandInputsWalksDirectories(t *testing.T) {
	demo, err := os.ReadFile("../../fixtures/demo.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := write("run2/fw-1.1/b.pcap", demo)
	a := write("run1/a.pcap", demo)
	notes := write("run1/notes.txt", []byte("lab notes, not a capture\n"))
	write("README.md", []byte("# captures\n"))
	files, skipped, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, b}; !slices.Equal(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}
	if len(skipped) != 2 || skipped[1].File != notes || skipped[1].Code != "skipped-file" || !strings.Contains(skipped[1].Message, "not a capture") {
		t.Errorf("skipped %+v, want README.md and run1/notes.txt as skipped-file warnings", skipped)
	}
	// The warnings reach the report.
	rep, err := Run(t.Context(), Config{InputWarnings: skipped}, files)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range rep.Warnings {
		if w.Code == "skipped-file" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d skipped-file warnings in the report, want 2", n)
	}
	// A directory without any capture is an input error.
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "x.txt"), []byte("x"), 0o644)
	if _, _, err := ExpandInputs([]string{empty}); !errors.Is(err, ErrInput) {
		t.Errorf("a directory without captures: %v, want ErrInput", err)
	}
}

// TestRunErrorClosesPool: a run that fails on its second input (no report)
// still stops its workers.
func TestRunErrorClosesPool(t *testing.T) {
	before := runtime.NumGoroutine()
	bad := filepath.Join(t.TempDir(), "not-a-capture.pcap")
	if err := os.WriteFile(bad, []byte("this is not a capture file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := Run(context.Background(), Config{Workers: 4}, []string{"../../fixtures/demo.pcap", bad}); !errors.Is(err, ErrInput) {
			t.Fatalf("err = %v, want ErrInput", err)
		}
	}
	// Workers return right after the pool's WaitGroup is done, but on a
	// loaded machine the thread running one may not be scheduled for a
	// while: wait up to 10 s for them to be retired (a leaked goroutine
	// never is).
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		t.Errorf("%d goroutines after 5 failed runs of 4 workers, %d before", n, before)
	}
}
