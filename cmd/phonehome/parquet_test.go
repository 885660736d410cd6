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
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/batch"
	"github.com/phonehome/phonehome/pkg/report/parquet"
)

// jsonReport is the part of a JSON report the Parquet tables are compared with.
type jsonReport struct {
	Devices []audit.Device    `json:"devices"`
	Flows   []audit.Flow      `json:"flows"`
	Events  []json.RawMessage `json:"events"`
}

func loadJSONReport(t *testing.T, path string) jsonReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r jsonReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readTable[T any](t *testing.T, dir, table, sha string) []T {
	t.Helper()
	rows, err := pq.ReadFile[T](filepath.Join(dir, table, sha+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// perFileBoth runs the same per-file analysis as JSON and as Parquet and
// returns both directories and the index.
func perFileBoth(t *testing.T, extra []string, inputs ...string) (jsonDir, pqDir string, idx batch.Index) {
	t.Helper()
	jsonDir, pqDir = t.TempDir(), t.TempDir()
	for _, run := range []struct{ format, dir string }{{"json", jsonDir}, {"parquet", pqDir}} {
		args := append([]string{"analyze", "--per-file", "-f", run.format, "-o", run.dir}, extra...)
		_, errs, code := runCLI(t, append(args, inputs...)...)
		if code != 0 && code != exitPartial {
			t.Fatalf("%s: exit %d: %s", run.format, code, errs)
		}
	}
	return jsonDir, pqDir, readIndex(t, filepath.Join(pqDir, "index.json"))
}

// compareParquetJSON checks, capture by capture, that the six tables hold
// the JSON report's rows: the same counts and the same values.
func compareParquetJSON(t *testing.T, jsonDir, pqDir string, idx batch.Index) (rows map[string]int) {
	rows = map[string]int{}
	for _, c := range idx.Captures {
		if c.Status == batch.StatusUnreadable || c.Status == batch.StatusDuplicate {
			continue
		}
		name := filepath.Base(c.Path)
		js := loadJSONReport(t, filepath.Join(jsonDir, "reports", c.SHA256+".json"))
		devs := readTable[parquet.DeviceRow](t, pqDir, "devices", c.SHA256)
		dests := readTable[parquet.DestinationRow](t, pqDir, "destinations", c.SHA256)
		leaks := readTable[parquet.LeakRow](t, pqDir, "leaks", c.SHA256)
		finds := readTable[parquet.FindingRow](t, pqDir, "findings", c.SHA256)
		flows := readTable[parquet.FlowRow](t, pqDir, "flows", c.SHA256)
		events := readTable[parquet.EventRow](t, pqDir, "events", c.SHA256)
		var nd, nl, nf int
		for _, d := range js.Devices {
			nd += len(d.Destinations)
			nl += len(d.Leaks)
			nf += len(d.Findings)
		}
		got := []int{len(devs), len(dests), len(leaks), len(finds), len(flows), len(events)}
		want := []int{len(js.Devices), nd, nl, nf, len(js.Flows), len(js.Events)}
		if !slices.Equal(got, want) {
			t.Errorf("%s: rows per table %v, JSON %v", name, got, want)
			continue
		}
		for i, tb := range parquet.Tables {
			rows[tb] += got[i]
		}
		di, li, fi := 0, 0, 0
		for i, d := range js.Devices {
			r := devs[i]
			if r.ID != d.ID || r.Name != d.Name || !slices.Equal(r.IPs, d.IPs) || r.SummaryBytesUp != d.Summary.BytesUp ||
				r.CapturePath != c.Path || r.CaptureSHA256 != c.SHA256 {
				t.Errorf("%s: device %d: %+v vs %+v", name, i, r, d)
			}
			for _, x := range d.Destinations {
				r := dests[di]
				di++
				if r.Device != d.ID || r.Name != x.Name || r.IP != x.IP || int(r.Port) != int(x.Port) || r.Country != x.Country ||
					r.BytesUp != x.BytesUp || r.BytesDown != x.BytesDown || r.Registered != x.RegisteredCountry || r.Hosting != x.Hosting || (r.FirstSeen != nil && !r.FirstSeen.Equal(x.FirstSeen)) {
					t.Errorf("%s: destination %+v vs %+v", name, r, x)
				}
			}
			for _, l := range d.Leaks {
				r := leaks[li]
				li++
				if r.Identifier != l.Identifier || r.Value != l.Value || r.Frame != l.Frame || r.DestCountry != l.Dest.Country ||
					r.Severity != l.Severity.String() || r.DestRegistered != l.Dest.RegisteredCountry || r.DestAnycast != l.Dest.Anycast || r.DestPlaintext != audit.Channel(l.Dest.Channel).Plaintext() {
					t.Errorf("%s: leak %+v vs %+v", name, r, l)
				}
			}
			for _, f := range d.Findings {
				r := finds[fi]
				fi++
				if r.Kind != f.Kind || r.Message != f.Message || r.Frame != f.Frame || r.DestName != f.Dest.Name {
					t.Errorf("%s: finding %+v vs %+v", name, r, f)
				}
			}
		}
		for i, f := range js.Flows {
			r := flows[i]
			if r.ID != f.ID || r.Client != f.Client || r.Server != f.Server || r.BytesUp != f.BytesUp || r.BytesDown != f.BytesDown ||
				r.State != f.State || (r.First != nil && !r.First.Equal(f.First)) {
				t.Errorf("%s: flow %+v vs %+v", name, r, f)
			}
		}
		for i, e := range js.Events {
			var compact bytes.Buffer
			json.Compact(&compact, e)
			if events[i].Record != compact.String() {
				t.Errorf("%s: event %d: %s vs %s", name, i, events[i].Record, compact.String())
			}
		}
	}
	return rows
}

// labLayout copies the fixtures into captures/<device>/<firmware>/<run>,
// the layout docs/scale.md's queries read the firmware from.
func labLayout(t *testing.T) string {
	dir := t.TempDir()
	for src, dst := range map[string]string{
		"fixtures/captures/firmware-v1.pcap": "cam/fw-1.0/run1.pcap",
		"fixtures/captures/firmware-v2.pcap": "cam/fw-2.0/run1.pcap",
		"fixtures/demo.pcap":                 "phone/miui-12/run1.pcap",
	} {
		b, err := os.ReadFile(filepath.Join("../..", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(dst))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParquetMatchesJSONFixtures(t *testing.T) {
	lab := labLayout(t)
	// A second copy of one capture under another name: analysed once.
	demo, _ := os.ReadFile(filepath.Join(lab, "phone/miui-12/run1.pcap"))
	if err := os.WriteFile(filepath.Join(lab, "phone/miui-12/run2.pcap"), demo, 0o644); err != nil {
		t.Fatal(err)
	}
	jsonDir, pqDir, idx := perFileBoth(t, []string{"--devices", "fixtures/demo-devices.yaml"}, lab)
	rows := compareParquetJSON(t, jsonDir, pqDir, idx)
	if rows["leaks"] < 6 {
		t.Errorf("rows compared: %v", rows)
	}
	var dup []batch.Result
	for _, r := range idx.Captures {
		if r.Status == batch.StatusDuplicate {
			dup = append(dup, r)
		}
	}
	if len(dup) != 1 || !strings.HasSuffix(dup[0].Path, "run2.pcap") || !strings.HasSuffix(dup[0].DuplicateOf, "run1.pcap") ||
		len(dup[0].Files) != len(parquet.Tables) {
		t.Errorf("duplicates %+v", dup)
	}
	// Run again: everything is complete, nothing is rewritten.
	before := reportFiles(t, pqDir)
	_, errs, code := runCLI(t, "analyze", "--per-file", "-f", "parquet", "--devices", "fixtures/demo-devices.yaml", "-o", pqDir, lab)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	for _, r := range readIndex(t, filepath.Join(pqDir, "index.json")).Captures {
		if !r.Resumed && r.Status != batch.StatusDuplicate {
			t.Errorf("%s analysed again", r.Path)
		}
	}
	after := reportFiles(t, pqDir)
	for name, b := range before {
		if name != "index.json" && after[name] != b {
			t.Errorf("%s rewritten by the second run", name)
		}
	}
	// Masked as in every format: no full IMEI in any row of any table (the
	// files are compressed, so the rows are read back and searched).
	var all bytes.Buffer
	for _, c := range idx.Captures {
		for _, rows := range []any{
			readTable[parquet.DeviceRow](t, pqDir, "devices", c.SHA256),
			readTable[parquet.DestinationRow](t, pqDir, "destinations", c.SHA256),
			readTable[parquet.LeakRow](t, pqDir, "leaks", c.SHA256),
			readTable[parquet.FindingRow](t, pqDir, "findings", c.SHA256),
			readTable[parquet.FlowRow](t, pqDir, "flows", c.SHA256),
			readTable[parquet.EventRow](t, pqDir, "events", c.SHA256),
		} {
			b, _ := json.Marshal(rows)
			all.Write(b)
		}
	}
	for _, imei := range []string{"867891045582412", "356938035643809"} {
		if bytes.Contains(all.Bytes(), []byte(imei)) {
			t.Errorf("the tables hold the IMEI %s in clear", imei)
		}
	}
	if !bytes.Contains(all.Bytes(), []byte("3569*******3809")) {
		t.Error("the masked IMEI is not in the tables")
	}
}

func TestParquetOneRecording(t *testing.T) {
	out := t.TempDir()
	_, errs, code := runCLI(t, "analyze", "-f", "parquet", "-o", out, "fixtures/captures/firmware-v1.pcap", "fixtures/captures/firmware-v2.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(out, "devices", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("devices files %v", files)
	}
	devs, err := pq.ReadFile[parquet.DeviceRow](files[0])
	if err != nil || len(devs) != 1 || devs[0].CapturePath != "fixtures/captures/firmware-v1.pcap + fixtures/captures/firmware-v2.pcap" ||
		filepath.Base(files[0]) != devs[0].CaptureSHA256+".parquet" {
		t.Errorf("rows %+v, %v", devs, err)
	}
}

// duckdbQuery runs scripts/duckdb/query, or skips when node or the
// @duckdb/node-api package is not there (.ci/run installs it and sets
// PHONEHOME_DUCKDB_DIR).
func duckdbQuery(t *testing.T, results string, sql ...string) map[string][]map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: skipping the DuckDB check")
	}
	dir := os.Getenv("PHONEHOME_DUCKDB_DIR")
	if dir == "" {
		t.Skip("PHONEHOME_DUCKDB_DIR not set (a directory with `npm install @duckdb/node-api`; .ci/run sets it): skipping the DuckDB check")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skipf("@duckdb/node-api not installed in %s: skipping", dir)
	}
	args := []string{"../../scripts/duckdb/query", results}
	for _, s := range sql {
		args = append(args, "../../scripts/duckdb/"+s)
	}
	cmd := exec.Command(node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v: %s", err, stderr.String())
	}
	var res map[string][]map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("duckdb output: %v: %s", err, out)
	}
	return res
}

// TestParquetCorpus writes the tables of a per-file run over the fixtures
// in a lab layout and the shared corpus, reads every table back in Go and
// compares it with the JSON reports; then DuckDB reads them: its row
// counts and leak values must equal the JSON reports', and the auditor's
// queries of docs/scale.md must give the known answers.
func TestParquetCorpus(t *testing.T) {
	inputs := []string{labLayout(t)}
	if d := corpusDir(); d != "" {
		inputs = append(inputs, d)
	} else {
		t.Log("shared corpus not found: fixtures only")
	}
	jsonDir, pqDir, idx := perFileBoth(t, []string{"--devices", "fixtures/demo-devices.yaml"}, inputs...)
	rows := compareParquetJSON(t, jsonDir, pqDir, idx)
	if rows["flows"] == 0 || rows["events"] == 0 || rows["leaks"] == 0 {
		t.Errorf("too little compared: %v", rows)
	}
	t.Logf("rows compared in Go over %d captures: %v", len(idx.Captures), rows)

	res := duckdbQuery(t, pqDir, "counts.sql", "leak-values.sql", "imei-in-clear.sql", "new-destinations.sql")

	want := map[string]string{}
	var wantLeaks []string
	for _, c := range idx.Captures {
		if c.Status == batch.StatusUnreadable || c.Status == batch.StatusDuplicate {
			continue
		}
		js := loadJSONReport(t, filepath.Join(jsonDir, "reports", c.SHA256+".json"))
		n := map[string]int{"devices": len(js.Devices), "flows": len(js.Flows), "events": len(js.Events)}
		for _, d := range js.Devices {
			n["destinations"] += len(d.Destinations)
			n["leaks"] += len(d.Leaks)
			n["findings"] += len(d.Findings)
			for _, l := range d.Leaks {
				wantLeaks = append(wantLeaks, fmt.Sprintf("%s|%s|%s|%s|%d|%s", c.SHA256, d.ID, l.Identifier, l.Value, l.Frame, l.Dest.Country))
			}
		}
		for tb, k := range n {
			if k > 0 {
				want[tb+"|"+c.SHA256] = fmt.Sprint(k)
			}
		}
	}
	got := map[string]string{}
	for _, r := range res["counts.sql"] {
		got[fmt.Sprint(r["t"], "|", r["capture_sha256"])] = fmt.Sprint(r["n"])
	}
	if len(got) != len(want) {
		t.Errorf("DuckDB counts %d (table, capture) pairs, JSON %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: DuckDB %s rows, JSON %s", k, got[k], v)
		}
	}
	var gotLeaks []string
	for _, r := range res["leak-values.sql"] {
		gotLeaks = append(gotLeaks, fmt.Sprintf("%v|%v|%v|%v|%v|%v", r["capture_sha256"], r["device"], r["identifier"], r["value"], r["frame"], r["destination_country"]))
	}
	slices.Sort(wantLeaks)
	slices.Sort(gotLeaks)
	if !slices.Equal(gotLeaks, wantLeaks) {
		t.Errorf("leak values: DuckDB %v\nJSON %v", gotLeaks, wantLeaks)
	}

	var imei []string
	for _, r := range res["imei-in-clear.sql"] {
		imei = append(imei, fmt.Sprintf("%v %v %v %v", r["device"], r["firmware"], r["country"], r["destinations"]))
	}
	wantIMEI := []string{"Redmi Note 8 miui-12 SG tracking.intl.miui.com", "cam-5b0017 fw-2.0 CN sdk.sensorsdata.cn"}
	if !slices.Equal(imei, wantIMEI) {
		t.Errorf("IMEI in clear: %q, want %q", imei, wantIMEI)
	}
	var fresh []string
	for _, r := range res["new-destinations.sql"] {
		if strings.HasPrefix(fmt.Sprint(r["device"]), "mac:2c:aa:8e:5b:00:17") {
			fresh = append(fresh, fmt.Sprintf("%v>%v %v %v", r["previous_firmware"], r["firmware"], r["destination"], r["country"]))
		}
	}
	if want := []string{"fw-1.0>fw-2.0 sdk.sensorsdata.cn CN"}; !slices.Equal(fresh, want) {
		t.Errorf("new destinations: %q, want %q", fresh, want)
	}
}

// corpusDir is the shared corpus's pcaps directory, or "".
func corpusDir() string {
	if d := corpus.Dir(); d != "" {
		return filepath.Join(d, "pcaps")
	}
	return ""
}
