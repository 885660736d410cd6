package report

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// manyFlows is the fixture with n flow records (hostile strings among
// them), more than one chunk of rows.
func manyFlows(n int) *audit.Report {
	r := hostileFixture()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range n {
		r.Flows = append(r.Flows, audit.Flow{ID: uint64(i + 1), Transport: "tcp", Client: fmt.Sprintf("10.0.%d.%d:%d", i/250%250, i%250, 40000+i%1000),
			Server: "198.18.0.1:443", Device: []string{"mac:02:00:00:00:00:01", "<script>x</script>", "ip:10.0.0.9"}[i%3],
			Protocol: "tls", Name: fmt.Sprintf("h%d.example\u202e", i%97), NameSource: "sni", Channel: "TLS1.3", PacketsUp: uint64(i), BytesDown: uint64(i * 31),
			First: t0.Add(time.Duration(i) * time.Millisecond), State: "closed"})
	}
	return r
}

// The flow table is the same bytes whether its rows are made on one
// goroutine or in chunks on several.
func TestHTMLFlowsSameWhateverGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, n := range []int{0, 1, flowChunk, 3*flowChunk + 7} {
		r := manyFlows(n)
		runtime.GOMAXPROCS(1)
		want := render(t, r, Options{Format: "html"})
		for _, p := range []int{2, 3, 8} {
			runtime.GOMAXPROCS(p)
			if got := render(t, r, Options{Format: "html"}); !bytes.Equal(got, want) {
				t.Errorf("%d flows, GOMAXPROCS %d: the page differs from GOMAXPROCS 1's", n, p)
			}
		}
	}
}

// A write error in the middle of the flow table stops it and is returned.
func TestHTMLFlowsWriteError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	r := manyFlows(20 * flowChunk)
	full := len(render(t, r, Options{Format: "html"}))
	for _, at := range []int{full / 2, full - 100_000} {
		if err := Write(&failAfter{left: at}, r, Options{Format: "html"}); err == nil {
			t.Errorf("failing after %d of %d bytes: no error", at, full)
		}
	}
}

// manyDests is the fixture with a device of n more destinations, in
// groups of several for every grouping.
func manyDests(n int) *audit.Report {
	r := hostileFixture()
	d := &r.Devices[0]
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range n {
		d.Destinations = append(d.Destinations, audit.Destination{Dest: audit.Dest{
			Name: []string{"", fmt.Sprintf("h%d.example", i%300), "<b>x</b>\u202e"}[i%3], IP: fmt.Sprintf("198.18.%d.%d", i/250%250, i%250),
			Port: uint16(443 + i%2), Transport: "tcp", Domain: fmt.Sprintf("d%d.example", i%50), Country: []string{"US", "DE", ""}[i%3],
			Vendor: []string{"", "Google", "Xiaomi"}[i%5%3], Channel: []string{"TLS1.3", "HTTP"}[i%2], ASN: uint32(i % 7)},
			Flows: 1 + i%3, BytesUp: uint64(i % 11 * 100), BytesDown: uint64(i % 13), FirstSeen: t0.Add(time.Duration(i%17) * time.Second)})
	}
	return r
}

// A device's destinations table made in pieces (destTable) is the table
// destGrid makes whole, for every grouping.
func TestHTMLDestTableInPieces(t *testing.T) {
	defer func(n int) { bigDests = n }(bigDests)
	for _, n := range []int{0, 5, destChunk - 1, 3*destChunk + 11} {
		r := manyDests(n)
		for _, by := range []string{"", "name", "domain", "vendor", "country", "endpoint"} {
			opt := Options{Format: "html", GroupBy: by}
			bigDests = 1 << 30
			want := render(t, r, opt)
			bigDests = 1
			if got := render(t, r, opt); !bytes.Equal(got, want) {
				t.Errorf("%d destinations, group by %q: the page differs from the one with whole tables", n, by)
			}
		}
	}
}
