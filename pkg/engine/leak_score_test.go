package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

// TestPlantedLeaks scores the whole pipeline on the planted-leak capture:
// every planted identifier must be reported for its flow (recall), and
// every reported leak must have been planted (precision).
func TestPlantedLeaks(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "leaks.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := scenario.Leaks(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	lf, err := lab.Parse("devices.yaml", []byte(scenario.LeakDevicesYAML))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := leak.NewScanner(lf.Devices, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Known: lf.Devices, Scanner: sc, ShowEvidence: true}, []string{pcap})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ id, server string }
	want := map[key]scenario.Planted{}
	for _, p := range truth {
		want[key{p.Identifier, p.Server}] = p
	}
	got := map[key]string{}
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			server := fmt.Sprintf("%s:%d", l.Dest.IP, l.Dest.Port)
			if strings.Contains(l.Dest.IP, ":") {
				server = fmt.Sprintf("[%s]:%d", l.Dest.IP, l.Dest.Port)
			}
			got[key{l.Identifier, server}] = l.Location + " " + l.Encoding
		}
	}
	var missed, false_ []string
	hit := 0
	for k, p := range want {
		if _, ok := got[k]; ok {
			hit++
		} else {
			missed = append(missed, fmt.Sprintf("%s in %s (%s) to %s", p.Identifier, p.Location, p.Encoding, p.Server))
		}
	}
	tp := 0
	for k, where := range got {
		if _, ok := want[k]; ok {
			tp++
		} else {
			false_ = append(false_, fmt.Sprintf("%s to %s at %s", k.id, k.server, where))
		}
	}
	sort.Strings(missed)
	sort.Strings(false_)
	recall := float64(hit) / float64(len(want))
	precision := 1.0
	if len(got) > 0 {
		precision = float64(tp) / float64(len(got))
	}
	if os.Getenv("SHOWLEAKS") != "" {
		for k, v := range got {
			t.Log(k, v)
		}
	}
	t.Logf("planted %d, reported %d: recall %.4f, precision %.4f", len(want), len(got), recall, precision)
	if len(missed) > 0 {
		t.Logf("missed:\n  %s", strings.Join(missed, "\n  "))
	}
	if len(false_) > 0 {
		t.Logf("not planted:\n  %s", strings.Join(false_, "\n  "))
	}
	if recall < 0.98 || precision < 0.98 {
		t.Errorf("recall %.4f / precision %.4f below 0.98", recall, precision)
	}
}
