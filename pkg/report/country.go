package report

import "github.com/phonehome/phonehome/pkg/audit"

// countryLabel is how tables show where a destination is: the located
// country, with the registration country beside it where the two differ,
// e.g. "SG (registered US)" for a cloud region abroad or
// "anycast (registered US)" for an anycast network. Special ranges and
// unknown registrations show the country alone.
func countryLabel(d audit.Dest) string {
	if d.RegisteredCountry == "" || d.RegisteredCountry == d.Country || d.Country == "" {
		return d.Country
	}
	return d.Country + " (registered " + d.RegisteredCountry + ")"
}
