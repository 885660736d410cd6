package engine

import (
	"context"
	"errors"
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
	"chrissanders-packets/http_espn.pcapng":                "device_id",      // guid= tracking id in a URL
	"iot-sentinel/D-LinkHomeHub/Setup-A-1-STA.pcap":        "email hostname", // account e-mail and device name in a setup POST
	"iot-sentinel/EdimaxCam1/Setup-A-1-STA.pcap":           "mac",            // the camera's MAC inside a DNS query name
	"iot-sentinel/Withings/Setup-A-1-STA.pcap":             "mac mac",        // the scale's MAC in two form fields
	"psvita/PSN_Store/PS_Vita_Network_Sign-in.pcapng":      "api_key email",  // session id in a URL; the account JID
	"suricata-verify/http-encoding-gzip-uncompressed.pcap": "device_id",      // a 15-digit device id in JSON
	"suricata-verify/mqtt-frames-truncated.pcap":           "password",       // MQTT password in clear
	"suricata-verify/mqtt31-sub-userpass.pcap":             "password",       // MQTT password in clear
	"suricata-verify/mqtt5-pub-userpass.pcap":              "password",       // MQTT password in clear
	"zeek/pop3/pop3.pcap":                                  "email",          // POP3 AUTH PLAIN user, base64
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
