package engine

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/leak"
)

// genericLeaks pins what the generic detectors (no --devices file) report
// on the dev corpus, after review: each entry was checked by hand and is a
// real identifier or credential in the capture. Any other capture must
// report nothing. A change here is a change in false positives or recall:
// review it before updating.
var genericLeaks = map[string]string{
	"chrissanders-packets/http_espn.pcapng":                "device_id",               // guid= tracking id in a URL
	"iot-sentinel/D-LinkHomeHub/Setup-A-1-STA.pcap":        "email hostname mac",      // account e-mail and device name in a setup POST; its MAC, bare, in a firmware query
	"iot-sentinel/EdnetGateway/Setup-A-1-STA.pcap":         "mac",                     // its MAC, bare, in a "smart_config" broadcast
	"iot-sentinel/EdimaxCam1/Setup-A-1-STA.pcap":           "mac",                     // the camera's MAC inside a DNS query name
	"iot-sentinel/WeMoSwitch/Setup-A-1-STA.pcap":           "mac",                     // its base MAC, bare, as TURN USERNAME
	"iot-sentinel/Withings/Setup-A-1-STA.pcap":             "mac mac",                 // the scale's MAC in two form fields
	"psvita/PSN_Store/PS_Vita_Network_Sign-in.pcapng":      "jid session_token",       // the account's XMPP address; session id in a URL
	"suricata-verify/http-encoding-gzip-uncompressed.pcap": "device_id",               // a 15-digit device id in JSON
	"suricata-verify/mqtt-frames-truncated.pcap":           "password",                // MQTT password in clear
	"suricata-verify/mqtt31-sub-userpass.pcap":             "password",                // MQTT password in clear
	"suricata-verify/mqtt5-pub-userpass.pcap":              "password",                // MQTT password in clear
	"zeek/pop3/pop3.pcap":                                  "email password password", // POP3 AUTH PLAIN user and passwords (two different), base64
	"zeek/var-services-std-ports.pcap":                     "password",                // FTP PASS in clear
}

func TestCorpusGenericLeaks(t *testing.T) {
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range corpus.Dev(t) {
		rep, err := Run(context.Background(), Config{Scanner: sc}, []string{e.Path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			continue // not a capture: covered elsewhere
		}
		var got []string
		for _, d := range rep.Devices {
			for _, l := range d.Leaks {
				got = append(got, l.Identifier)
			}
		}
		slices.Sort(got)
		if g, w := strings.Join(got, " "), genericLeaks[e.Name()]; g != w {
			t.Errorf("%s: generic detectors report %q, pinned %q", e.Name(), g, w)
		}
	}
}

// A named server in a cloud's address block belongs to the name's owner,
// not to the cloud: the D-Link hub's api.dch.dlink.com runs on AWS (real
// capture, iot-sentinel) and must not be reported as an Amazon service.
func TestHostingIsNotTheServiceOwner(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("shared corpus not found (../shared/corpus or $PHONEHOME_CORPUS): skipping")
	}
	rep, err := Run(context.Background(), labConfig(t), []string{filepath.Join(dir, "pcaps/iot-sentinel/D-LinkHomeHub/Setup-A-1-STA.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, d := range rep.Devices {
		for _, dst := range d.Destinations {
			if dst.Domain != "dlink.com" {
				continue
			}
			seen++
			if dst.Vendor != "" || dst.Hosting != "Amazon Web Services" {
				t.Errorf("%s: vendor %q, hosting %q; want no vendor, hosting Amazon Web Services", dst.Name, dst.Vendor, dst.Hosting)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no dlink.com destination in the D-Link capture")
	}
}
