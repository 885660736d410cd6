package engine

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/adversarial"
	"github.com/phonehome/phonehome/pkg/capture"
)

// TestHostileRecordCap: a record longer than the record cap is cut, the
// file goes on (the canary lookup after it is read), and a record-cap
// warning says how many and how long; memory stays near the cap.
func TestHostileRecordCap(t *testing.T) {
	for _, ng := range []bool{false, true} {
		name := map[bool]string{false: "record-huge.pcap.gz", true: "record-huge-ng.pcapng.gz"}[ng]
		t.Run(name, func(t *testing.T) {
			size := int64(pick(16<<20, 256<<20))
			r := runHostile(t, name, hostileConfig(t), func(w io.Writer) error { return adversarial.HugeRecord(w, size, ng) })
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.canaryKept(t)
			w := r.warning(t, "record-cap")
			if w.Count != 1 || r.counter("records_cut") != 1 || r.counter("record_bytes_skipped") != uint64(size)-capture.DefaultMaxRecord {
				t.Errorf("warning %+v, counters cut %d skipped %d", w, r.counter("records_cut"), r.counter("record_bytes_skipped"))
			}
			if r.rep.Summary.Frames != 15 {
				t.Errorf("%d frames, want 15 (the file goes on after the cut record)", r.rep.Summary.Frames)
			}
			r.heapBelow(t, 64<<20)
		})
	}
}

// TestHostileUnknownLink: frames of a link type nothing decodes are
// counted and warned about, naming the link type.
func TestHostileUnknownLink(t *testing.T) {
	r := runHostile(t, "unknown-link.pcapng", hostileConfig(t), adversarial.UnknownLink)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.canaryKept(t)
	w := r.warning(t, "unknown-link-type")
	if w.Count != adversarial.UnknownLinkFrames || r.counter("frames_unknown_link") != adversarial.UnknownLinkFrames {
		t.Errorf("warning %+v, counter %d; want %d frames", w, r.counter("frames_unknown_link"), adversarial.UnknownLinkFrames)
	}
	if !strings.Contains(w.Message, "LINKTYPE_147") {
		t.Errorf("warning %q does not name the link type", w.Message)
	}
}

// TestSpoolFailure: when the temporary files cannot be written, JSON and
// NDJSON records are kept in memory (a spool-fallback warning, nothing
// lost); with no memory fallback they are lost, and the run says so:
// ErrIncomplete, "incomplete", a spool-error warning.
func TestSpoolFailure(t *testing.T) {
	path, _ := writeCase(t, "small.pcap", adversarial.Small)
	count := func(t *testing.T, cfg Config) (flows, events int, err error) {
		t.Helper()
		rep, err := Run(t.Context(), cfg, []string{path})
		if rep == nil {
			t.Fatalf("no report: %v", err)
		}
		t.Cleanup(func() {
			if rep.Records != nil {
				rep.Records.Close()
			}
		})
		if rep.Records != nil {
			rep.Records.Each(nil, func([]byte) error { flows++; return nil }, func([]byte) error { events++; return nil })
		}
		for _, w := range rep.Warnings {
			t.Logf("warning %s: %s", w.Code, w.Message)
		}
		if (err != nil) != rep.Incomplete {
			t.Errorf("incomplete = %v with error %v", rep.Incomplete, err)
		}
		return flows, events, err
	}
	base := hostileConfig(t)
	base.SpoolRecords = true
	base.SpoolBudget = 64 // a run per few records: the file is needed at once
	base.Workers = 2
	good := base
	good.SpoolDir = t.TempDir()
	wantF, wantE, err := count(t, good)
	if err != nil || wantF == 0 || wantE == 0 {
		t.Fatalf("writable TMPDIR: %d flows, %d events, %v", wantF, wantE, err)
	}
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o500)
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), "/dev/null", ro} {
		t.Run("fallback "+filepath.Base(dir), func(t *testing.T) {
			cfg := base
			cfg.SpoolDir = dir
			f, e, err := count(t, cfg)
			if err != nil || f != wantF || e != wantE {
				t.Errorf("%d flows, %d events, %v; want %d, %d, nil", f, e, err, wantF, wantE)
			}
		})
		t.Run("no fallback "+filepath.Base(dir), func(t *testing.T) {
			if dir == ro && os.Geteuid() == 0 {
				t.Skip("root writes into a read-only directory")
			}
			cfg := base
			cfg.SpoolDir = dir
			cfg.SpoolFallback = -1
			f, e, err := count(t, cfg)
			if !errors.Is(err, ErrIncomplete) || f+e >= wantF+wantE {
				t.Errorf("%d flows, %d events, %v; want fewer than %d+%d and ErrIncomplete", f, e, err, wantF, wantE)
			}
		})
	}
}

// TestHostileBombCounted: a gzip body of about 1000:1 that stops at the
// decoded cap is counted as a bomb; the warning said "0 of them at over
// 100:1" when the ratio was taken against the whole body kept.
func TestHostileBombCounted(t *testing.T) {
	r := runHostile(t, "gzip-bomb.pcap", hostileConfig(t), func(w io.Writer) error { return adversarial.GzipBomb(w, 64<<20) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	w := r.warning(t, "http-decoded-cap")
	if n := r.counter("http_body_bomb"); n == 0 || n != r.counter("http_body_decoded_limit") || strings.Contains(w.Message, " 0 of them") {
		t.Errorf("bombs %d of %d decoded-limit bodies; warning %q", n, r.counter("http_body_decoded_limit"), w.Message)
	}
}
