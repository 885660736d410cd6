package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/adversarial"
)

// writeCapture writes a generated capture into a temporary directory and
// returns its absolute path (runCLI runs from the repository root).
func writeCapture(t *testing.T, name string, write func(io.Writer) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOutputSafety analyses a capture whose DNS names, HTTP Host and
// User-Agent hold ANSI escape sequences, <script>, a spreadsheet formula,
// pipes and newlines, and checks every report format: nothing captured
// can drive a terminal, open a tag, run a formula or break a table, and
// identifiers are masked unless --show-evidence.
func TestOutputSafety(t *testing.T) {
	pcap := writeCapture(t, "injection.pcap", adversarial.Injection)
	imei := adversarial.CanaryIMEI
	noControls := func(t *testing.T, out string) {
		t.Helper()
		for i, r := range out {
			if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e {
				t.Fatalf("control character %U at byte %d: %q", r, i, out[max(0, i-40):min(len(out), i+40)])
			}
		}
	}
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"table", []string{"-f", "table", "--table", "devices,destinations,leaks,findings,summary,flows"}, func(t *testing.T, out string) {
			noControls(t, out)
			if !strings.Contains(out, `\x1b[2J`) {
				t.Error("the escape sequence is not shown as visible text")
			}
		}},
		{"json", []string{"-f", "json"}, func(t *testing.T, out string) {
			noControls(t, out)
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
			// JSON keeps captured strings exactly (escaped by the encoder).
			if !strings.Contains(out, `\u001b[2J`) || !strings.Contains(out, `\u003cscript\u003e`) && !strings.Contains(out, `<script>`) {
				t.Error("captured strings not kept in JSON")
			}
		}},
		{"ndjson", []string{"-f", "ndjson"}, func(t *testing.T, out string) {
			noControls(t, out)
			for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !json.Valid([]byte(line)) {
					t.Fatalf("line %d is not JSON: %q", i+1, line)
				}
			}
		}},
		{"markdown", []string{"-f", "markdown"}, func(t *testing.T, out string) {
			noControls(t, out)
			if strings.Contains(out, "<script>") {
				t.Error("raw <script> in Markdown")
			}
			checkPipeTables(t, out)
		}},
		{"html", []string{"-f", "html"}, func(t *testing.T, out string) {
			if strings.Contains(out, adversarial.InjectHTML) || strings.Contains(out, "\x1b") {
				t.Error("raw <script>alert(1)</script> or ESC in HTML")
			}
			if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("the captured <script> is not shown escaped")
			}
		}},
	}
	for _, table := range []string{"devices", "destinations", "leaks", "findings", "flows"} {
		cases = append(cases, struct {
			name  string
			args  []string
			check func(t *testing.T, out string)
		}{"csv-" + table, []string{"-f", "csv", "--table", table}, func(t *testing.T, out string) {
			for i, r := range out {
				if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
					t.Fatalf("control character %U at byte %d", r, i)
				}
			}
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("invalid CSV: %v", err)
			}
			for _, rec := range recs {
				for _, cell := range rec {
					if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isNumber(cell) {
						t.Errorf("cell %q starts a formula", cell)
					}
				}
			}
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(t, append(append([]string{"analyze", "--no-progress"}, tc.args...), pcap)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if strings.Contains(out, imei) {
				t.Errorf("the IMEI %s appears in clear without --show-evidence", imei)
			}
			tc.check(t, out)
		})
	}
	t.Run("show-evidence", func(t *testing.T) {
		out, errs, code := runCLI(t, "analyze", "--no-progress", "--show-evidence", "-f", "json", pcap)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if !strings.Contains(out, imei) {
			t.Error("--show-evidence does not show the IMEI")
		}
	})
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// checkPipeTables checks that every row of each Markdown pipe table has
// as many unescaped cell separators as its header.
func checkPipeTables(t *testing.T, out string) {
	t.Helper()
	want := -1
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := 0
		for i := 0; i < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '|' {
				n++
			}
		}
		if want < 0 {
			want = n
		} else if n != want {
			t.Errorf("table row with %d cell separators, header has %d: %q", n, want, line)
		}
	}
}

// TestMaxMemory analyses every adversarial capture with --max-memory and
// samples the heap: its peak stays under the limit (the soft limit makes
// the collector work harder near it; the caps keep live data well below).
func TestMaxMemory(t *testing.T) {
	const limit = 256 << 20
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	sizes := adversarial.Reduced()
	if testing.Short() {
		sizes = adversarial.Sizes{HalfOpen: 5000, Segments: 20_000, SnapCut: 5000, Body: 4 << 20, Bomb: 16 << 20, Depth: 50, Backwards: 100}
	}
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapAlloc)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	for _, c := range adversarial.Cases(sizes) {
		if c.Name == "zstd-long-window" {
			// Its decoder reserves the declared 1 GiB window at once
			// (counted in the heap, resident only as far as the decoded
			// data reaches); docs/security.md, --max-zstd-window.
			continue
		}
		path := writeCapture(t, c.Name+"."+c.Ext, c.Write)
		_, errs, code := runCLI(t, "analyze", "--no-progress", "--max-memory", "256MiB", "-f", "json", "-o", os.DevNull, path)
		if code != exitOK && code != exitPartial {
			t.Errorf("%s: exit %d: %s", c.Name, code, errs)
		}
		if code == exitPartial && !strings.Contains(errs, "damaged") {
			t.Errorf("%s: exit 3 without a damage warning: %s", c.Name, errs)
		}
		os.Remove(path)
	}
	close(stop)
	wg.Wait()
	t.Logf("peak heap over the adversarial set: %.1f MiB (limit %d MiB)", float64(peak)/(1<<20), limit>>20)
	if peak > limit {
		t.Errorf("peak heap %.1f MiB above --max-memory %d MiB", float64(peak)/(1<<20), limit>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("--max-memory set the runtime limit to %d, want %d", got, limit)
	}
}
