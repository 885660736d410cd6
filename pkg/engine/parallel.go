package engine

import (
	"cmp"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// The reading goroutine decodes frames to transport packets and shards them
// by a symmetric hash of the flow key over a fixed number of workers
// (shards). Each worker owns a flow table and the sessions and decoders of
// its flows, and sees its packets in capture order. The workers are spread
// over fewer goroutines (one per CPU, at most 8): the shards, and so what
// the flow caps cut, do not depend on GOMAXPROCS or --workers. Each
// goroutine's workers share one DNS name cache and one device inventory; DNS datagrams also go to every other goroutine (to its
// name cache only), so each flow is named exactly as with one goroutine. At
// the end the workers' results are merged and sorted.

const (
	batchPackets = 512
	batchArena   = 256 << 10
	// queued is how many batches wait for each goroutine: the reader
	// blocks when one goroutine's queue is full, and the others' run dry
	// meanwhile, so the queues absorb bursts of one goroutine's flows.
	queued = 16
	// shards is the number of workers a run's flows are hashed over,
	// whatever the number of goroutines.
	shards = 8
)

// shardPacket is a flow.Packet in a batch, without pointers: the
// addresses as the packet's flow.Tuple (computed once, by the reader, for
// the shard hash; the worker's table takes it as it is) and which of its
// endpoints is the source, the time as seconds and nanoseconds (capture
// times are UTC), the payload as a span of the batch's arena. A batch's
// packets are then copied in without write barriers and not scanned by
// the collector (the reader copies every packet while a collection is
// marking, which is much of the run). A packet that does not fit (another
// time zone, an address with a zone, a payload larger than the arena) is
// kept whole in the batch's extra list.
type shardPacket struct {
	key              flow.Tuple
	frame            uint64
	sec              int64
	nsec             int32
	wireLen, claimed int32
	off, n           uint32 // payload: arena[off:off+n]
	extra            int32  // index+1 in batch.extra, 0: none
	seq, ack         uint32
	srcPort, dstPort uint16
	srcMAC, dstMAC   [6]byte
	proto            uint8
	flags            uint8
	hasMAC           bool
	swapped          bool // the source is the tuple's second endpoint
	shard            uint8
	dnsOnly          bool // feed the goroutine's DNS name cache only
}

type batch struct {
	pkts  []shardPacket
	arena []byte
	extra []flow.Packet   // packets a shardPacket cannot hold, with their own payload
	done  *sync.WaitGroup // a marker of pool.quiesce (decrypt.go), without packets
}

// put stores p in sp, its payload already at arena[off:off+len] and its
// tuple in sp.key; it returns false when sp cannot hold p exactly.
func (sp *shardPacket) put(p *flow.Packet, off int) bool {
	if p.Src.Zone() != "" || p.Dst.Zone() != "" || p.Time.Location() != time.UTC || p.WireLen != int(int32(p.WireLen)) || p.Claimed != int(int32(p.Claimed)) {
		return false
	}
	sp.frame, sp.sec, sp.nsec = p.Frame, p.Time.Unix(), int32(p.Time.Nanosecond())
	sp.wireLen, sp.claimed = int32(p.WireLen), int32(p.Claimed)
	sp.off, sp.n = uint32(off), uint32(len(p.Payload))
	sp.proto, sp.flags, sp.srcPort, sp.dstPort, sp.seq, sp.ack = p.Proto, p.Flags, p.SrcPort, p.DstPort, p.Seq, p.Ack
	sp.srcMAC, sp.dstMAC, sp.hasMAC = p.SrcMAC, p.DstMAC, p.HasMAC
	return true
}

// get rebuilds the packet sp holds into p.
func (b *batch) get(sp *shardPacket, p *flow.Packet) {
	if sp.extra > 0 {
		*p = b.extra[sp.extra-1]
		return
	}
	src, dst := sp.key.Addrs()
	if sp.swapped {
		src, dst = dst, src
	}
	// Every field, one by one: a whole Packet stored at once goes through
	// the write barriers of all its pointer words while a collection
	// marks (TestBatchKeepsPackets fails when one is left out).
	p.Frame, p.Time, p.WireLen = sp.frame, time.Unix(sp.sec, int64(sp.nsec)).UTC(), int(sp.wireLen)
	p.HasMAC, p.SrcMAC, p.DstMAC = sp.hasMAC, sp.srcMAC, sp.dstMAC
	p.Src, p.Dst, p.Proto = src, dst, sp.proto
	p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags = sp.srcPort, sp.dstPort, sp.seq, sp.ack, sp.flags
	p.Payload, p.Claimed = b.arena[sp.off:sp.off+sp.n:sp.off+sp.n], int(sp.claimed)
}

type pool struct {
	workers []*worker // the shards; worker i runs on goroutine i % len(groups)
	groups  []*group
	in      []chan *batch // per goroutine
	free    chan *batch
	cur     []*batch // per goroutine
	wg      sync.WaitGroup
	closed  bool
	end     time.Time // latest packet time seen, for the final expiry
	lan     *lanEvidence
	tcpDNS  *tcpDNS
	kept    *keptFlows // the flow records kept in memory (nil: none, kept.go)
	// Transport payload bytes captured, and those the snap length cut from
	// UDP and other non-TCP packets (TCP's are counted as reassembly gaps).
	payloadSeen, payloadCut uint64
}

// group is what one goroutine's workers share: the DNS name cache, the
// memo of inputs the leak scan found nothing in (scanmemo.go), the
// device inventory (its sets merge to the same whatever flows it saw; one
// per shard would hold each device's destination rows up to 8 times), and
// the scratch message that DNS copies are parsed into.
type group struct {
	workers []*worker
	cache   *dns.Cache
	inv     *inventory
	memo    *scanMemo
	msg     dns.Message
}

// workerCount is the number of goroutines: Config.Workers, or one per CPU
// (at most 8); never more than the shards.
func workerCount(cfg Config) int {
	n := cfg.Workers
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), 8)
	}
	return min(max(n, 1), shards)
}

// newPool starts n goroutines running the run's shards. Each shard gets
// its share of the flow caps (--max-flows, --max-total-buffer) and of the
// spool memory.
func newPool(cfg Config, n int, httpLimits phttp.Limits, frames *frameIndex, mask func(audit.Event) audit.Event) *pool {
	pl := &pool{free: make(chan *batch, (queued+2)*n), lan: newLANEvidence(), tcpDNS: newTCPDNS()}
	wcfg := cfg
	wcfg.Flow.MaxFlows = max(1, cmp.Or(cfg.Flow.MaxFlows, flow.DefaultMaxFlows)/shards)
	wcfg.Flow.MaxTotalBuffer = max(1, cmp.Or(cfg.Flow.MaxTotalBuffer, flow.DefaultMaxTotalBuffer)/shards)
	// A worker keeps no *flow.Flow once it has filed the flow (End).
	wcfg.Flow.ReuseFlows = true
	// The spools of a goroutine's shards together fill what one worker's
	// did before runs were sharded (the sorted output is the same).
	wcfg.SpoolBudget = max(1, cmp.Or(cfg.SpoolBudget, defaultSpoolBudget)*n/shards)
	for g := 0; g < n; g++ {
		pl.groups = append(pl.groups, &group{cache: dns.NewCache(1 << 16), inv: newInventory(cfg.LAN, cfg.Known), memo: newScanMemo()})
		pl.in = append(pl.in, make(chan *batch, queued))
		pl.cur = append(pl.cur, nil)
	}
	if cfg.KeepFlows && !cfg.SpoolRecords {
		pl.kept = newKeptFlows(cmp.Or(max(cfg.MaxRecords, 0), DefaultMaxRecords))
	}
	for i := 0; i < shards; i++ {
		gr := pl.groups[i%n]
		w := newWorker(wcfg, httpLimits, gr.cache)
		w.frames, w.maskSecrets, w.inv, w.kept, w.shard, w.memo = frames, mask, gr.inv, pl.kept, i, gr.memo
		if cfg.SpoolRecords && (cfg.KeepFlows || cfg.KeepEvents) {
			w.spools = newRecordSpools(wcfg)
		}
		pl.workers = append(pl.workers, w)
		gr.workers = append(gr.workers, w)
	}
	for g := range pl.groups {
		pl.wg.Add(1)
		go pl.run(pl.groups[g], pl.in[g])
	}
	return pl
}

func (pl *pool) run(gr *group, ch chan *batch) {
	defer pl.wg.Done()
	p := new(flow.Packet) // the packet being handled, rebuilt from its batch
	for b := range ch {
		if b.done != nil {
			b.done.Done()
			continue
		}
		for i := range b.pkts {
			sp := &b.pkts[i]
			b.get(sp, p)
			if sp.dnsOnly {
				gr.dnsFeed(p)
			} else {
				pl.workers[sp.shard].table.AddTuple(p, &sp.key)
			}
		}
		b.pkts = b.pkts[:0]
		b.arena = b.arena[:0]
		clear(b.extra)
		b.extra = b.extra[:0]
		select {
		case pl.free <- b:
		default:
		}
	}
	for _, w := range gr.workers {
		w.table.FlushAt(pl.end)
	}
}

func (pl *pool) get() *batch {
	select {
	case b := <-pl.free:
		return b
	default:
		return &batch{pkts: make([]shardPacket, 0, batchPackets), arena: make([]byte, 0, batchArena)}
	}
}

// dispatch copies a decoded packet into its shard's goroutine's batch.
func (pl *pool) dispatch(p *flow.Packet) {
	if p.Time.After(pl.end) {
		pl.end = p.Time
	}
	key, swapped := p.Tuple()
	shard := int(key.Hash() % shards)
	g := shard % len(pl.groups)
	pl.payloadSeen += uint64(len(p.Payload))
	if p.Proto != flow.ProtoTCP && p.Claimed > len(p.Payload) {
		pl.payloadCut += uint64(p.Claimed - len(p.Payload))
	}
	pl.lan.packet(p)
	pl.add(g, p, &key, swapped, shard, false)
	switch {
	case p.Proto == flow.ProtoUDP && (dns.IsPort(p.SrcPort) || dns.IsPort(p.DstPort)):
		// The owner names flows from the datagram itself; the other
		// goroutines get a copy for their name caches, at the same place
		// in the order.
		for i := range pl.groups {
			if i != g {
				pl.add(i, p, &key, swapped, 0, true)
			}
		}
	case p.Proto == flow.ProtoTCP && p.SrcPort == 53:
		// DNS over TCP: answers are cut out of the server's byte stream
		// here, once, and every goroutine (the flow's own too) adds them
		// to its name cache at this place in the packet order.
		pl.tcpDNS.segment(p, func(msg *flow.Packet) {
			key, swapped := msg.Tuple()
			for i := range pl.groups {
				pl.add(i, msg, &key, swapped, 0, true)
			}
		})
	}
}

// add copies p, whose tuple is key, into goroutine g's batch.
func (pl *pool) add(g int, p *flow.Packet, key *flow.Tuple, swapped bool, shard int, dnsOnly bool) {
	b := pl.cur[g]
	if b != nil && len(b.arena)+len(p.Payload) > cap(b.arena) {
		pl.send(g)
		b = nil
	}
	if b == nil {
		b = pl.get()
		pl.cur[g] = b
	}
	// The packet is written in its place in the batch once (put sets
	// the rest), not built and then copied there.
	if n := len(b.pkts); n < cap(b.pkts) {
		b.pkts = b.pkts[:n+1]
	} else {
		b.pkts = append(b.pkts, shardPacket{})
	}
	sp := &b.pkts[len(b.pkts)-1]
	sp.key, sp.swapped, sp.shard, sp.dnsOnly, sp.extra = *key, swapped, uint8(shard), dnsOnly, 0
	if len(p.Payload) > cap(b.arena) || !sp.put(p, len(b.arena)) {
		// Kept whole, with a copy of its payload.
		x := *p
		x.Payload = append([]byte(nil), p.Payload...)
		b.extra = append(b.extra, x)
		sp.extra = int32(len(b.extra))
	} else {
		b.arena = append(b.arena, p.Payload...)
	}
	if len(b.pkts) >= batchPackets {
		pl.send(g)
	}
}

func (pl *pool) send(g int) {
	if b := pl.cur[g]; b != nil && len(b.pkts) > 0 {
		pl.in[g] <- b
	}
	pl.cur[g] = nil
}

// close sends what is left, lets every worker flush its flows, and waits.
// Later calls do nothing.
func (pl *pool) close() {
	if pl.closed {
		return
	}
	pl.closed = true
	for g := range pl.groups {
		pl.send(g)
		close(pl.in[g])
	}
	pl.wg.Wait()
}

// dnsFeed adds a DNS response seen by another goroutine's worker (or cut
// out of a TCP stream by the reader) to the group's name cache, and mDNS
// host names to one of its workers' inventories (they are merged), as if
// the flow were its own.
func (gr *group) dnsFeed(p *flow.Packet) {
	err := dns.Parse(p.Payload, &gr.msg)
	if err != nil && !gr.msg.Response {
		return
	}
	if gr.msg.Response {
		gr.cache.Add(p.Dst, &gr.msg, proto.Meta{Frame: p.Frame, Time: p.Time})
		if v := dns.Variant(p.SrcPort, p.DstPort); v == "mdns" && p.Proto == flow.ProtoUDP {
			gr.inv.mdnsNames(nil, &gr.msg)
		}
	}
}

// mergeWorkers folds the workers' results into e: flow records put in
// order of first frame (they become audit.Flow after the devices are
// built: flowRecords), events sorted by frame, counters summed,
// inventories merged.
func (e *engine) mergeWorkers(pl *pool) {
	if pl.kept != nil {
		e.kept = pl.kept.sorted()
		if n := pl.kept.dropped; n > 0 {
			e.counter["flow_records_dropped"] += n
		}
	}
	remap := e.kept.remap(pl.workers)
	var evs []audit.Event
	for wi, w := range pl.workers {
		for _, ev := range w.events {
			if ev.FlowID != 0 {
				ev.FlowID = remap[wi][ev.FlowID] // 0 when the flow record was not kept
			}
			evs = append(evs, ev)
		}
	}
	slices.SortStableFunc(evs, func(a, b audit.Event) int {
		if c := cmp.Compare(a.Frame, b.Frame); c != 0 {
			return c
		}
		if c := cmp.Compare(a.FlowID, b.FlowID); c != 0 {
			return c
		}
		return cmp.Compare(a.Type, b.Type)
	})
	e.events = evs
	var ts flow.TableStats
	for _, w := range pl.workers {
		for k, v := range w.counter {
			e.counter[k] += v
		}
		for typ, n := range w.eventCounts {
			e.counter["events_"+typ] += n
		}
		if w.scanned > 0 {
			e.counter["leak_scanned_bytes"] += w.scanned
		}
		s := w.table.Stats
		ts.Flows += s.Flows
		ts.Evicted += s.Evicted
		ts.TimedOut += s.TimedOut
		ts.PeakFlows += s.PeakFlows
		ts.Retransmitted += s.Retransmitted
		ts.OutOfOrder += s.OutOfOrder
		ts.GapBytes += s.GapBytes
		ts.BufferDropped += s.BufferDropped
		ts.KeepAlives += s.KeepAlives
		ts.PeakBuffered += s.PeakBuffered
	}
	for _, gr := range pl.groups {
		e.inv.merge(gr.inv)
	}
	e.stats = ts
	if n := len(e.events); n > e.maxRecords {
		e.counter["events_dropped"] += uint64(n - e.maxRecords)
		e.events = e.events[:e.maxRecords]
	}
}

// merge folds another worker's inventory into inv.
func (inv *inventory) merge(o *inventory) {
	if len(inv.tab.strs) == 1 && len(inv.devs) == 0 && len(inv.pending) == 0 {
		inv.tab = o.tab // nothing to move: share the first inventory's strings
	}
	mergeSmallest(inv.macEv, o.macEv, func(a, b *macEvidence) *macEvidence { a.merge(b); return a })
	mergeSmallest(inv.onLink, o.onLink, func(a, _ struct{}) struct{} { return a })
	mergeSmallest(inv.ipMAC, o.ipMAC, func(a, b *[6]byte) *[6]byte {
		if cmpMAC(*b, *a) < 0 {
			return b
		}
		return a
	})
	if len(inv.pending) == 0 && inv.tab == o.tab {
		// What the loop below would make: o holds at most 2 × maxPending
		// pairs, which an empty inventory takes without a cut.
		inv.pending, o.pending = o.pending, inv.pending
	}
	pairs := make([]*pendingPair, 0, len(o.pending))
	for _, op := range o.pending {
		pairs = append(pairs, op)
	}
	if inv.tab != o.tab {
		// Each pair's rows are moved to inv's string table on its own,
		// through a translation made first (the only writes to inv's
		// table), on GOMAXPROCS goroutines.
		o.tab.moveTo(inv.tab).fill()
		inParallel(len(pairs), 1024, runtime.GOMAXPROCS(0), func(lo, hi int) {
			for _, op := range pairs[lo:hi] {
				op.retab(o.tab, inv.tab)
			}
		})
	}
	for _, op := range pairs {
		inv.mergePair(op)
	}
	inv.evicted = append(inv.evicted, o.evicted...)
	inv.folded = append(inv.folded, o.folded...)
	for mac, rec := range o.dhcpByMAC {
		if cur := inv.dhcpByMAC[mac]; cur != nil {
			inv.dhcpByMAC[mac] = mergeDHCP(cur, rec)
		} else {
			inv.dhcpByMAC[mac] = rec
		}
	}
	mergeNames(inv.mdnsByIP, o.mdnsByIP)
	mergeNames(inv.netbiosByIP, o.netbiosByIP)
	mergeNames(inv.protoByIP, o.protoByIP)
	inv.overflow += o.overflow
	if od := o.devs[otherDevices]; od != nil {
		inv.fileDev(od)
	}
	for key, od := range o.devs {
		if key != otherDevices {
			inv.fileDev(od)
		}
	}
	// Cut to the caps now, so that what is counted before the end (the
	// device-cap warning) is the same however the flows were sharded.
	inv.cutPending(maxPending)
	inv.cutDevs(maxDevices)
	// o's rows are inv's now: let them go with inv (the workers keep o).
	o.devs, o.pending, o.evicted, o.folded, o.tab = nil, nil, nil, nil, nil
}

// mergeNames keeps, per address, the alphabetically first name: the same
// whichever worker saw it first.
func mergeNames(dst, src map[netip.Addr]string) {
	for ip, n := range src {
		if cur, ok := dst[ip]; !ok || n < cur {
			dst[ip] = n
		}
	}
}

// flows counts the flows filed under the device.
func (d *devAgg) flows() int {
	n := d.dests.flows()
	for i := range d.parts {
		n += d.parts[i].flows()
	}
	return n
}

// merge adds device o (of any inventory) into d, its destination rows up
// to maxRows.
func (d *devAgg) merge(o *devAgg, maxRows int) {
	for ip := range o.ips {
		if d.ips == nil {
			d.ips = map[netip.Addr]bool{}
		}
		d.ips[ip] = true
	}
	if !o.d.FirstSeen.IsZero() && (d.d.FirstSeen.IsZero() || o.d.FirstSeen.Before(d.d.FirstSeen)) {
		d.d.FirstSeen = o.d.FirstSeen
	}
	if o.d.LastSeen.After(d.d.LastSeen) {
		d.d.LastSeen = o.d.LastSeen
	}
	switch {
	case maxRows == unbounded && d.tab == o.tab:
		// At the end: the rows are merged when the device is built
		// (aggregate), one device at a time, rather than copied now.
		d.parts = append(append(d.parts, o.dests), o.parts...)
	default:
		d.dests.merge(d.tab, &o.dests, o.tab, maxRows)
		for i := range o.parts {
			d.dests.merge(d.tab, &o.parts[i], o.tab, maxRows)
		}
	}
	for _, l := range o.leaks {
		d.addLeak(l)
	}
	for _, fi := range o.findings {
		d.addFinding(fi)
	}
	d.leaksDropped += o.leaksDropped
	d.findingsDropped += o.findingsDropped
	for _, ua := range o.uas {
		d.uas = addUA(d.uas, ua)
	}
}

// better orders candidate names of a destination: best source, then the
// earliest flow, then the alphabetically first name. It is a total order,
// so the result does not depend on the order flows end in.
func better(rank int, frame uint64, name string, curRank int, curFrame uint64, curName string) bool {
	if name == "" {
		return false
	}
	if rank != curRank {
		return rank < curRank
	}
	if frame != curFrame {
		return frame < curFrame
	}
	return name < curName
}
