package audit

import (
	"reflect"
	"testing"
)

func TestSummarize(t *testing.T) {
	aws := Dest{Name: "a.example.com", IP: "3.1.1.1", Country: "DE", CountryName: "Germany", ASN: 16509, ASOrg: "Amazon.com, Inc.", Channel: "HTTP"}
	lan := Dest{IP: "192.168.1.1", Country: "lan", Channel: "DNS"}
	nowhere := Dest{IP: "203.0.113.1", Channel: "TLS1.3"}
	d := Device{
		Destinations: []Destination{
			{Dest: aws, Flows: 2, BytesUp: 600, BytesDown: 10, PlaintextUp: 200, ThirdParty: "Ads"},
			{Dest: lan, Flows: 1, BytesUp: 100, BytesDown: 20, PlaintextUp: 100},
			{Dest: nowhere, Flows: 1, BytesUp: 300, BytesDown: 30},
		},
		Leaks: []Leak{
			{Severity: High, Identifier: "imei", Dest: aws, ThirdParty: "example.com"},
			{Severity: High, Identifier: "mac", Dest: lan},
		},
		Findings: []Finding{
			{Severity: High, Message: "not worse than the first leak", Dest: nowhere},
			{Severity: Critical, Message: "worst", Dest: nowhere},
		},
	}
	Summarize(&d)
	want := DeviceSummary{
		BytesUp: 1000, BytesDown: 60,
		ByCountry: []ByteShare{{Key: "DE", Label: "Germany", BytesUp: 600, BytesDown: 10, Flows: 2},
			{Key: "unknown", BytesUp: 300, BytesDown: 30, Flows: 1}, {Key: "lan", BytesUp: 100, BytesDown: 20, Flows: 1}},
		ByOwner:        []ByteShare{{Key: "AS16509", Label: "Amazon.com, Inc.", BytesUp: 600, BytesDown: 10, Flows: 2}, {Key: "lan", BytesUp: 100, BytesDown: 20, Flows: 1}},
		ThirdParties:   []string{"Ads", "example.com"},
		PlaintextShare: 0.3,
		WorstSeverity:  Critical,
		WorstFinding:   "worst (203.0.113.1)",
	}
	if !reflect.DeepEqual(d.Summary, want) {
		t.Errorf("summary\n got %+v\nwant %+v", d.Summary, want)
	}
	d.Findings = d.Findings[:1]
	Summarize(&d)
	if d.Summary.WorstFinding != "imei leaked to a.example.com (HTTP)" {
		t.Errorf("worst finding %q (first leak of the worst severity wins, leaks before findings)", d.Summary.WorstFinding)
	}
	var empty Device
	Summarize(&empty)
	if empty.Summary.ThirdParties == nil || empty.Summary.ByOwner == nil || empty.Summary.PlaintextShare != 0 {
		t.Errorf("empty summary %+v", empty.Summary)
	}
	r := &Report{Devices: []Device{d, empty}}
	Tally(r)
	if r.Summary.Devices != 2 || r.Summary.Leaks != 2 || r.Summary.Findings != 1 || r.Summary.WorstSeverity != High {
		t.Errorf("tally %+v", r.Summary)
	}
}
