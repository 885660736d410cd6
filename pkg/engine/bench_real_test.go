package engine

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/phonehome/phonehome/pkg/report"
)

// TestRealBenchOutputsParse writes every output of the real-traffic bench
// (PHONEHOME_REAL_BENCH=path to a capture made by
// ../shared/bench/make-real-bench; skipped when unset) and checks that
// each parses: JSON validates against docs/schema, every NDJSON line is
// JSON, every CSV table is CSV. Leaks masked, generic detectors only.
func TestRealBenchOutputsParse(t *testing.T) {
	in := realBench(t)
	// As the CLI runs: json and ndjson spool every flow record and event;
	// the other formats keep flow records in memory (up to MaxRecords).
	inMemoryCfg := genericConfig(t)
	inMemoryCfg.KeepFlows = true
	spooledCfg := inMemoryCfg
	spooledCfg.KeepEvents, spooledCfg.SpoolRecords, spooledCfg.SpoolDir = true, true, t.TempDir()
	spooled, err := Run(context.Background(), spooledCfg, []string{in})
	if err != nil && !errors.Is(err, ErrDamaged) {
		t.Fatal(err)
	}
	defer spooled.Records.Close()
	inMemory, err := Run(context.Background(), inMemoryCfg, []string{in})
	if err != nil && !errors.Is(err, ErrDamaged) {
		t.Fatal(err)
	}
	schema := reportSchema(t)
	dir := t.TempDir()
	for name, opt := range outputOptions {
		rep := inMemory
		if name == "json" || name == "ndjson" {
			rep = spooled
		}
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := report.Write(f, rep, opt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, _ := f.Stat()
		f.Close()
		r, _ := os.Open(p)
		switch {
		case name == "json":
			inst, err := jsonschema.UnmarshalJSON(bufio.NewReader(r))
			if err != nil {
				t.Errorf("json: %v", err)
			} else if err := schema.Validate(inst); err != nil {
				t.Errorf("json: %v", err)
			}
		case name == "ndjson":
			sc := bufio.NewScanner(r)
			sc.Buffer(nil, 64<<20)
			n := 0
			for sc.Scan() {
				n++
				if !json.Valid(sc.Bytes()) {
					t.Errorf("ndjson line %d is not JSON", n)
					break
				}
			}
			if err := sc.Err(); err != nil {
				t.Errorf("ndjson: %v", err)
			}
			t.Logf("ndjson: %d lines", n)
		case len(name) > 4 && name[:4] == "csv-":
			cr := csv.NewReader(bufio.NewReader(r))
			n := 0
			for {
				_, err := cr.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					break
				}
				n++
			}
			t.Logf("%s: %d rows", name, n)
		}
		r.Close()
		t.Logf("%s: %d bytes", name, st.Size())
	}
}
