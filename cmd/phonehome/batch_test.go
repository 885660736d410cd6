package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/batch"
)

// TestMain lets a test run the real command in a child process (to kill
// it): with PHONEHOME_TEST_MAIN=1 the test binary is phonehome.
func TestMain(m *testing.M) {
	if os.Getenv("PHONEHOME_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// corpusPcaps is the shared corpus's capture directory, or skips.
func corpusPcaps(t *testing.T) string {
	t.Helper()
	d := corpus.Dir()
	if d == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS): skipping")
	}
	return filepath.Join(d, "pcaps")
}

func readIndex(t *testing.T, path string) batch.Index {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx batch.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// reportFiles maps every file below dir/sub to its content.
func reportFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !batch.IsTemp(d.Name()) {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

// indexLine is a Result without Resumed, which depends on the history of
// the directory rather than on the capture.
func indexLine(r batch.Result) string {
	r.Resumed = false
	b, _ := json.Marshal(r)
	return string(b)
}

// TestPerFileShardsCorpus runs shards 0..N-1 into one shared directory, as
// the pods of an Indexed Job do, and checks that together they did exactly
// what one unsharded run does: the same index lines and byte-identical
// reports, each capture in exactly one shard, no file written twice.
func TestPerFileShardsCorpus(t *testing.T) {
	pcaps := corpusPcaps(t)
	whole := t.TempDir()
	_, errs, code := runCLI(t, "analyze", "--per-file", "--jobs", "2", "-f", "json", "-o", whole, pcaps)
	if code != 0 && code != exitPartial {
		t.Fatalf("unsharded run: exit %d: %s", code, errs)
	}
	want := readIndex(t, filepath.Join(whole, "index.json"))
	if len(want.Captures) < 100 {
		t.Fatalf("only %d captures in the corpus index", len(want.Captures))
	}
	const n = 3
	shared := t.TempDir()
	var got []string
	perShard := make([]int, n)
	for i := range n {
		_, errs, code := runCLI(t, "analyze", "--per-file", "--jobs", fmt.Sprint(1+i%2), "--shard", fmt.Sprintf("%d/%d", i, n), "-f", "json", "-o", shared, pcaps)
		if code != 0 && code != exitPartial {
			t.Fatalf("shard %d: exit %d: %s", i, code, errs)
		}
		idx := readIndex(t, filepath.Join(shared, batch.IndexName(batch.Shard{I: i, N: n})))
		for _, r := range idx.Captures {
			if r.Resumed {
				t.Errorf("shard %d found %s already done: another shard wrote it", i, r.Path)
			}
			got = append(got, indexLine(r))
		}
		perShard[i] = len(idx.Captures)
	}
	var wantLines []string
	for _, r := range want.Captures {
		wantLines = append(wantLines, indexLine(r))
	}
	slices.Sort(got)
	slices.Sort(wantLines)
	if !slices.Equal(got, wantLines) {
		t.Errorf("the shards' index lines differ from the unsharded run's (%d vs %d lines)", len(got), len(wantLines))
	}
	for i, c := range perShard {
		if c == 0 {
			t.Errorf("shard %d got no capture: the split is not spreading", i)
		}
	}
	a, b := reportFiles(t, filepath.Join(whole, "reports")), reportFiles(t, filepath.Join(shared, "reports"))
	if len(a) != len(b) {
		t.Errorf("%d reports unsharded, %d from the shards", len(a), len(b))
	}
	for name, body := range a {
		if b[name] != body {
			t.Errorf("%s differs between the unsharded run and the shards", name)
		}
	}
	t.Logf("%d captures; per shard %v", len(want.Captures), perShard)

	// A per-file report is the report of `analyze --format json` on that
	// capture alone.
	for _, r := range want.Captures[:5] {
		out, _, _ := runCLI(t, "analyze", "-f", "json", r.Path)
		if out != a[strings.TrimPrefix(r.Files[0], "reports/")] {
			t.Errorf("%s: per-file report differs from a single run's", r.Path)
		}
	}
}

// TestPerFileResumeAfterKill stops a run after some captures are complete
// (SIGKILL, as a crash or a pre-empted node; SIGTERM, as Kubernetes stops
// a pod), starts it again, and checks that the second run analyses only
// the captures that were not complete and ends with the reports of an
// uninterrupted run.
func TestPerFileResumeAfterKill(t *testing.T) {
	pcaps := corpusPcaps(t)
	ref := t.TempDir()
	if _, errs, code := runCLI(t, "analyze", "--per-file", "-f", "json", "-o", ref, pcaps); code != 0 && code != exitPartial {
		t.Fatalf("reference run: exit %d: %s", code, errs)
	}
	total := len(readIndex(t, filepath.Join(ref, "index.json")).Captures)
	refReports := reportFiles(t, filepath.Join(ref, "reports"))

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(os.Args[0], "analyze", "--per-file", "--jobs", "1", "-f", "json", "-o", out, pcaps)
			cmd.Env = append(os.Environ(), "PHONEHOME_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			const k = 5
			deadline := time.Now().Add(2 * time.Minute)
			var exitErr error
			for {
				done, _ := filepath.Glob(filepath.Join(out, "done", "*.json"))
				if len(done) >= k {
					cmd.Process.Signal(sig)
					exitErr = <-exited
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("the run ended (%v) before %d captures were complete: %s", err, k, stderr.String())
				case <-time.After(2 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no progress")
				}
			}
			done, _ := filepath.Glob(filepath.Join(out, "done", "*.json"))
			if len(done) >= total {
				t.Skipf("the run finished all %d captures before it could be stopped", total)
			}
			_, err := os.Stat(filepath.Join(out, "index.json"))
			if sig == syscall.SIGKILL && err == nil {
				t.Error("a killed run wrote its index")
			}
			if sig == syscall.SIGTERM {
				// Stopped cleanly: exit 5 and an index marking the rest incomplete.
				ee, ok := exitErr.(*exec.ExitError)
				if !ok || ee.ExitCode() != exitIncomplete {
					t.Errorf("SIGTERM: %v, want exit %d: %s", exitErr, exitIncomplete, stderr.String())
				}
				idx := readIndex(t, filepath.Join(out, "index.json"))
				incomplete := 0
				for _, r := range idx.Captures {
					if r.Status == batch.StatusIncomplete {
						incomplete++
					}
				}
				if incomplete == 0 || incomplete > total-len(done) {
					t.Errorf("SIGTERM: %d incomplete in the index, %d of %d done", incomplete, len(done), total)
				}
			}
			// Every report present is complete: it is its final bytes.
			for name, body := range reportFiles(t, filepath.Join(out, "reports")) {
				if refReports[name] != body {
					t.Errorf("stopped run left %s not equal to its complete report", name)
				}
			}

			_, errs, code := runCLI(t, "analyze", "--per-file", "--jobs", "2", "-f", "json", "-o", out, pcaps)
			if code != 0 && code != exitPartial {
				t.Fatalf("restart: exit %d: %s", code, errs)
			}
			idx := readIndex(t, filepath.Join(out, "index.json"))
			resumed, redone := 0, 0
			for _, r := range idx.Captures {
				if r.Resumed {
					resumed++
				} else if r.Status != batch.StatusDuplicate {
					redone++
				}
			}
			if resumed != len(done) || resumed+redone != total {
				t.Errorf("restart: %d taken from the stopped run, %d analysed; want %d and %d", resumed, redone, len(done), total-len(done))
			}
			got := reportFiles(t, filepath.Join(out, "reports"))
			if len(got) != len(refReports) {
				t.Errorf("%d reports after the restart, want %d", len(got), len(refReports))
			}
			for name, body := range refReports {
				if got[name] != body {
					t.Errorf("%s after the restart differs from the uninterrupted run's", name)
				}
			}
			if tmps := batch.Temps(out); len(tmps) != 0 {
				t.Errorf("temporary files left after the restart: %v", tmps)
			}
			t.Logf("stopped after %d of %d captures; the restart analysed %d", len(done), total, redone)
		})
	}
}

// TestPerFileStdout: without -o, --per-file --format ndjson is one stream
// of records, each tagged with its capture, in capture order whatever
// --jobs; non-captures are skipped with a warning.
func TestPerFileStdout(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"fixtures/demo.pcap", "fixtures/captures/firmware-v1.pcap", "fixtures/captures/firmware-v2.pcap"} {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a capture\n"), 0o644)
	var outs []string
	for _, jobs := range []string{"1", "3"} {
		out, errs, code := runCLI(t, "analyze", "--per-file", "--jobs", jobs, "-f", "ndjson", dir)
		if code != 0 {
			t.Fatalf("--jobs %s: exit %d: %s", jobs, code, errs)
		}
		if !strings.Contains(errs, "README.txt: skipped: not a capture") {
			t.Errorf("no warning for the text file: %s", errs)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Error("--jobs 1 and --jobs 3 give different streams")
	}
	// Untagged, each capture's records are those of a single run, in order.
	var order []string
	per := map[string]*strings.Builder{}
	for _, line := range strings.SplitAfter(outs[0], "\n") {
		if line == "" {
			continue
		}
		var tag struct {
			Path string `json:"capture_path"`
			SHA  string `json:"capture_sha256"`
		}
		if err := json.Unmarshal([]byte(line), &tag); err != nil || tag.Path == "" || len(tag.SHA) != 64 {
			t.Fatalf("untagged line %q (%v)", line, err)
		}
		if per[tag.Path] == nil {
			per[tag.Path] = &strings.Builder{}
			order = append(order, tag.Path)
		}
		prefix := `{"capture_path":` + mustJSON(tag.Path) + `,"capture_sha256":"` + tag.SHA + `",`
		per[tag.Path].WriteString("{" + strings.TrimPrefix(line, prefix))
	}
	if !slices.IsSorted(order) || len(order) != 3 {
		t.Errorf("captures in order %v", order)
	}
	for _, p := range order {
		single, _, _ := runCLI(t, "analyze", "-f", "ndjson", p)
		if per[p].String() != single {
			t.Errorf("%s: tagged records differ from a single run's", p)
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPerFileUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"analyze", "--per-file", "fixtures/demo.pcap"}, exitUsage, "give -o DIR"},
		{[]string{"analyze", "--shard", "1/2", "fixtures/demo.pcap"}, exitUsage, "need --per-file"},
		{[]string{"analyze", "--per-file", "--shard", "2/2", "-f", "ndjson", "fixtures/demo.pcap"}, exitUsage, "0 <= I < N"},
		{[]string{"analyze", "-f", "parquet", "fixtures/demo.pcap"}, exitUsage, "give -o DIR"},
		{[]string{"analyze", "--per-file", "-f", "ndjson", "fixtures/demo-devices.yaml"}, exitNothing, "no capture found"},
		{[]string{"analyze", "--per-file", "-f", "ndjson", "-"}, exitUsage, "standard input"},
	}
	for _, tc := range cases {
		_, errs, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, %q; want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}
