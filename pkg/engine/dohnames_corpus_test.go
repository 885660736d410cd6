package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/internal/corpus"
)

// TestCorpusDoHNames: answers a device received over DNS over HTTPS name
// its later flows and their destination rows, whatever the number of
// goroutines (dohnames.go). The corpus has DoH
// captures (suricata-verify/dns-over-http2.pcap: h2c to dns.google, tshark
// -Y dns: www.gstatic.com A 142.250.185.227 in frames 9 and 11,
// nav-edge.smartscreen.microsoft.com A 20.86.249.62 in frame 17) but none
// in which the device then connects to an answered address, so a crafted
// capture holding such connections (opaque bytes: nothing else names
// them) is read after it, as one recording. Read before it, the same
// connections are not named (the answers came later).
func TestCorpusDoHNames(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	doh := filepath.Join(dir, "pcaps", "suricata-verify", "dns-over-http2.pcap")
	if _, err := os.Stat(doh); err != nil {
		t.Skip("not in this corpus: ", err)
	}
	later := filepath.Join(t.TempDir(), "later.pcap")
	f, err := os.Create(later)
	if err != nil {
		t.Fatal(err)
	}
	c, err := craft.New(f, time.Unix(1672176400, 0)) // after the capture's last frame
	if err != nil {
		t.Fatal(err)
	}
	dev := craft.NewHost("00:00:00:00:00:00", "10.200.30.140")
	for i, srv := range []string{"142.250.185.227", "20.86.249.62", "192.0.2.77"} {
		k := c.Dial(dev, uint16(51000+i), craft.NewHost("00:00:00:00:00:00", srv), 443)
		k.Send(true, craft.Opaque(300, uint32(i+1)))
		k.Send(false, craft.Opaque(200, uint32(i+7)))
		k.Close()
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	run := func(workers int, inputs ...string) (map[string]flowView, map[string]string, []byte) {
		rep, err := Run(context.Background(), Config{KeepFlows: true, Workers: workers}, inputs)
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		dests := map[string]string{}
		for _, d := range rep.Devices {
			for _, r := range d.Destinations {
				dests[fmt.Sprintf("%s:%d", r.IP, r.Port)] = r.Name + " (" + r.NameSource + ")"
			}
		}
		return flowsOf(rep), dests, b
	}
	want := map[string]string{
		"142.250.185.227:443": "www.gstatic.com (dns)",
		"20.86.249.62:443":    "nav-edge.smartscreen.microsoft.com (dns)",
		"192.0.2.77:443":      " ()", // not answered
	}
	var first []byte
	for _, workers := range []int{1, 2, 4, 8} {
		fl, dests, js := run(workers, doh, later)
		for srv, w := range want {
			if g := fl[srv].name + " (" + fl[srv].source + ")"; g != w {
				t.Errorf("%d workers: flow to %s named %q, want %q", workers, srv, g, w)
			}
			if g := dests[srv]; g != w {
				t.Errorf("%d workers: destination %s named %q, want %q", workers, srv, g, w)
			}
		}
		if first == nil {
			first = js
		} else if string(js) != string(first) {
			t.Errorf("%d workers: report differs from 1 worker's", workers)
		}
	}
	fl, _, _ := run(4, later, doh)
	for srv := range want {
		if fl[srv].name != "" {
			t.Errorf("connections before the answers: %s named %q (%s)", srv, fl[srv].name, fl[srv].source)
		}
	}
}
