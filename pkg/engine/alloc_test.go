package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// TestDNSDatagramDoesNotAllocate: a DNS query on a known flow costs no
// allocation when events are not written (the parsed message is the
// Spec's scratch, the event form is lazy, the counter name made once).
func TestDNSDatagramDoesNotAllocate(t *testing.T) {
	w := newWorker(Config{}, phttp.DefaultLimits(), nil)
	f := &flow.Flow{ID: 1, Key: flow.Key{Proto: flow.ProtoUDP}, Client: netip.MustParseAddrPort("10.0.0.2:40000"), Server: netip.MustParseAddrPort("10.0.0.1:53")}
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'p', 'h', 'o', 'n', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
	p := &flow.Packet{Proto: flow.ProtoUDP, Payload: q, Time: time.Unix(1, 0), Frame: 1}
	w.Datagram(f, proto.ToServer, p)
	n := testing.AllocsPerRun(1000, func() { w.Datagram(f, proto.ToServer, p) })
	if n != 0 || w.eventCounts["dns"] != 1002 {
		t.Errorf("%v allocations per DNS datagram, %d events counted; want 0 and 1002", n, w.eventCounts["dns"])
	}
}
