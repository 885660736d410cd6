package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/flow"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// TestSniffHoldsShortFirstSegments: a request whose first segment is too
// short to recognise must still reach the HTTP decoder whole.
func TestSniffHoldsShortFirstSegments(t *testing.T) {
	w := newWorker(Config{KeepEvents: true}, phttp.DefaultLimits(), nil)
	tab := flow.NewTable(flow.Config{}, w)
	cli, srv := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("192.0.2.80")
	seq := uint32(100)
	send := func(flags uint8, data string) {
		p := &flow.Packet{Proto: flow.ProtoTCP, Src: cli, Dst: srv, SrcPort: 40000, DstPort: 8080,
			Flags: flags, Seq: seq, Payload: []byte(data), Claimed: len(data), Time: time.Unix(1, 0)}
		tab.Add(p)
		seq += uint32(len(data))
		if flags&flow.FlagSYN != 0 {
			seq++
		}
	}
	send(flow.FlagSYN, "")
	send(flow.FlagACK, "GE")
	send(flow.FlagACK, "T /x HTTP/1.1\r\nHost: example.com\r\n\r\n")
	tab.Flush()
	var got string
	for _, ev := range w.events {
		if h, ok := ev.Fields.(*phttp.Event); ok && h.Request != nil {
			got = h.Request.Method + " " + h.Request.Host + h.Request.URI
		}
	}
	if got != "GET example.com/x" {
		t.Errorf("request = %q, want GET example.com/x", got)
	}
}
