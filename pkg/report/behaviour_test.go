package report

import (
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// behaviourReport is one phone whose browser reports history, searches
// and app use with its IMEI to an analytics server, values masked as the
// engine masks them.
func behaviourReport() *audit.Report {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	dest := audit.Dest{Name: "log.browser.example-analytics.com", Domain: "example-analytics.com", IP: "161.117.97.20", Port: 80, Transport: "tcp", Country: "SG", Channel: "HTTP"}
	other := audit.Dest{Name: "api.example-ads.net", Domain: "example-ads.net", IP: "203.0.113.9", Port: 443, Transport: "tcp", Country: "RU", Channel: "TLS1.3 (decrypted)"}
	leak := func(sev audit.Severity, id, v, loc string, d audit.Dest, frame uint64, private bool) audit.Leak {
		return audit.Leak{Severity: sev, Identifier: id, Value: v, Encoding: "url > base64 > gzip > plain", Location: loc, Dest: d, Frame: frame, Time: t0, Count: 1, Private: private}
	}
	return &audit.Report{SchemaVersion: audit.SchemaVersion, Tool: audit.Tool{Name: "phonehome"}, Devices: []audit.Device{{
		ID: "mac:f8:a4:5f:0d:e5:01", Name: "Browser phone", IPs: []string{"192.168.1.23"},
		Leaks: []audit.Leak{
			leak(audit.Critical, "imei", "8678*******2412", "body:d>$.imei", dest, 7, false),
			leak(audit.Critical, audit.BrowsingHistory, "https://***.************.com/*****/*******-***", "body:d>$.ev[0].url", dest, 7, true),
			leak(audit.Critical, audit.BrowsingHistory, "https://***.******.com/******?*=*****+*******", "body:d>$.ev[1].url", dest, 7, true),
			leak(audit.Critical, audit.BrowsingHistory, "https://***.*****.com/*?**=******", "body:d>$.ev[2].url", dest, 9, true),
			leak(audit.Critical, audit.BrowsingHistory, "https://****.*******.org/", "body:d>$.ev[3].url", dest, 9, true),
			leak(audit.Critical, audit.SearchQuery, "chea* ******* ** bali", "body:d>$.ev[1].url", dest, 7, true),
			leak(audit.High, audit.AppUsage, "app_open: com.a******.****ings", "body:d>$.ev[4].pkg", dest, 7, false),
			leak(audit.Medium, audit.AppUsage, "click: C******t", "body:screen", other, 30, false),
		},
		Findings: []audit.Finding{{Severity: audit.Critical, Kind: audit.KindBehaviourLinked, Dest: dest, Frame: 7, Time: t0, Count: 1,
			Message: "browsing history (4 URLs), search queries (1 term) and app usage (1 record) linked to imei in the same message, sent to log.browser.example-analytics.com, in private (incognito) mode"}},
	}}}
}

func TestBehaviourSection(t *testing.T) {
	r := behaviourReport()
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"behaviour.md", Options{Format: "markdown", Tables: []string{"behaviour"}}},
		{"behaviour.table", Options{Tables: []string{"behaviour"}, Width: 160}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkGolden(t, tc.name, render(t, r, tc.opt)) })
	}
	// A device without behavioural data shows no behaviour section.
	r.Devices[0].Leaks = r.Devices[0].Leaks[:1]
	r.Devices[0].Findings = nil
	if out := string(render(t, r, Options{Format: "markdown"})); strings.Contains(out, "Behaviour") {
		t.Errorf("behaviour section without behavioural data:\n%s", out)
	}
	// HTML carries the section too.
	if out := string(render(t, behaviourReport(), Options{Format: "html"})); !strings.Contains(out, "Behaviour") || !strings.Contains(out, "linked") {
		t.Error("html output has no behaviour section")
	}
}
