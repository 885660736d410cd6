package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

// TestCorpusBareMAC: three real IoT captures send their device's MAC as 12
// hex digits without separators, which only the flow's own link address
// makes a MAC (pkg/leak/linkmac.go); tshark shows each:
//   - WeMoSwitch frames 141, 144: STUN Allocate Request, USERNAME
//     94103E3501C0 (tshark -Y stun -e stun.att.username), sent over
//     TURN/TCP to 54.159.89.38:3478 by the switch whose Wi-Fi address is
//     94:10:3e:35:01:c1 (the dataset's _iotdevice-mac.txt): the address
//     below it, the device's base address;
//   - D-LinkHomeHub frame 40: GET
//     /router/firmware/query.aspx?model=DCH-G020_Ax_Default_FW_0122_1C5F2BAAFD4E
//     from 1c:5f:2b:aa:fd:4e (tshark -e http.request.full_uri -e eth.src);
//   - EdnetGateway frame 10 and 7 more: "smart_config ACCF23623C6E"
//     broadcast to UDP 49999 by ac:cf:23:62:3c:6e (tshark -e udp.payload).
//
// With a devices file naming the WeMo's address the known path reports
// its own address where it is sent; the base address stays a generic mac.
func TestCorpusBareMAC(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	tests := []struct {
		file    string
		devices string
		want    []string
	}{
		{"WeMoSwitch/Setup-A-1-STA.pcap", "", []string{"mac:94:10:3e:35:01:c1 mac 94:10:3e:35:01:c0 stun.username plain 54.159.89.38:3478 frame 141 ×2"}},
		{"WeMoSwitch/Setup-A-1-STA.pcap", "devices:\n  - id: wemo\n    mac: \"94:10:3e:35:01:c1\"\n",
			[]string{"wemo mac 94:10:3e:35:01:c0 stun.username plain 54.159.89.38:3478 frame 141 ×2"}},
		{"D-LinkHomeHub/Setup-A-1-STA.pcap", "", []string{"mac:1c:5f:2b:aa:fd:4e mac 1c:5f:2b:aa:fd:4e url.query:model plain 50.112.127.36:80 frame 40 ×1"}},
		{"EdnetGateway/Setup-A-1-STA.pcap", "", []string{"mac:ac:cf:23:62:3c:6e mac ac:cf:23:62:3c:6e udp.payload plain 255.255.255.255:49999 frame 10 ×8"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, "pcaps", "iot-sentinel", tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skip("not in this corpus: ", err)
			}
			var devs []lab.Device
			if tc.devices != "" {
				f, err := lab.Parse("devices.yaml", []byte(tc.devices))
				if err != nil {
					t.Fatal(err)
				}
				devs = f.Devices
			}
			sc, err := leak.NewScanner(devs, leak.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Run(context.Background(), Config{Scanner: sc, Known: devs, ShowEvidence: true}, []string{path})
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatal(err)
			}
			var got []string
			for _, d := range rep.Devices {
				for _, l := range d.Leaks {
					if l.Identifier != "mac" {
						continue
					}
					got = append(got, fmt.Sprintf("%s %s %s %s %s %s:%d frame %d ×%d", d.ID, l.Identifier, l.Value, l.Location, l.Encoding, l.Dest.IP, l.Dest.Port, l.Frame, l.Count))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("mac leaks\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
