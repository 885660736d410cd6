package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/signature"
)

// TestWorkerCountDoesNotChangeOutput runs the same inputs with 1, 2 and 3
// workers and requires byte-identical reports.
func TestWorkerCountDoesNotChangeOutput(t *testing.T) {
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
	f, _ := os.Create(leaks)
	scenario.Leaks(f)
	f.Close()
	inputs = append(inputs, leaks)
	if corpus.Dir() != "" {
		for _, e := range corpus.Dev(t) {
			if e.Packets > 200 {
				inputs = append(inputs, e.Path)
			}
		}
	}
	lf, _ := lab.Parse("d.yaml", []byte(scenario.LeakDevicesYAML))
	sc, err := leak.NewScanner(lf.Devices, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := geo.Embedded()
	sigs, _ := signature.LoadEmbedded()
	for _, in := range inputs {
		var first []byte
		for _, n := range []int{1, 2, 3} {
			cfg := Config{Workers: n, KeepFlows: true, KeepEvents: true, Known: lf.Devices, Scanner: sc, Geo: g, Signatures: sigs}
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
