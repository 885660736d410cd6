package ntp

import (
	"fmt"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

type ntpTruth struct {
	NTP []struct {
		Src     string `json:"src"`
		Dst     string `json:"dst"`
		Mode    string `json:"mode"`
		Version string `json:"version"`
		Frames  int    `json:"frames"`
	} `json:"ntp"`
}

// ntpExceptions are tshark rows phonehome does not reproduce, with why.
var ntpExceptions = map[string]string{
	// ICMP port-unreachable errors from the gateway quote the device's NTP
	// requests; tshark counts the quoted packets under the ICMP addresses.
	"iot-sentinel/EdnetGateway/Setup-A-1-STA.pcap|10.10.10.1>10.10.10.149 mode 3 v3": "NTP quoted inside ICMP errors",
	// A reassembled datagram from port 123 to NetBIOS port 137 whose first
	// byte says version 0: tshark picks NTP by port; it is not NTP.
	"zeek/ipv4/fragmented-1.pcap|164.1.123.163>164.1.123.61 mode 0 v0": "not NTP (version 0, to port 137)",
}

// TestCorpusNTP compares, per (source, destination, mode, version), the
// number of NTP packets of every dev capture with tshark's.
func TestCorpusNTP(t *testing.T) {
	var total, same int
	for _, e := range corpus.Dev(t) {
		var tr ntpTruth
		corpus.LoadTruth(t, e, &tr)
		if len(tr.NTP) == 0 {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dgrams, _, ok := readUDP(t, e.Path)
			if !ok {
				t.Skip("capture format not readable by the test extractor")
			}
			got := map[string]int{}
			var m Message
			for _, d := range dgrams {
				if !hasPort(d, 123) {
					continue
				}
				if err := Parse(d.Payload, &m); err != nil {
					t.Logf("frame %d: %v", d.Frame, err)
					continue
				}
				got[fmt.Sprintf("%s>%s mode %d v%d", d.Src.Addr(), d.Dst.Addr(), m.Mode, m.Version)]++
			}
			for _, w := range tr.NTP {
				k := fmt.Sprintf("%s>%s mode %s v%s", w.Src, w.Dst, w.Mode, w.Version)
				if why := ntpExceptions[e.Name()+"|"+k]; why != "" {
					t.Logf("%s: skipped: %s", k, why)
					continue
				}
				total += w.Frames
				if got[k] != w.Frames {
					t.Errorf("%s: %d packets, tshark %d (all: %v)", k, got[k], w.Frames, got)
					continue
				}
				same += w.Frames
			}
		})
	}
	t.Logf("NTP packets matching tshark: %d/%d", same, total)
}
