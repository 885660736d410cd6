package report

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// The charts' bytes per group are groupDests' rows' bytes: groupBytes
// only leaves out the other columns' values.
func TestGroupBytesMatchesGroupDests(t *testing.T) {
	var many []audit.Destination
	for i := range 300 {
		many = append(many, audit.Destination{Dest: audit.Dest{Name: fmt.Sprintf("h%d.example", i%40), IP: fmt.Sprintf("198.18.%d.%d", i/250, i%250),
			Country: []string{"US", "", "DE"}[i%3], Vendor: []string{"", "", "Google"}[i%3]}, BytesUp: uint64(i % 7), BytesDown: uint64(i % 5), Flows: 1})
	}
	devs := [][]audit.Destination{nil, many}
	for _, r := range []*audit.Report{fixture(), hostileFixture()} {
		for _, d := range r.Devices {
			devs = append(devs, d.Destinations)
		}
	}
	for i, ds := range devs {
		for _, by := range []string{"country", "vendor"} {
			var want []chartItem
			for _, r := range groupDests(ds, by) {
				want = append(want, chartItem{r.key, r.up, r.down})
			}
			got := buildChart("c", "t", groupBytes(ds, by))
			if w := buildChart("c", "t", want); !reflect.DeepEqual(got, w) {
				t.Errorf("device %d by %s: chart %+v, want %+v", i, by, got, w)
			}
		}
	}
}
