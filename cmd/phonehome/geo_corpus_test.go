package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
)

// TestGeoOnCorpus checks located country, registration, anycast and the
// staleness warning on real captures: a PCAPdroid capture (2022) that asks
// 1.1.1.1 and 8.8.8.8, an IoT hub (2021) talking to Alibaba Cloud
// Frankfurt on a block registered in Singapore, and a 2016 IoT Sentinel
// capture judged with 2026 data.
func TestGeoOnCorpus(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	type want struct{ ip, country, registered, anycast string }
	tests := []struct {
		file  string
		dests []want
	}{
		{"pcapdroid/metadata.pcap", []want{
			{"1.1.1.1", "anycast", "AU", "Cloudflare"},
			{"8.8.8.8", "anycast", "US", "Google Public DNS"},
		}},
		{"tj-oconnor-iot/sifely-hub-01.pcap", []want{
			{"8.209.66.141", "DE", "SG", ""}, // plug.sciener.cn, AS45102
			{"208.67.222.222", "anycast", "US", "OpenDNS"},
		}},
		{"iot-sentinel/HueBridge/Setup-A-1-STA.pcap", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"phonehome", "analyze", "--format", "json", filepath.Join(dir, "pcaps", tc.file)}, strings.NewReader(""), &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var r audit.Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			got := map[string]audit.Dest{}
			for _, d := range r.Devices {
				for _, x := range d.Destinations {
					got[x.IP] = x.Dest
				}
			}
			for _, w := range tc.dests {
				d, ok := got[w.ip]
				if !ok {
					t.Errorf("%s: not a destination", w.ip)
					continue
				}
				if d.Country != w.country || d.RegisteredCountry != w.registered || d.Anycast != w.anycast {
					t.Errorf("%s: country %q registered %q anycast %q, want %q %q %q", w.ip, d.Country, d.RegisteredCountry, d.Anycast, w.country, w.registered, w.anycast)
				}
			}
			// Every capture here is years older than the embedded data.
			warned := false
			for _, w := range r.Warnings {
				warned = warned || w.Code == "geo-data-newer-than-capture"
			}
			stale := false
			for _, ds := range r.Data {
				stale = stale || ds.Kind == "geo-country" && ds.Stale != ""
			}
			if !warned || !stale {
				t.Errorf("staleness not reported (warning %v, data_sources %v)", warned, stale)
			}
		})
	}
}
