package report

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

func TestCountryLabel(t *testing.T) {
	tests := []struct {
		d    audit.Dest
		want string
	}{
		{audit.Dest{Country: "SG", RegisteredCountry: "US"}, "SG (registered US)"},
		{audit.Dest{Country: "DE", RegisteredCountry: "DE"}, "DE"},
		{audit.Dest{Country: "DE"}, "DE"},
		{audit.Dest{Country: "anycast", RegisteredCountry: "US", Anycast: "Cloudflare"}, "anycast (registered US)"},
		{audit.Dest{Country: "private"}, "private"},
		{audit.Dest{RegisteredCountry: "US"}, ""},
	}
	for _, tc := range tests {
		if got := countryLabel(tc.d); got != tc.want {
			t.Errorf("countryLabel(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
