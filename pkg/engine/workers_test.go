package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/signature"
)

// TestWorkerCountDoesNotChangeOutput runs the same inputs with 1, 2 and 3
// workers and requires byte-identical reports.
func TestWorkerCountDoesNotChangeOutput(t *testing.T) {
	inputs := scenarioInputs(t, 200)
	base := labConfig(t)
	for _, in := range inputs {
		var first []byte
		for _, n := range []int{1, 2, 3} {
			cfg := base
			cfg.Workers, cfg.KeepFlows, cfg.KeepEvents = n, true, true
			rep, err := Run(context.Background(), cfg, []string{in})
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatalf("%s: %v", in, err)
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				t.Errorf("%s: %d workers give a different report than 1", filepath.Base(in), n)
				if os.Getenv("DUMPDIFF") != "" {
					os.WriteFile("/tmp/wd1.json", first, 0o644)
					os.WriteFile("/tmp/wd2.json", b, 0o644)
					t.FailNow()
				}
			}
		}
	}
}

// scenarioInputs writes every scenario capture and the planted-leak capture
// to a temporary directory and returns their paths, plus the dev corpus
// captures of more than minPackets packets when the corpus is there.
func scenarioInputs(t *testing.T, minPackets int) []string {
	t.Helper()
	dir := t.TempDir()
	var inputs []string
	for _, s := range scenario.All() {
		p := filepath.Join(dir, s.Name)
		if err := os.WriteFile(p, scenario.Bytes(s), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	leaks := filepath.Join(dir, "leaks.pcap")
	f, err := os.Create(leaks)
	if err != nil {
		t.Fatal(err)
	}
	scenario.Leaks(f)
	f.Close()
	inputs = append(inputs, leaks, reorderedUploads(t, dir))
	if corpus.Dir() != "" {
		for _, e := range corpus.Dev(t) {
			if e.Packets > minPackets {
				inputs = append(inputs, e.Path)
			}
		}
	}
	return inputs
}

// reorderedUploads writes a capture of 12 HTTP uploads of 12 KiB, each sent
// in 1 KB segments last segment first, from 12 clients to 4 servers, so the
// flows land on several shards and out-of-order bytes pile up in each: the
// buffer caps of TestCapsDoNotDependOnWorkers cut something even without
// the corpus.
func reorderedUploads(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "reordered-uploads.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := craft.New(f, scenario.Start)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("reading=42&"), 12<<10/11)
	order := make([]int, (len(body)+999)/1000)
	for i := range order {
		order[i] = len(order) - 1 - i
	}
	for i := range 12 {
		client := craft.NewHost(fmt.Sprintf("02:00:00:00:01:%02x", i), fmt.Sprintf("192.168.7.%d", 10+i))
		server := craft.NewHost("02:00:00:00:00:01", fmt.Sprintf("203.0.113.%d", 1+i%4))
		k := c.Dial(client, uint16(40000+i), server, 80)
		k.Send(true, craft.HTTPRequest("POST", "upload.example", "/up", map[string]string{"Content-Length": fmt.Sprint(len(body))}, nil))
		k.SendReordered(true, body, 1000, order)
		k.Send(false, craft.HTTPResponse(204, "", nil))
		k.Close()
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	return p
}

// labConfig is a Config with the planted-leak lab devices, their scanner
// and the embedded geo data and signatures.
func labConfig(t *testing.T) Config {
	t.Helper()
	lf, err := lab.Parse("d.yaml", []byte(scenario.LeakDevicesYAML))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := leak.NewScanner(lf.Devices, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := geo.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	return Config{Known: lf.Devices, Scanner: sc, Geo: g, Signatures: sigs}
}

// TestCapsDoNotDependOnWorkers: when --max-flows or --max-total-buffer
// cut something, what they cut is the same whatever the number of
// goroutines (the caps apply per shard, and the shards are fixed).
func TestCapsDoNotDependOnWorkers(t *testing.T) {
	inputs := scenarioInputs(t, 2000)
	base := labConfig(t)
	for _, caps := range []flow.Config{{MaxFlows: 16}, {MaxTotalBuffer: 8 << 10, MaxFlowBuffer: 4 << 10}} {
		cut := false
		for _, in := range inputs {
			var first []byte
			for _, n := range []int{1, 2, 3, 8} {
				cfg := base
				cfg.Flow = caps
				cfg.Workers, cfg.KeepFlows, cfg.KeepEvents = n, true, true
				rep, err := Run(context.Background(), cfg, []string{in})
				if err != nil && !errors.Is(err, ErrDamaged) {
					t.Fatalf("%s: %v", in, err)
				}
				cut = cut || rep.Counters["flows_evicted"]+rep.Counters["tcp_buffer_cap_hits"] > 0
				b, err := json.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = b
				} else if !bytes.Equal(first, b) {
					t.Errorf("%s, caps %+v: %d workers give a different report than 1", filepath.Base(in), caps, n)
				}
			}
		}
		if !cut {
			t.Errorf("caps %+v cut nothing in any input: the test shows nothing", caps)
		}
	}
}
