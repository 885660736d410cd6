package http2

import "testing"

// BenchmarkParser decodes the DoH and prior-knowledge cases; the figure to
// watch is allocations per connection (the machine is shared).
func BenchmarkParser(b *testing.B) {
	var tcs []testCase
	var n int64
	for _, tc := range cases() {
		if tc.name == "doh" || tc.name == "prior-knowledge" {
			tcs = append(tcs, tc)
			for _, o := range tc.ops {
				n += int64(len(o.Data))
			}
		}
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range tcs {
			run(tc, nil)
		}
	}
}
