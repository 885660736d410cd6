package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/audit"
)

// TestBrowserCase runs the whole pipeline on the browser-case capture:
// every planted behavioural item must be reported with its location and
// encoding chain (recall), nothing else may be reported as behaviour
// (precision: the page load with a Referer, the page's analytics beacon,
// the search sent to the search engine and the news app's own article are
// not), and each reporting flow gets its linkability finding. Frames are
// those tshark numbers the three reporting requests (6, 18, 30).
func TestBrowserCase(t *testing.T) {
	var buf bytes.Buffer
	truth, err := scenario.BrowserHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "browser.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig(t)
	cfg.ShowEvidence, cfg.HomeCountry = true, "DE"
	rep, err := Run(context.Background(), cfg, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	row := func(class, value, server, loc, enc string, private bool) string {
		return fmt.Sprintf("%s %q to %s at %s [%s] private=%v", class, value, server, loc, enc, private)
	}
	var want, got, findings []string
	for _, p := range truth {
		want = append(want, row(p.Class, p.Value, p.Server, p.Location, p.Encoding, p.Private))
	}
	frames := map[string]uint64{}
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			if !audit.IsBehaviour(l.Identifier) {
				continue
			}
			server := fmt.Sprintf("%s:%d", l.Dest.IP, l.Dest.Port)
			got = append(got, row(l.Identifier, l.Value, server, l.Location, l.Encoding, l.Private))
			frames[server] = l.Frame
		}
		for _, f := range d.Findings {
			if strings.HasPrefix(f.Kind, "behaviour-") {
				findings = append(findings, fmt.Sprintf("%s %s frame %d: %s", f.Severity, f.Kind, f.Frame, f.Message))
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missed: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("not planted: %s", g)
		}
	}
	for server, frame := range map[string]uint64{"161.117.97.20:80": 6, "5.255.255.5:80": 18, "47.241.18.20:80": 30} {
		if frames[server] != frame {
			t.Errorf("%s: frame %d, tshark numbers the request %d", server, frames[server], frame)
		}
	}
	slices.Sort(findings)
	wantFindings := []string{
		"critical behaviour-linked frame 18: browsing history (2 URLs) and search queries (1 term) linked to imei, android_id in the same message, sent to rlog.browserstat-example.com in RU, in private (incognito) mode",
		"high behaviour-linked frame 30: app usage (4 records) linked to imei in the same message, sent to events.launcher-example.com in SG",
		"high behaviour-linked frame 6: browsing history (4 URLs) and search queries (4 terms) linked to imei, android_id in the same message, sent to hlog.browserstat-example.com in SG",
	}
	if !slices.Equal(findings, wantFindings) {
		t.Errorf("findings\n  %s\nwant\n  %s", strings.Join(findings, "\n  "), strings.Join(wantFindings, "\n  "))
	}
}
