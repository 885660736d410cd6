package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/phonehome/phonehome/fixtures/adversarial"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/engine"
)

// writeCaptureFile writes a generated capture into dir.
func writeCaptureFile(t *testing.T, dir, name string, write func(io.Writer) error) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	f.Close()
	return p
}

// failingWriter accepts n bytes, then fails as a full disk does.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, syscall.ENOSPC
	}
	w.n -= len(p)
	return len(p), nil
}

// TestExitCodeTable: one case per exit code, each for the reason the
// table in README.md gives.
func TestExitCodeTable(t *testing.T) {
	dir, _ := filepath.Abs(t.TempDir())
	many := writeCaptureFile(t, dir, "half-open.pcap", func(w io.Writer) error { return adversarial.HalfOpen(w, 60_000) })
	fwV2 := "fixtures/captures/firmware-v2.pcap"
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stdout io.Writer
		code   int
		stderr string
	}{
		{"0 done", nil, []string{"analyze", "fixtures/demo.pcap"}, nil, exitOK, ""},
		{"0 temporary files fail, records kept in memory", map[string]string{"TMPDIR": filepath.Join(dir, "missing")},
			[]string{"analyze", "-f", "ndjson", many}, nil, exitOK, ""},
		{"1 policy violated", nil, []string{"check", "--fail-on", "high", fwV2}, nil, exitViolation, "check failed"},
		{"2 usage", nil, []string{"analyze", "--frobnicate", "fixtures/demo.pcap"}, nil, exitUsage, "frobnicate"},
		{"2 unreadable input", nil, []string{"analyze", "go.mod"}, nil, exitUsage, "not a pcap"},
		{"2 -o directory missing", nil, []string{"analyze", "-o", filepath.Join(dir, "nodir", "r.json"), "fixtures/demo.pcap"}, nil, exitUsage, "cannot write"},
		{"2 -o is a directory", nil, []string{"analyze", "-o", dir, "fixtures/demo.pcap"}, nil, exitUsage, "is a directory"},
		{"2 check --also directory missing", nil, []string{"check", "--fail-on", "high", "--also", "junit=" + filepath.Join(dir, "nodir", "j.xml"), fwV2}, nil, exitUsage, "cannot write"},
		{"3 damaged", nil, []string{"analyze", "fixtures/captures/truncated.pcap"}, nil, exitDamaged, "damaged after frame"},
		{"4 stdout full", nil, []string{"analyze", "-f", "json", "fixtures/demo.pcap"}, &failingWriter{n: 1000}, exitWrite, "no space left"},
		{"5 records lost", map[string]string{"TMPDIR": filepath.Join(dir, "missing")},
			[]string{"analyze", "-f", "json", "--spool-memory", "0", many}, nil, exitIncomplete, "records or events were lost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out strings.Builder
			stdout := tc.stdout
			if stdout == nil {
				stdout = &out
			}
			_, errs, code := runCLIWith(t, stdout, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errs)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q does not mention %q", errs, tc.stderr)
			}
			if tc.code == exitIncomplete {
				var rep struct {
					Incomplete bool `json:"incomplete"`
					Warnings   []struct {
						Code string `json:"code"`
					} `json:"warnings"`
				}
				if err := json.Unmarshal([]byte(out.String()), &rep); err != nil || !rep.Incomplete {
					t.Errorf("report incomplete = %v (%v), want true", rep.Incomplete, err)
				}
			}
		})
	}
}

// runCLIWith is runCLI with a given standard output.
func runCLIWith(t *testing.T, stdout io.Writer, args ...string) (string, string, int) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var errb strings.Builder
	code := run(t.Context(), append([]string{"phonehome"}, args...), strings.NewReader(""), stdout, &errb)
	return "", errb.String(), code
}

// TestOutputFileIsWholeOrAbsent: -o writes a temporary file beside the
// target and renames it at the end. A failing write leaves nothing under
// the name (and an existing report untouched), and no temporary file.
func TestOutputFileIsWholeOrAbsent(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "report.json")
	partial := func(w io.Writer) error {
		io.WriteString(w, `{"partial":`)
		return errors.New("json: unsupported value")
	}
	whole := func(w io.Writer) error { _, err := io.WriteString(w, "{}\n"); return err }

	err := writeTo(target, nil, partial)
	if exitCode(err) != exitWrite {
		t.Errorf("failed write: exit %d (%v), want %d", exitCode(err), err, exitWrite)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s (%v)", target, err)
	}
	if err := writeTo(target, nil, whole); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(target); st == nil || st.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v, want 0644", st)
	}
	writeTo(target, nil, partial)
	if b, _ := os.ReadFile(target); string(b) != "{}\n" {
		t.Errorf("a failed write changed the existing report to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want only the report (temporary files left?)", len(ents))
	}
	// A symbolic link stays a link; the file it names gets the report.
	link := filepath.Join(dir, "latest.json")
	os.Symlink(target, link)
	if err := writeTo(link, nil, func(w io.Writer) error { _, err := io.WriteString(w, "[]\n"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st == nil || st.Mode()&os.ModeSymlink == 0 {
		t.Error("the symbolic link was replaced")
	}
	if b, _ := os.ReadFile(target); string(b) != "[]\n" {
		t.Errorf("the link's target holds %q", b)
	}
}

// TestOutputToDevice: a device (or pipe) given as -o is written in place;
// renaming a file over /dev/null would replace the device for everyone.
func TestOutputToDevice(t *testing.T) {
	st, err := os.Stat(os.DevNull)
	if err != nil || st.Mode().IsRegular() {
		t.Skip("no /dev/null device here")
	}
	if err := writeTo(os.DevNull, nil, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := checkOutputs(os.DevNull); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s is now a regular file", os.DevNull)
	}
}

// TestOutputDiskFull writes -o onto a 64 KiB tmpfs (needs root and mount;
// skipped otherwise): exit 4, nothing under the name, no temporary file.
func TestOutputDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	target := filepath.Join(dir, "report.json")
	_, errs, code := runCLI(t, "analyze", "-f", "json", "--devices", "fixtures/demo-devices.yaml", "-o", target, "fixtures/captures/firmware-v2.pcap", "fixtures/demo.pcap", "fixtures/captures/handshake.pcap")
	if code != exitWrite || !strings.Contains(errs, "no space left") {
		t.Errorf("exit %d, stderr %q; want %d and the cause", code, errs, exitWrite)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left on the full disk (%v)", len(ents), ents)
	}
}

// TestRunKind: what engine.Run returned maps to one exit code, the same for
// analyze and for each capture of a per-file run (its index exit_code).
func TestRunKind(t *testing.T) {
	rep := &audit.Report{}
	tests := []struct {
		name string
		rep  *audit.Report
		err  error
		code int
	}{
		{"done", rep, nil, exitOK},
		{"not a capture", nil, fmt.Errorf("%w: x: not a capture", engine.ErrInput), exitUsage},
		{"no report", nil, errors.New("spool: cannot create"), exitIncomplete},
		{"damaged", rep, fmt.Errorf("%w: x", engine.ErrDamaged), exitDamaged},
		{"records lost", rep, fmt.Errorf("%w: x", engine.ErrIncomplete), exitIncomplete},
		{"damaged and records lost", rep, errors.Join(engine.ErrDamaged, engine.ErrIncomplete), exitIncomplete},
		{"interrupted", rep, context.Canceled, exitIncomplete},
	}
	for _, tt := range tests {
		if got := exitCode(withKind(runKind(tt.rep, tt.err), tt.err)); got != tt.code {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.code)
		}
	}
}

// TestWorstCode: several captures' codes combine in exitCode's order.
func TestWorstCode(t *testing.T) {
	tests := []struct {
		codes []int
		want  int
	}{
		{nil, exitOK},
		{[]int{exitOK, exitOK}, exitOK},
		{[]int{exitUsage, exitDamaged}, exitDamaged},
		{[]int{exitDamaged, exitIncomplete, exitUsage}, exitIncomplete},
		{[]int{exitIncomplete, exitWrite}, exitWrite},
		{[]int{exitOK, exitUsage}, exitUsage},
	}
	for _, tt := range tests {
		if got := worstCode(tt.codes...); got != tt.want {
			t.Errorf("worstCode(%v) = %d, want %d", tt.codes, got, tt.want)
		}
	}
}
