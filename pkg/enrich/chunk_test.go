package enrich

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/signature"
)

// A device with more destinations than chunkRows is enriched over
// several goroutines; the device is the same whatever their number.
func TestDeviceSameWhateverGoroutines(t *testing.T) {
	g, err := geo.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"", "www.google.com", "data.mistat.intl.xiaomi.com", "example.org", "api.dch.dlink.com"}
	in := func() Device {
		var ds []audit.Destination
		for i := range 3*chunkRows + 17 {
			ds = append(ds, audit.Destination{Dest: audit.Dest{Name: names[i%len(names)],
				IP: fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i/256%256, i%256, 1+i%250), Port: uint16(443 + i%3), Transport: "tcp", Channel: "TLS1.3"},
				Flows: 1 + i%4, BytesUp: uint64(i * 7 % 1000), Protocols: []string{"tls", "http"}})
		}
		return Device{Device: audit.Device{ID: "other-devices", Vendor: "Xiaomi"}, Dests: ds}
	}
	cfg := Config{Geo: g, Signatures: sigs}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	want := New(cfg).Device(in())
	for _, n := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(n)
		if got := New(cfg).Device(in()); !reflect.DeepEqual(got, want) {
			t.Errorf("GOMAXPROCS %d: the device differs from GOMAXPROCS 1's", n)
		}
	}
}

// eachChunk covers every index once, whatever n.
func TestEachChunk(t *testing.T) {
	for _, n := range []int{0, 1, chunkRows - 1, chunkRows, 3*chunkRows + 5} {
		seen := make([]int32, n)
		eachChunk(n, func(from, to int) {
			for i := from; i < to; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n %d: index %d covered %d times", n, i, c)
			}
		}
	}
}
