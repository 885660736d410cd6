package engine

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
)

// keptFlows holds the flow records of formats that list at most
// --max-records flows (the flows table, HTML, CSV): exactly the first
// max by the order of the list — first frame, transport, client, server,
// start — whatever the number of workers and the order flows end in. It
// is one bounded max-heap shared by the pool's goroutines: a record that
// comes before the last one kept takes its place, any other is counted
// and dropped. The records are compact (keptFlow) and become audit.Flow
// only when the run is merged.
type keptFlows struct {
	mu      sync.Mutex
	max     int
	heap    []keptFlow // a max-heap by keptFlow.compare while full
	dropped uint64
}

// keptFlow is a flow record as kept until the merge: addresses as
// netip.AddrPort (no strings per record), the transport and state as
// bytes, times as seconds and nanoseconds; the strings are the session's
// and the inventory's own (a pending pair's provisional device ID is made
// for its record). 248 bytes against an audit.Flow's 280 and its two
// address strings.
type keptFlow struct {
	client, server                         netip.AddrPort
	device, protocol, name, nameSrc, chanl string
	packets, bytes, payload                [2]uint64
	firstFrame, gapBytes                   uint64
	local                                  uint64 // the worker's flow ID, which its events carry
	firstSec, lastSec                      int64
	firstNsec, lastNsec                    uint32
	worker                                 uint8 // the shard
	transport                              uint8 // flow.Key.Proto
	state                                  flow.State
}

func newKeptFlows(max int) *keptFlows {
	return &keptFlows{max: max}
}

// add offers one record.
func (k *keptFlows) add(r *keptFlow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.heap) < k.max {
		k.heap = append(k.heap, *r)
		if len(k.heap) == k.max {
			k.heapify()
		}
		return
	}
	k.dropped++
	if k.max == 0 || r.compare(&k.heap[0]) >= 0 {
		return
	}
	k.heap[0] = *r
	k.down(0)
}

func (k *keptFlows) heapify() {
	for i := len(k.heap)/2 - 1; i >= 0; i-- {
		k.down(i)
	}
}

// down restores the max-heap below i.
func (k *keptFlows) down(i int) {
	h := k.heap
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].compare(&h[c]) > 0 {
			c++
		}
		if h[c].compare(&h[i]) <= 0 {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// sorted returns the records in list order and forgets them.
func (k *keptFlows) sorted() []keptFlow {
	h := k.heap
	k.heap = nil
	slices.SortFunc(h, func(a, b keptFlow) int { return a.compare(&b) })
	return h
}

// compare orders records as the list does: by first frame, then
// transport, client and server as text, then start time.
func (a *keptFlow) compare(b *keptFlow) int {
	if c := cmp.Compare(a.firstFrame, b.firstFrame); c != 0 {
		return c
	}
	if a.transport != b.transport {
		return cmp.Compare(transportName(a.transport), transportName(b.transport))
	}
	if c := compareAddrText(a.client, b.client); c != 0 {
		return c
	}
	if c := compareAddrText(a.server, b.server); c != 0 {
		return c
	}
	if c := cmp.Compare(a.firstSec, b.firstSec); c != 0 {
		return c
	}
	return cmp.Compare(a.firstNsec, b.firstNsec)
}

// compareAddrText compares two addresses as their String forms compare.
func compareAddrText(a, b netip.AddrPort) int {
	if a == b {
		return 0
	}
	var x, y [64]byte
	return bytes.Compare(appendAddrText(x[:0], a), appendAddrText(y[:0], b))
}

func transportName(p uint8) string {
	f := flow.Flow{Key: flow.Key{Proto: p}}
	return f.Transport()
}

// newKeptFlow is the record of a flow that ends.
func newKeptFlow(shard int, f *flow.Flow, device, protocol, name, nameSrc, channel string) keptFlow {
	return keptFlow{
		client: f.Client, server: f.Server,
		device: device, protocol: protocol, name: name, nameSrc: nameSrc, chanl: channel,
		packets: f.Packets, bytes: f.Bytes, payload: f.Payload,
		firstFrame: f.FirstFrame, gapBytes: f.GapBytes, local: f.ID,
		firstSec: f.First.Unix(), firstNsec: uint32(f.First.Nanosecond()),
		lastSec: f.Last.Unix(), lastNsec: uint32(f.Last.Nanosecond()),
		worker: uint8(shard), transport: f.Key.Proto, state: f.State,
	}
}

// record is the audit.Flow of r, numbered id.
func (r *keptFlow) record(id uint64) audit.Flow {
	return audit.Flow{
		ID:          id,
		Transport:   transportName(r.transport),
		Client:      r.client.String(),
		Server:      r.server.String(),
		Device:      r.device,
		PacketsUp:   r.packets[proto.ToServer],
		PacketsDown: r.packets[proto.ToClient],
		BytesUp:     r.bytes[proto.ToServer],
		BytesDown:   r.bytes[proto.ToClient],
		PayloadUp:   r.payload[proto.ToServer],
		PayloadDown: r.payload[proto.ToClient],
		FirstFrame:  r.firstFrame,
		First:       time.Unix(r.firstSec, int64(r.firstNsec)).UTC(),
		Last:        time.Unix(r.lastSec, int64(r.lastNsec)).UTC(),
		Protocol:    r.protocol,
		Name:        r.name,
		NameSource:  r.nameSrc,
		Channel:     r.chanl,
		State:       r.state.String(),
		GapBytes:    r.gapBytes,
	}
}
