package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runGeo(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"phonehome", "geoip"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestGeoipLookup(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout
	}{
		{"public", []string{"lookup", "8.219.0.1", "2001:4860:4860::8888"}, 0,
			[]string{"ADDRESS", "REGISTERED", "ANYCAST", "8.219.0.1", "SG Singapore", "AS45102", "Alibaba", "2001:4860:4860::8888", "anycast", "Google Public DNS", "AS15169", "public"}},
		{"registered elsewhere", []string{"lookup", "47.241.18.20"}, 0, []string{"SG Singapore", "US", "AS45102"}},
		{"lan", []string{"lookup", "--lan", "192.168.1.0/24,10.9.9.9", "192.168.1.20", "10.9.9.9", "10.0.0.1", "::1"}, 0,
			[]string{"192.168.1.20", "lan", "10.0.0.1", "private", "::1", "loopback"}},
		{"flags after args", []string{"lookup", "192.168.1.20", "--lan", "192.168.1.0/24"}, 0, []string{"lan"}},
		{"no address", []string{"lookup"}, exitUsage, nil},
		{"bad address", []string{"lookup", "8.8.8"}, exitUsage, nil},
		{"bad lan", []string{"lookup", "--lan", "nope", "8.8.8.8"}, exitUsage, nil},
		{"missing db", []string{"lookup", "--geoip-db", "/nonexistent.mmdb", "8.8.8.8"}, exitUsage, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runGeo(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if code != 0 && errOut == "" {
				t.Error("error without a message")
			}
		})
	}
}

func TestGeoipLookupJSON(t *testing.T) {
	out, errOut, code := runGeo(t, "lookup", "--format", "json", "47.241.18.20", "fe80::1", "1.1.1.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []geoRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].ASN != 45102 || rows[0].Country != "SG" || rows[0].Registered != "US" || rows[0].Anycast != "" ||
		rows[1].Special != "link-local" || rows[2].Country != "anycast" || rows[2].Anycast != "Cloudflare" || rows[2].Registered != "AU" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestGeoipInfo(t *testing.T) {
	out, errOut, code := runGeo(t, "info")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"geo-country", "geo-registered-country", "geo-anycast", "geo-asn", "oui", "@ip-location-db/asn@", "@ip-location-db/dbip-country@", "CC-BY-4.0", "RouteViews", "IP Geolocation by DB-IP", "NRO"} {
		if !strings.Contains(out, w) {
			t.Errorf("info lacks %q:\n%s", w, out)
		}
	}
}
