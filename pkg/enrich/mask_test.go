package enrich

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
)

type evFields struct {
	URI     string            `json:"uri"`
	Headers map[string]string `json:"headers"`
	Port    int               `json:"port"`
}

func TestMaskReport(t *testing.T) {
	const imei = "356938035643809"
	m := NewMasker([]Spelling{
		{Identifier: "imei", Value: imei, Form: imei},
		{Identifier: "imei", Value: imei, Form: "MzU2OTM4MDM1NjQzODA5"},
	}, []leak.KnownForm{{Identifier: "serial", Value: "SN-00112233", Form: "SN-00112233"}})
	if m == nil {
		t.Fatal("no masker")
	}
	r := &audit.Report{
		Devices: []audit.Device{{Name: "cam SN-00112233", Hostnames: []string{imei},
			Destinations: []audit.Destination{{Dest: audit.Dest{Name: imei + ".example.com"}}},
			Leaks:        []audit.Leak{{Location: "url.query:" + imei}},
			Findings:     []audit.Finding{{Message: "sent " + imei}},
			Summary:      audit.DeviceSummary{WorstFinding: "imei " + imei}}},
		Flows:  []audit.Flow{{Name: "x" + imei}}, // inside a longer word: not a token
		Events: []audit.Event{{Fields: &evFields{URI: "/a?d=MzU2OTM4MDM1NjQzODA5", Headers: map[string]string{"x": imei}, Port: 80}}},
	}
	MaskReport(r, m)
	d := r.Devices[0]
	masked := "3569*******3809"
	for got, want := range map[string]string{
		d.Name: "cam SN-******33", d.Hostnames[0]: masked, d.Destinations[0].Name: masked + ".example.com",
		d.Leaks[0].Location: "url.query:" + masked, d.Findings[0].Message: "sent " + masked,
		d.Summary.WorstFinding: "imei " + masked, r.Flows[0].Name: "x" + imei,
	} {
		if got != want {
			t.Errorf("masked %q, want %q", got, want)
		}
	}
	ev := r.Events[0].Fields.(*evFields)
	if ev.URI == "/a?d=MzU2OTM4MDM1NjQzODA5" || ev.Headers["x"] != masked || ev.Port != 80 {
		t.Errorf("event fields %+v", ev)
	}
	if NewMasker(nil, nil) != nil {
		t.Error("empty masker is not nil")
	}
	MaskReport(r, nil) // no-op
}
