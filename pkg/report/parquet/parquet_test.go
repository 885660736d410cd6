package parquet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/phonehome/phonehome/pkg/audit"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 123456789, time.UTC)

// fakeRecords streams n generated flow records and n events, checking the
// live heap every so often (maxHeap).
type fakeRecords struct {
	n       int
	maxHeap uint64
}

func (f *fakeRecords) Each(keep func(string) bool, flow, event func([]byte) error) error {
	heap := func(i int) {
		if i%25000 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			f.maxHeap = max(f.maxHeap, ms.HeapAlloc)
		}
	}
	for i := range f.n {
		b, _ := json.Marshal(audit.Flow{ID: uint64(i + 1), Transport: "tcp", Client: fmt.Sprintf("192.168.1.%d:%d", i%250, 40000+i%20000),
			Server: "203.0.113.7:443", Device: "mac:f8:a4:5f:0d:e5:01", PacketsUp: uint64(i), BytesUp: uint64(10 * i),
			FirstFrame: uint64(i + 1), First: t0.Add(time.Duration(i) * time.Millisecond), Last: t0.Add(time.Duration(i+5) * time.Millisecond),
			Protocol: "tls", Name: fmt.Sprintf("host-%d.example.com", i), Channel: "TLS1.3", State: "closed"})
		if err := flow(b); err != nil {
			return err
		}
		heap(i)
	}
	for i := range f.n {
		e := audit.Event{Type: "dns", Frame: uint64(i + 1), Time: t0, FlowID: uint64(i + 1),
			Fields: map[string]any{"qname": fmt.Sprintf("q%d.example.com", i), "answers": []string{"203.0.113.7"}}}
		b, _ := json.Marshal(e)
		if err := event(b); err != nil {
			return err
		}
		heap(i)
	}
	return nil
}

func (f *fakeRecords) Close() error { return nil }

func sampleReport() *audit.Report {
	dest := audit.Dest{Name: "tracking.example.cn", Domain: "example.cn", IP: "203.0.113.7", Port: 80, Transport: "tcp",
		Country: "CN", ASN: 4808, ASOrg: "China Unicom", Category: "telemetry", Channel: "HTTP"}
	return &audit.Report{
		Tool: audit.Tool{Name: "phonehome", Version: "test"},
		Devices: []audit.Device{{
			ID: "mac:f8:a4:5f:0d:e5:01", Name: "phone", NameSource: "devices-file", MAC: "f8:a4:5f:0d:e5:01",
			IPs: []string{"192.168.1.20", "fe80::1"}, DHCP: &audit.DHCPInfo{Hostname: "redmi"},
			FirstSeen: t0, LastSeen: t0.Add(time.Minute),
			Destinations: []audit.Destination{{Dest: dest, Protocols: []string{"http"}, Flows: 2, BytesUp: 700}},
			Leaks: []audit.Leak{{Severity: audit.High, Identifier: "imei", Known: true, Value: "8678*******2412",
				Encoding: "plain", Location: "url.query:imei", Dest: dest, Frame: 7, Time: t0, Count: 1}},
			Findings: []audit.Finding{{Severity: audit.Medium, Kind: "plaintext-http", Message: "HTTP in clear", Dest: dest, Frame: 7}},
			Summary: audit.DeviceSummary{BytesUp: 700, ByCountry: []audit.ByteShare{{Key: "CN", Label: "China", BytesUp: 700, Flows: 2}},
				WorstSeverity: audit.High},
		}},
		Flows:  []audit.Flow{{ID: 1, Transport: "udp", Client: "192.168.1.20:5353", Server: "224.0.0.251:5353"}},
		Events: []audit.Event{{Type: "dns", Frame: 1, Time: t0, FlowID: 1, Fields: map[string]string{"qname": "a.local"}}},
	}
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	c := Capture{Path: "lab/phone/fw-1.0/run.pcap", SHA256: "ab12"}
	files, err := Write(dir, "ab12", sampleReport(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Tables) {
		t.Fatalf("files %v", files)
	}
	devs, err := pq.ReadFile[DeviceRow](filepath.Join(dir, "devices/ab12.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != "mac:f8:a4:5f:0d:e5:01" || len(devs[0].IPs) != 2 || devs[0].DHCPHostname != "redmi" ||
		devs[0].CapturePath != c.Path || devs[0].SummaryWorst != "high" || len(devs[0].SummaryByCountry) != 1 ||
		devs[0].SummaryByCountry[0].Key != "CN" || !devs[0].FirstSeen.Equal(t0) || devs[0].Leaks != 1 {
		t.Errorf("device row %+v", devs)
	}
	leaks, err := pq.ReadFile[LeakRow](filepath.Join(dir, "leaks/ab12.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(leaks) != 1 || leaks[0].Value != "8678*******2412" || leaks[0].DestCountry != "CN" || !leaks[0].DestPlaintext ||
		leaks[0].Severity != "high" || leaks[0].Time.Nanosecond() != 123456789 {
		t.Errorf("leak row %+v", leaks)
	}
	finds, _ := pq.ReadFile[FindingRow](filepath.Join(dir, "findings/ab12.parquet"))
	if len(finds) != 1 || finds[0].Kind != "plaintext-http" || finds[0].Time != nil {
		t.Errorf("finding row %+v (a zero time must be null)", finds)
	}
	events, _ := pq.ReadFile[EventRow](filepath.Join(dir, "events/ab12.parquet"))
	if len(events) != 1 || events[0].Record != `{"type":"dns","frame":1,"ts":"2026-03-14T09:26:53.123456789Z","flow_id":1,"qname":"a.local"}` {
		t.Errorf("event rows %+v", events)
	}
	// Nothing but the six files (no temporary file left).
	var all []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			all = append(all, p)
		}
		return nil
	})
	if len(all) != len(Tables) {
		t.Errorf("files in the output: %v", all)
	}
}

// TestStreamedRecordsBounded writes 100k spooled flows and 100k events
// (about 50 MB of JSON) and checks that they were not held in memory.
func TestStreamedRecordsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 100_000
	rep := sampleReport()
	rep.Flows, rep.Events = nil, nil
	recs := &fakeRecords{n: n}
	rep.Records = recs
	dir := t.TempDir()
	if _, err := Write(dir, "big", rep, Capture{Path: "big.pcap", SHA256: "big"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "flows/big.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := pq.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != n || len(pf.RowGroups()) < n/rowGroupRows {
		t.Errorf("%d rows in %d row groups", pf.NumRows(), len(pf.RowGroups()))
	}
	const limit = 24 << 20 // measured: ~11 MiB; 58 MiB with the library's default page buffers
	if recs.maxHeap > limit {
		t.Errorf("live heap reached %d MiB while streaming (limit %d MiB)", recs.maxHeap>>20, limit>>20)
	}
	t.Logf("max live heap while streaming %d flows and %d events: %.1f MiB", n, n, float64(recs.maxHeap)/(1<<20))
}

func TestWriteNil(t *testing.T) {
	if _, err := Write(t.TempDir(), "x", nil, Capture{}); err == nil {
		t.Error("nil report written")
	}
}
