package engine

import (
	"fmt"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

func TestDeviceRowsMergeAndCap(t *testing.T) {
	d := &devAgg{}
	dest := func(port uint16, name string) audit.Dest {
		return audit.Dest{IP: "203.0.113.7", Port: port, Transport: "tcp", Name: name}
	}
	// Repeats merge into one row that keeps the first occurrence.
	d.addFinding(audit.Finding{Severity: audit.High, Kind: "mqtt-password-cleartext", Message: "m", Dest: dest(1883, "late"), Frame: 90})
	d.addFinding(audit.Finding{Severity: audit.High, Kind: "mqtt-password-cleartext", Message: "m", Dest: dest(1883, "early"), Frame: 10, Count: 2})
	d.addLeak(audit.Leak{Identifier: "imei", Value: "867891045582412", Location: "url.query:imei", Dest: dest(80, "late"), Frame: 50, Count: 1})
	d.addLeak(audit.Leak{Identifier: "imei", Value: "867891045582412", Location: "url.query:imei", Dest: dest(80, "early"), Frame: 5, Count: 4})
	if len(d.findings) != 1 || d.findings[0].Count != 3 || d.findings[0].Frame != 10 || d.findings[0].Dest.Name != "early" {
		t.Errorf("findings not merged into the first occurrence: %+v", d.findings)
	}
	if len(d.leaks) != 1 || d.leaks[0].Count != 5 || d.leaks[0].Frame != 5 || d.leaks[0].Dest.Name != "early" {
		t.Errorf("leaks not merged into the first occurrence: %+v", d.leaks)
	}
	// Distinct rows stop at the cap, and what is cut is counted.
	for i := 0; i < maxDeviceRows+50; i++ {
		d.addFinding(audit.Finding{Severity: audit.Low, Kind: "tls-no-sni", Message: "m", Dest: dest(uint16(i), ""), Frame: uint64(i)})
		d.addLeak(audit.Leak{Identifier: "imei", Value: fmt.Sprint(i), Location: "tcp.payload", Dest: dest(443, ""), Frame: uint64(i), Count: 2})
	}
	if len(d.findings) != maxDeviceRows || d.findingsDropped != 51 {
		t.Errorf("%d finding rows, %d dropped; want %d and 51", len(d.findings), d.findingsDropped, maxDeviceRows)
	}
	if len(d.leaks) != maxDeviceRows || d.leaksDropped != 2*51 {
		t.Errorf("%d leak rows, %d dropped; want %d and 102", len(d.leaks), d.leaksDropped, maxDeviceRows)
	}
	// A repeat of a kept row still counts when the device is full.
	d.addLeak(audit.Leak{Identifier: "imei", Value: "867891045582412", Location: "url.query:imei", Dest: dest(80, ""), Frame: 99, Count: 1})
	if d.leaks[0].Count != 6 {
		t.Errorf("repeat of a kept row after the cap: count %d, want 6", d.leaks[0].Count)
	}
}

func TestFlowFindingsMergeAndCap(t *testing.T) {
	w := newWorker(Config{}, phttp.DefaultLimits(), nil)
	s := &session{w: w}
	for i := 0; i < 3; i++ {
		s.addFinding(audit.Finding{Severity: audit.High, Kind: "mqtt-password-cleartext", Message: "m", Frame: uint64(i)})
	}
	for i := 0; i < maxFlowLeaks+5; i++ {
		s.addFinding(audit.Finding{Severity: audit.Low, Kind: "k", Message: fmt.Sprint(i)})
	}
	if s.findings[0].Count != 3 || len(s.findings) != maxFlowLeaks || w.counter["findings_dropped_flow_cap"] != 6 {
		t.Errorf("first row count %d, %d rows, %d dropped; want 3, %d, 6", s.findings[0].Count, len(s.findings), w.counter["findings_dropped_flow_cap"], maxFlowLeaks)
	}
}
