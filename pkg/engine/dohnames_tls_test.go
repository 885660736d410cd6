package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/report"
)

// dohTLS is curl resolving tracker.phonehome.test over DNS over HTTPS
// (HTTP/2 inside TLS 1.3, two connections: A, then AAAA) and then fetching
// a gopher URL from the answered address, which carries no server name;
// real stacks on the loopback, with curl's key log
// (testdata/doh-tls/make.sh).
const dohTLS = "testdata/doh-tls/doh-tls"

// TestDoHNamesDecryptedTLS: with the key log, each DoH query and answer
// inside the decrypted TLS is a dns event with variant doh at the frame
// tshark dissects it (doh-tls.dns.json: 14, 26, 31, 34; the answer A
// 127.0.0.3), and the answer names the later gopher connection to
// 127.0.0.3:18522, its destination row and the IMEI leak in its selector
// (name_source dns), the same for 1 and 4 workers. Without keys nothing
// inside the TLS is seen and the connection stays unnamed.
func TestDoHNamesDecryptedTLS(t *testing.T) {
	var truth []struct {
		Source struct {
			Layers map[string][]string `json:"layers"`
		} `json:"_source"`
	}
	b, err := os.ReadFile(dohTLS + ".dns.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range truth {
		l := p.Source.Layers
		typ := map[string]string{"1": "A", "28": "AAAA"}[l["dns.qry.type"][0]]
		want = append(want, fmt.Sprintf("%s response=%v %s %s %v", l["frame.number"][0], l["dns.flags.response"][0] == "1", l["dns.qry.name"][0], typ, l["dns.a"]))
	}
	const gopher = "127.0.0.3:18522"
	for _, tc := range []struct {
		name   string
		keys   bool
		dns    []string
		named  string
		source string
	}{
		{"keylog", true, want, "tracker.phonehome.test", "dns"},
		{"no keys", false, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var outs [][]byte
			for _, workers := range []int{1, 4} {
				cfg := Config{KeepFlows: true, KeepEvents: true, ShowEvidence: true, Workers: workers}
				cfg.Scanner = labConfig(t).Scanner
				if tc.keys {
					cfg.Keys = readKeys(t, dohTLS+".keys")
				}
				rep, err := Run(context.Background(), cfg, []string{dohTLS + ".pcap"})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, ev := range rep.Events {
					if ev.Type != dns.EventType {
						continue
					}
					var d dns.Event
					b, err := json.Marshal(ev.Fields)
					if err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(b, &d); err != nil {
						t.Fatal(err)
					}
					if d.Variant != "doh" || len(d.Questions) != 1 {
						t.Errorf("frame %d: variant %q, %d questions", ev.Frame, d.Variant, len(d.Questions))
						continue
					}
					var as []string
					for _, a := range d.Answers {
						as = append(as, a.Data)
					}
					got = append(got, fmt.Sprintf("%d response=%v %s %s %v", ev.Frame, d.Response, d.Questions[0].Name, d.Questions[0].Type, as))
				}
				if !slices.Equal(got, tc.dns) {
					t.Errorf("%d workers: dns events\n%q\nwant (tshark)\n%q", workers, got, tc.dns)
				}
				f := flowsOf(rep)[gopher]
				if f.name != tc.named || f.source != tc.source {
					t.Errorf("%d workers: flow %s named %q (%s), want %q (%s)", workers, gopher, f.name, f.source, tc.named, tc.source)
				}
				var rows, leaks []string
				for _, d := range rep.Devices {
					for _, r := range d.Destinations {
						if fmt.Sprintf("%s:%d", r.IP, r.Port) == gopher {
							rows = append(rows, r.Name+" "+r.NameSource)
						}
					}
					for _, l := range d.Leaks {
						leaks = append(leaks, fmt.Sprintf("%s %s %s:%d %s %s", l.Identifier, l.Location, l.Dest.IP, l.Dest.Port, l.Dest.Name, l.Dest.NameSource))
					}
				}
				wantRow := tc.named + " " + tc.source
				if !slices.Equal(rows, []string{wantRow}) {
					t.Errorf("%d workers: rows of %s %q, want %q", workers, gopher, rows, wantRow)
				}
				wantLeak := "imei tcp.payload:imei 127.0.0.3:18522 " + wantRow
				if !slices.Contains(leaks, wantLeak) {
					t.Errorf("%d workers: leaks %q, want %q among them", workers, leaks, wantLeak)
				}
				var out bytes.Buffer
				if err := report.Write(&out, rep, report.Options{Format: "ndjson"}); err != nil {
					t.Fatal(err)
				}
				outs = append(outs, out.Bytes())
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Error("1 and 4 workers differ")
			}
		})
	}
}
