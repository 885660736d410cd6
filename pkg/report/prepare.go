package report

import "github.com/phonehome/phonehome/pkg/audit"

// Prepare returns the report exactly as the json writer encodes it (a deep
// copy, lists non-nil, times in UTC), for writers outside this package
// (pkg/report/parquet) that must show the same values. r is not modified.
func Prepare(r *audit.Report) *audit.Report {
	c := clone(r)
	normalize(c)
	return c
}
