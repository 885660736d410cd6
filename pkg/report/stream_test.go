package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// TestStreamGridMatchesTablewriter: the streamed flow table is byte for
// byte what tablewriter draws for the same grid, at every width (columns
// dropped, text truncated) and with names that are wide, combining,
// hostile or empty.
func TestStreamGridMatchesTablewriter(t *testing.T) {
	names := []string{"", "a.example.com", "数据.例子.中国", "e\u0301e\u0301.example", "😀😀.example.org",
		hostileESC + hostileBidi, strings.Repeat("very-long-label.", 12) + "example.com", "tab\there", "ｆｕｌｌｗｉｄｔｈ"}
	r := flowReport(40)
	for i := range r.Flows {
		f := &r.Flows[i]
		f.Name = names[i%len(names)]
		f.Device = []string{"", "mac:02:00:00:00:00:01", "ip:fe80::1"}[i%3]
		f.BytesDown = uint64(i) * 987654321
		if i%7 == 0 {
			f.Protocol, f.NameSource, f.Channel, f.State = "", "", "", ""
		}
	}
	empty := flowReport(0)
	for _, rep := range []*audit.Report{r, empty} {
		for _, width := range []int{0, 40, 80, 100, 120, 160, 200, 400} {
			for _, color := range []bool{false, true} {
				opt := Options{Width: width, Color: color}
				var want, got bytes.Buffer
				tw := &termWriter{w: &want, opt: opt}
				tw.tablewriterGrid(flowGrid(rep))
				sw := &termWriter{w: &got, opt: opt}
				sw.streamGrid(flowCols(), len(rep.Flows), func(i int) []cell { return flowRow(rep.Flows[i]) })
				if tw.err != nil || sw.err != nil {
					t.Fatal(tw.err, sw.err)
				}
				if got.String() != want.String() {
					t.Errorf("width %d, %d flows, color %v:\n%s", width, len(rep.Flows), color, diffLines(want.String(), got.String()))
				}
			}
		}
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, a, b)
		}
	}
	return "equal"
}
