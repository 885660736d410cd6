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
