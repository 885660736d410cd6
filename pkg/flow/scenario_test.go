package flow

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/capture"
)

// runScenario decodes a scenario capture through the flow table.
func runScenario(t *testing.T, name string) (*recorder, *Decoder) {
	t.Helper()
	for _, s := range scenario.All() {
		if s.Name != name {
			continue
		}
		r, err := capture.NewReader(bytes.NewReader(scenario.Bytes(s)), name)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		tab := NewTable(Config{}, rec)
		d := NewDecoder()
		var f capture.Frame
		for r.Next(&f) == nil {
			d.Decode(f.N, f.CI.Timestamp, f.CI.Length, f.CI.CaptureLength, f.Link, f.Data, tab.Add)
		}
		tab.Flush()
		return rec, d
	}
	t.Fatalf("no scenario %q", name)
	return nil, nil
}

func TestScenarios(t *testing.T) {
	req := craft.HTTPRequest("POST", "example.com", "/upload", nil, bytes.Repeat([]byte("0123456789"), 10))
	tests := []struct {
		name  string
		flows []string // "transport client > server packets up/down"
		up    string   // client→server stream of the first TCP flow, if any
	}{
		{"handshake.pcap", []string{"tcp 192.168.1.23:50000 > 93.184.216.34:80 6/4"}, ""},
		{"reorder.pcap", []string{"tcp 192.168.1.23:50001 > 93.184.216.34:80 12/4"}, string(req)},
		{"vlan.pcap", []string{"udp 192.168.1.23:40100 > 192.168.1.1:53 1/1", "udp 192.168.1.23:40101 > 192.168.1.1:53 1/1"}, ""},
		{"fragments.pcap", []string{"udp 192.168.1.23:41000 > 203.0.113.9:9999 1/0"}, ""},
		{"two-interfaces.pcapng", []string{"udp 192.168.1.23:40200 > 192.168.1.1:53 1/0", "udp 192.168.1.40:40201 > 192.168.1.1:53 1/0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, d := runScenario(t, tt.name)
			var got []string
			for _, f := range rec.ended {
				got = append(got, fmt.Sprintf("%s %s > %s %d/%d", f.Transport(), f.Client, f.Server, f.Packets[0], f.Packets[1]))
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(tt.flows, "\n") {
				t.Errorf("flows:\n%s\nwant:\n%s\n(decoder: %v)", strings.Join(got, "\n"), strings.Join(tt.flows, "\n"), d.Stats)
			}
			if tt.up != "" {
				if s := rec.streams[rec.ended[0].ID][0].String(); s != tt.up {
					t.Errorf("reassembled stream:\n%q\nwant:\n%q", s, tt.up)
				}
			}
		})
	}
}
