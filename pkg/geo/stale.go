package geo

import (
	"fmt"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// StaleAfter is how much newer than a capture the geo data may be before
// the report says its answers may not hold for the capture: addresses
// move between owners and countries over the years, and the data describes
// the time it was made.
const StaleAfter = 2 * 365 * 24 * time.Hour

// MarkStale compares the date of every geo data set in sets (Version, as
// YYYY-MM-DD or a longer string starting with it) with captured, the time
// of the capture's first frame. Sets more than StaleAfter newer get Stale
// set; the returned warning (ok false when none) says so once. A zero
// captured time, or a set without a date, is left alone.
func MarkStale(sets []audit.DataSet, captured time.Time) (w audit.Warning, ok bool) {
	if captured.IsZero() {
		return w, false
	}
	var newest time.Time
	n := 0
	for i := range sets {
		s := &sets[i]
		if !strings.HasPrefix(s.Kind, "geo-") || s.Kind == "geo-anycast" || len(s.Version) < 10 {
			continue
		}
		d, err := time.Parse(time.DateOnly, s.Version[:10])
		if err != nil || d.Sub(captured) <= StaleAfter {
			continue
		}
		s.Stale = fmt.Sprintf("%s newer than the capture (%s)", years(d.Sub(captured)), captured.UTC().Format(time.DateOnly))
		if d.After(newest) {
			newest = d
		}
		n++
	}
	if n == 0 {
		return w, false
	}
	return audit.Warning{Code: "geo-data-newer-than-capture",
		Message: fmt.Sprintf("the capture starts %s, the geo data is of %s (%s later): countries and network owners are today's, and may have changed since the capture; give --geoip-db/--asn-db databases of the capture's time for a period answer",
			captured.UTC().Format(time.DateOnly), newest.Format(time.DateOnly), years(newest.Sub(captured)))}, true
}

// years formats a duration in years with one decimal.
func years(d time.Duration) string {
	return fmt.Sprintf("%.1f years", d.Hours()/(24*365.25))
}
