package http

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// TestScannedFieldsCarryThePage: every field of a request with a Referer
// carries it as Page (the leak scanner's behavioural detectors skip what
// a page's scripts send); a request without one carries none.
func TestScannedFieldsCarryThePage(t *testing.T) {
	for _, tc := range []struct{ req, page string }{
		{"GET /collect?dl=x HTTP/1.1\r\nHost: t.example.com\r\nReferer: https://www.example.org/a\r\nCookie: c=1\r\n\r\n", "https://www.example.org/a"},
		{"POST /v1 HTTP/1.1\r\nHost: t.example.com\r\nContent-Length: 3\r\n\r\nu=1", ""},
	} {
		var s prototest.Sink
		d := NewDecoder(Limits{}, &s)
		d.Data(proto.ToServer, []byte(tc.req), proto.Meta{Frame: 1})
		d.End(proto.Meta{Frame: 2})
		if len(s.Fields) == 0 {
			t.Fatalf("%q: nothing scanned", tc.req)
		}
		for _, f := range s.Fields {
			if f.Page != tc.page {
				t.Errorf("%s: Page %q, want %q", f.Location, f.Page, tc.page)
			}
		}
	}
}
