package http2

import "testing"

// TestScanFieldsCarryThePage: every field of a request with a referer
// carries it as Page, as HTTP/1 requests do.
func TestScanFieldsCarryThePage(t *testing.T) {
	for _, page := range []string{"https://www.example.org/a", ""} {
		rq := &Request{Path: "/collect", RawQuery: "dl=x", Headers: []Header{{Name: "cookie", Value: "c=1"}}}
		if page != "" {
			rq.Headers = append(rq.Headers, Header{Name: "referer", Value: page})
		}
		n := 0
		(&Event{Request: rq}).ScanFields(func(f Field) {
			n++
			if f.Page != page {
				t.Errorf("%s: Page %q, want %q", f.Location, f.Page, page)
			}
		})
		if n < 3 {
			t.Errorf("%d fields scanned", n)
		}
	}
}
