package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/report"
)

// Tests over captures we did not make: devices found on real traffic, and
// output that does not depend on the number of workers.

// runJSON analyses one input as `analyze --format json` does (records
// spooled, flows and events kept) with n workers and returns the JSON.
func runJSON(t *testing.T, cfg Config, in string, n int) ([]byte, *audit.Report) {
	t.Helper()
	cfg.Workers, cfg.KeepFlows, cfg.KeepEvents, cfg.SpoolRecords = n, true, true, true
	cfg.SpoolDir = t.TempDir()
	rep, err := Run(context.Background(), cfg, []string{in})
	if err != nil && !errors.Is(err, ErrDamaged) {
		if errors.Is(err, ErrInput) {
			return nil, nil
		}
		t.Fatalf("%s: %v", in, err)
	}
	var b bytes.Buffer
	if err := report.Write(&b, rep, report.Options{Format: "json"}); err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	if rep.Records != nil {
		rep.Records.Close()
	}
	return b.Bytes(), rep
}

// TestCorpusSameBytesWhateverWorkers requires byte-identical JSON from 1, 2
// and 4 workers on every shared corpus capture.
func TestCorpusSameBytesWhateverWorkers(t *testing.T) {
	entries := corpus.All(t)
	cfg := labConfig(t)
	for _, e := range entries {
		one, _ := runJSON(t, cfg, e.Path, 1)
		if one == nil {
			continue // not a capture at all (the corpus has such files on purpose)
		}
		for _, n := range []int{2, 4} {
			if got, _ := runJSON(t, cfg, e.Path, n); !bytes.Equal(one, got) {
				t.Errorf("%s: %d workers give different JSON than 1 (%d vs %d bytes)", e.Name(), n, len(got), len(one))
				if dir := os.Getenv("DUMPDIFF"); dir != "" {
					os.WriteFile(filepath.Join(dir, "w1.json"), one, 0o644)
					os.WriteFile(filepath.Join(dir, "wn.json"), got, 0o644)
				}
			}
		}
	}
}

// iotTruth lists, per capture, the device MACs the IoT datasets name in
// their own files (truth/**.external/, INDEX.json notes "MAC address").
func iotTruth(t *testing.T) map[string][]string {
	t.Helper()
	dir := corpus.Dir()
	out := map[string][]string{}
	idx, _ := filepath.Glob(filepath.Join(dir, "truth", "*", "*", "*.external", "INDEX.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "truth", "*", "*.external", "INDEX.json"))
	for _, p := range append(idx, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var index map[string][]struct {
			Note    string `json:"note"`
			SavedAs string `json:"saved_as"`
		}
		if err := json.Unmarshal(b, &index); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, items := range index {
			for _, it := range items {
				if !strings.Contains(it.Note, "MAC address") {
					continue
				}
				raw, err := os.ReadFile(filepath.Join(dir, "truth", it.SavedAs))
				if err != nil {
					t.Fatal(err)
				}
				capture := strings.TrimSuffix(strings.TrimPrefix(filepath.Dir(p), filepath.Join(dir, "truth")+"/"), ".external")
				for _, m := range strings.Fields(strings.ToLower(string(raw))) {
					out[capture] = append(out[capture], m)
				}
			}
		}
	}
	return out
}

// TestCorpusIoTDeviceMACsAreDevices requires every device MAC an IoT
// dataset names for its capture to appear as a device.
func TestCorpusIoTDeviceMACsAreDevices(t *testing.T) {
	entries := corpus.All(t)
	truth := iotTruth(t)
	if len(truth) == 0 {
		t.Fatal("no IoT device MACs found in truth/**.external/")
	}
	found, total := 0, 0
	for _, e := range entries {
		macs := truth[e.Name()]
		if len(macs) == 0 {
			continue
		}
		rep, err := Run(context.Background(), Config{}, []string{e.Path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, m := range macs {
			total++
			ok := false
			for _, d := range rep.Devices {
				ok = ok || d.MAC == m
			}
			if ok {
				found++
			} else {
				t.Errorf("%s: the dataset's device %s is not among the devices", e.Name(), m)
			}
		}
	}
	t.Logf("IoT dataset device MACs found as devices: %d/%d", found, total)
}

// TestCorpusGlobalIPv6Host: a LAN host with only a global IPv6 address
// (zeek/ftp/ipv6.pcap: passive and active FTP, so the server also opens
// connections to the host) is one device with all six flows, and its
// router is not a device.
func TestCorpusGlobalIPv6Host(t *testing.T) {
	var path string
	for _, e := range corpus.All(t) {
		if e.Name() == "zeek/ftp/ipv6.pcap" {
			path = e.Path
		}
	}
	if path == "" {
		t.Skip("zeek/ftp/ipv6.pcap not in the corpus")
	}
	rep, err := Run(context.Background(), Config{}, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Devices) != 1 || rep.Devices[0].MAC != "c4:2c:03:3b:6c:aa" {
		t.Fatalf("devices = %+v, want the one host c4:2c:03:3b:6c:aa", rep.Devices)
	}
	flows := 0
	for _, d := range rep.Devices[0].Destinations {
		flows += d.Flows
	}
	if flows != 6 {
		t.Errorf("the host has %d flows, want all 6", flows)
	}
}

// TestHomeRouterKeepsItsDevices: behind an ordinary home router (DHCP
// replies to IP broadcast but the client's MAC, the router as DNS server and
// IPv6 router) every device is found, the router is not a device, a name
// learnt over DNS-over-TCP names the later UDP flow, and a connection from
// outside to the laptop's global IPv6 address belongs to the laptop.
func TestHomeRouterKeepsItsDevices(t *testing.T) {
	in := filepath.Join(t.TempDir(), "home.pcap")
	if err := os.WriteFile(in, scenario.Bytes(scenario.Scenario{Write: scenario.HomeRouterLAN}), 0o644); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, n := range []int{1, 2, 4} {
		js, rep := runJSON(t, Config{}, in, n)
		if first == nil {
			first = js
		} else if !bytes.Equal(first, js) {
			t.Errorf("%d workers give different JSON than 1", n)
		}
		byMAC := map[string]audit.Device{}
		for _, d := range rep.Devices {
			byMAC[d.MAC] = d
		}
		for _, h := range []struct {
			name string
			mac  string
		}{{"phone", scenario.HomePhone.MAC.String()}, {"camera", scenario.HomeCamera.MAC.String()}, {"laptop", scenario.HomeLaptop.MAC.String()}} {
			if _, ok := byMAC[h.mac]; !ok {
				t.Errorf("%d workers: the %s (%s) is not a device", n, h.name, h.mac)
			}
		}
		if _, ok := byMAC[scenario.HomeRouter.MAC.String()]; ok {
			t.Errorf("%d workers: the router is listed as a device", n)
		}
		laptop := byMAC[scenario.HomeLaptop.MAC.String()]
		var stun, ssh bool
		for _, d := range laptop.Destinations {
			stun = stun || d.Port == 3478 && d.Name == scenario.HomeSTUNName && d.NameSource == "dns"
			ssh = ssh || d.IP == "2001:db8:ffff:99::22"
		}
		if !stun {
			t.Errorf("%d workers: the STUN flow is not named %s from the DNS answer over TCP", n, scenario.HomeSTUNName)
		}
		if !ssh {
			t.Errorf("%d workers: the inbound IPv6 connection is not the laptop's", n)
		}
		if !strings.Contains(strings.Join(laptop.IPs, ","), "2001:db8:5a:1::42") {
			t.Errorf("%d workers: laptop IPs %v lack its global IPv6 address", n, laptop.IPs)
		}
	}
}

// TestDeviceWarnings: a --devices entry never seen, and a capture without
// devices, are warned about.
func TestDeviceWarnings(t *testing.T) {
	in := filepath.Join(t.TempDir(), "home.pcap")
	if err := os.WriteFile(in, scenario.Bytes(scenario.Scenario{Write: scenario.HomeRouterLAN}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig(t) // devices of the planted-leak lab: none is in this capture
	rep, err := Run(context.Background(), cfg, []string{in})
	if err != nil {
		t.Fatal(err)
	}
	unseen := 0
	for _, w := range rep.Warnings {
		if w.Code == "device-not-seen" {
			unseen++
		}
	}
	if unseen != len(cfg.Known) {
		t.Errorf("%d device-not-seen warnings, want %d (one per --devices entry)", unseen, len(cfg.Known))
	}
	empty := filepath.Join(t.TempDir(), "empty.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	if err := os.WriteFile(empty, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = Run(context.Background(), Config{}, []string{empty})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Code != "no-devices" {
		t.Errorf("empty capture: warnings %+v, want one no-devices", rep.Warnings)
	}
}

// TestCorpusDHCPClientsAreDevices: every MAC that sends DHCP client
// messages (DISCOVER, REQUEST, INFORM in tshark's truth) is a device: a
// host asking for an address is on the lab side whatever else it sends.
func TestCorpusDHCPClientsAreDevices(t *testing.T) {
	// chaddr is not the sender's MAC there (00:0a:28:00:fa:41 sends a
	// DISCOVER for 00:0b:82:01:fc:42): the device is the sender.
	except := map[string]string{"zeek/dhcp/dhcp_discover_param_req_and_client_id.pcap": "00:0b:82:01:fc:42"}
	found, total := 0, 0
	for _, e := range corpus.All(t) {
		var truth struct {
			DHCP struct {
				Messages []struct {
					MsgType   string `json:"msg_type"`
					ClientMAC string `json:"client_mac"`
				} `json:"messages"`
			} `json:"dhcp"`
		}
		if _, err := os.Stat(e.Truth); err != nil {
			continue
		}
		corpus.LoadTruth(t, e, &truth)
		want := map[string]bool{}
		for _, m := range truth.DHCP.Messages {
			if (m.MsgType == "DISCOVER" || m.MsgType == "REQUEST" || m.MsgType == "INFORM") && m.ClientMAC != "" && except[e.Name()] != m.ClientMAC {
				want[m.ClientMAC] = true
			}
		}
		if len(want) == 0 {
			continue
		}
		rep, err := Run(context.Background(), Config{}, []string{e.Path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for m := range want {
			total++
			ok := false
			for _, d := range rep.Devices {
				ok = ok || d.MAC == m
			}
			if ok {
				found++
			} else {
				t.Errorf("%s: DHCP client %s is not a device", e.Name(), m)
			}
		}
	}
	t.Logf("DHCP client MACs found as devices: %d/%d", found, total)
}
