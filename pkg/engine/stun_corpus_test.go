package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/proto/stun"
)

// TestCorpusTCPSTUN: the WeMo switch's TURN-over-TCP connection to Belkin
// (54.159.89.38:3478) is protocol stun, channel STUN, with one stun event
// per message tshark dissects (tshark -Y stun: frames 137-146, Allocate
// Request / 401 Error Response twice, then Allocate Request / Success
// Response; tshark's protocol column says STUN for every one). It was
// binary-unknown before the TCP Spec was listed.
func TestCorpusTCPSTUN(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	path := filepath.Join(dir, "pcaps", "iot-sentinel", "WeMoSwitch", "Setup-A-1-STA.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skip("not in this corpus: ", err)
	}
	rep := decoded(t, path)
	const server = "54.159.89.38:3478"
	got := flowsOf(rep)[server]
	if got.protocol != "stun" || got.channel != "STUN" {
		t.Errorf("flow %s: protocol %q channel %q, want stun STUN", server, got.protocol, got.channel)
	}
	var flowID uint64
	for _, f := range rep.Flows {
		if f.Server == server {
			flowID = f.ID
		}
	}
	var msgs []string
	for _, ev := range rep.Events {
		if ev.FlowID != flowID || ev.Type != stun.EventType {
			continue
		}
		e := ev.Fields.(stun.Event)
		msgs = append(msgs, fmt.Sprintf("%d %s/%s user=%s err=%d", ev.Frame, e.Method, e.Class, e.Username, e.ErrorCode))
	}
	// tshark's usernames, masked: 94103E3501C0 is the switch's base MAC, a
	// mac leak (pkg/leak/linkmac.go), and leaked values are masked in
	// events too unless --show-evidence.
	want := []string{
		"137 allocate/request user= err=0",
		"139 allocate/error user= err=401",
		"141 allocate/request user=9410****01C0 err=0",
		"143 allocate/error user= err=401",
		"144 allocate/request user=9410****01C0 err=0",
		"146 allocate/success user= err=0",
	}
	if g, w := strings.Join(msgs, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("stun events of %s:\n%s\nwant (tshark)\n%s", server, g, w)
	}
}
