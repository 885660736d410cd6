package geo

import (
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

func TestMarkStale(t *testing.T) {
	sets := func() []audit.DataSet {
		return []audit.DataSet{
			{Kind: "geo-country", Version: "2026-06-01"},
			{Kind: "geo-asn", Version: "2026-06-17"},
			{Kind: "geo-anycast", Version: "2026-12-01"},
			{Kind: "oui", Version: "2026-08-26"},
			{Kind: "geo-country", Version: "unknown"},
		}
	}
	tests := []struct {
		name     string
		captured time.Time
		stale    []bool
	}{
		{"2016 capture", time.Date(2016, 3, 14, 9, 0, 0, 0, time.UTC), []bool{true, true, false, false, false}},
		{"recent capture", time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), []bool{false, false, false, false, false}},
		{"just under two years", time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC), []bool{false, false, false, false, false}},
		{"no time", time.Time{}, []bool{false, false, false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sets()
			w, ok := MarkStale(s, tc.captured)
			any := false
			for i, want := range tc.stale {
				if (s[i].Stale != "") != want {
					t.Errorf("set %d stale = %q, want %v", i, s[i].Stale, want)
				}
				any = any || want
			}
			if ok != any {
				t.Fatalf("warning = %v, want %v", ok, any)
			}
			if ok && (w.Code != "geo-data-newer-than-capture" || !strings.Contains(w.Message, "2016-03-14") || !strings.Contains(w.Message, "10.3 years")) {
				t.Errorf("warning = %+v", w)
			}
		})
	}
}
