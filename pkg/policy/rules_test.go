package policy

import (
	"slices"
	"testing"
)

// TestDescribe: each rule kind's type says what it checks (the words the
// single Describe switch wrote before the kinds became types).
func TestDescribe(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"allow_countries: [DE, US]", "destinations only in DE, US"},
		{"allow_countries: [DE]\n    country: registered", "destinations only on blocks registered in DE"},
		{"deny_countries: CN", "no destinations in CN"},
		{"deny_countries: [CN]\n    country: registered", "no destinations on blocks registered in CN"},
		{"allow_asns: [16509, AS15169]", "destinations only in networks AS16509, AS15169"},
		{"deny_asns: [4808]", "no destinations in networks AS4808"},
		{"allow_destinations: ['*.a.example']", "only the allowed destinations"},
		{"deny_destinations: [10.0.0.0/8]", "none of the denied destinations"},
		{"deny_categories: [Analytics, advertising]", "no analytics, advertising destinations"},
		{"deny_identifiers: [IMEI]", "identifiers never leave the device: imei"},
		{"deny_identifiers: [any]\n    known: true", "identifiers never leave the device: any (values from --devices)"},
		{"deny_plaintext_identifiers: [imei, email]", "identifiers never leave in clear: imei, email"},
		{"deny_behaviour: [browsing_history, Search_Query]", "no behavioural data leaves the device: browsing_history, search_query"},
		{"min_tls_version: '1.2'", "TLS 1.2 or newer"},
		{"deny_channels: [HTTP, cleartext]", "no traffic over HTTP, cleartext"},
		{"max_bytes_per_destination: 4KiB", "at most 4KiB sent per destination"},
		{"max_bytes_per_destination: 1000\n    direction: both", "at most 1000B sent and received per destination"},
		{"max_bytes_per_country: {'*': 1MiB, CN: 0}\n    direction: down", "byte budget received per country: CN 0B, * 1MiB"},
		{"fail_on: high", "no leak or finding of severity high or higher"},
	}
	var kinds []Kind
	for _, tt := range tests {
		p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: a\n    "+tt.rule+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tt.rule, err)
			continue
		}
		r := p.Rules[0]
		if got := r.Describe(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.rule, got, tt.want)
		}
		if r.Kind != r.Check.Kind() {
			t.Errorf("%s: rule kind %s, check kind %s", tt.rule, r.Kind, r.Check.Kind())
		}
		kinds = append(kinds, r.Kind)
	}
	for _, k := range Kinds() {
		if !slices.Contains(kinds, k) {
			t.Errorf("kind %s not described in the test", k)
		}
	}
}
