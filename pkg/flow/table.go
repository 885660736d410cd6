// Package flow decodes frames down to the transport layer (pkg/flow's
// Decoder, on gopacket's layer decoders with IPv4/IPv6 defragmentation),
// keeps a bounded table of TCP, UDP and ICMP flows with per-direction
// counters, reassembles TCP into ordered byte streams per direction, and
// hands datagrams and stream bytes to a Handler. Time is capture time:
// idle flows expire by packet timestamps, never by the wall clock.
package flow

import (
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Key identifies a flow regardless of direction: A is the lower endpoint.
type Key struct {
	Proto uint8
	A, B  netip.AddrPort
}

// Tuple is a flow's key as the table's map holds it: the addresses'
// 16-byte forms with their families, and no pointers or padding, so the
// map hashes it in one pass over its 40 bytes (a Key's netip.Addr holds a
// pointer and is hashed field by field). Decoded addresses carry no zone,
// so the zone is left out. A packet's Tuple is the same in both
// directions; the engine's reader computes it once per packet (for the
// shard hash) and hands it to the worker's table with the packet
// (Table.AddTuple).
type Tuple struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
	fam    uint8  // family of A (low nibble) and B (high): 0 none, 1 IPv4, 2 IPv6
	pad    uint16 // always 0: keeps the struct free of padding
}

// family is 0 for the zero Addr, 1 for IPv4, 2 for IPv6: the order of
// Addr.BitLen, which Addr.Compare compares first.
func family(ip netip.Addr) uint8 {
	switch ip.BitLen() {
	case 32:
		return 1
	case 128:
		return 2
	}
	return 0
}

// tableKey returns k as the table's map holds it.
func (k Key) tableKey() Tuple {
	a, b := k.A.Addr(), k.B.Addr()
	return Tuple{a: a.As16(), b: b.As16(), pa: k.A.Port(), pb: k.B.Port(), proto: k.Proto, fam: family(a) | family(b)<<4}
}

// Tuple returns the packet's flow key, the lower endpoint first as in
// keyOf (Addr.Compare's order: family, address, then port), and whether
// the packet's source is the second endpoint.
func (p *Packet) Tuple() (Tuple, bool) {
	sp, dp := p.SrcPort, p.DstPort
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		sp, dp = 0, 0
	}
	k := Tuple{a: p.Src.As16(), b: p.Dst.As16(), pa: sp, pb: dp, proto: p.Proto}
	sf, df := family(p.Src), family(p.Dst)
	swapped := before(df, &k.b, dp, sf, &k.a, sp)
	if swapped {
		k.a, k.b, k.pa, k.pb, sf, df = k.b, k.a, dp, sp, df, sf
	}
	k.fam = sf | df<<4
	return k, swapped
}

// tableKeyOf returns the packet's map key.
func tableKeyOf(p *Packet) Tuple {
	k, _ := p.Tuple()
	return k
}

// Addrs returns the tuple's two addresses, the lower endpoint first
// (without a zone, as the tuple holds them).
func (k *Tuple) Addrs() (a, b netip.Addr) {
	return tupleAddr(&k.a, k.fam&0xf), tupleAddr(&k.b, k.fam>>4)
}

func tupleAddr(b *[16]byte, fam uint8) netip.Addr {
	switch fam {
	case 1:
		return netip.AddrFrom4([4]byte(b[12:16]))
	case 2:
		return netip.AddrFrom16(*b)
	}
	return netip.Addr{}
}

// before says whether endpoint a comes before endpoint b as
// netip.AddrPort.Compare orders addresses without a zone.
func before(af uint8, a *[16]byte, ap uint16, bf uint8, b *[16]byte, bp uint16) bool {
	if af != bf {
		return af < bf
	}
	be := binary.BigEndian
	if x, y := be.Uint64(a[:8]), be.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := be.Uint64(a[8:]), be.Uint64(b[8:]); x != y {
		return x < y
	}
	return ap < bp
}

// State says how a flow ended (or that it has not).
type State uint8

const (
	Open    State = iota // still active at the end of the capture
	Closed               // FIN seen both ways
	Reset                // RST seen
	Timeout              // idle longer than the timeout
	Evicted              // pushed out because the table was full
)

var stateNames = [...]string{"open", "closed", "reset", "timeout", "evicted"}

func (s State) String() string { return stateNames[s] }

// Flow is one conversation. Counters are indexed by proto.Dir.
type Flow struct {
	ID     uint64 // 1-based, in order of creation
	Key    Key
	Client netip.AddrPort
	Server netip.AddrPort
	// MAC addresses of the client and server side as seen on the link
	// (the server's is usually the gateway's).
	ClientMAC, ServerMAC [6]byte
	HasMAC               bool

	Packets [2]uint64
	Bytes   [2]uint64 // frame bytes on the wire
	Payload [2]uint64 // transport payload bytes (claimed by the headers)

	FirstFrame, LastFrame uint64
	First, Last           time.Time
	State                 State
	GapBytes              uint64 // TCP bytes never captured (both directions)

	// User is for the Handler's per-flow state.
	User any

	tcp        *tcpConn
	prev, next *Flow
	active     time.Time // capture time of the last packet, never backwards
	list       uint8     // which activity list the flow is on
	finMask    uint8     // bit per direction that sent FIN
	baseSeq    [2]uint32
	seqSet     [2]bool
}

// Transport is "tcp", "udp", "icmp" or "icmpv6".
func (f *Flow) Transport() string {
	switch f.Key.Proto {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return "ip"
}

// Handler receives what the table finds. Calls for one flow come in capture
// order; data slices are valid only during the call.
type Handler interface {
	// Start is called once when a flow is created, with its first packet.
	Start(f *Flow, p *Packet)
	// Datagram is called for every UDP or ICMP packet, and for TCP packets
	// before reassembly (payload may be empty).
	Datagram(f *Flow, dir proto.Dir, p *Packet)
	// Stream delivers in-order TCP bytes of one direction.
	Stream(f *Flow, dir proto.Dir, data []byte, m proto.Meta)
	// Gap reports n TCP bytes that were never captured.
	Gap(f *Flow, dir proto.Dir, n int, m proto.Meta)
	// End is called once when the flow leaves the table; f.State says why.
	End(f *Flow)
}

// Config bounds the table. Zero values take the defaults below.
type Config struct {
	MaxFlows       int           // live flows; the least recently active is evicted beyond it
	IdleTimeout    time.Duration // TCP flows idle this long (capture time) end as Timeout
	UDPIdleTimeout time.Duration // the same for UDP and ICMP flows
	ClosedLinger   time.Duration // closed/reset TCP flows stay this long for stragglers
	MaxFlowBuffer  int           // out-of-order bytes buffered per TCP direction
	MaxTotalBuffer int64         // out-of-order bytes buffered in all flows together
	// ReuseFlows lets the table reuse the memory of ended flows for new
	// ones: the Handler must keep no *Flow (nor anything pointing to one)
	// after its End returns.
	ReuseFlows bool
}

// Defaults for Config.
const (
	DefaultMaxFlows       = 200_000
	DefaultIdleTimeout    = 10 * time.Minute
	DefaultUDPIdleTimeout = 2 * time.Minute
	DefaultClosedLinger   = 2 * time.Minute
	DefaultMaxFlowBuffer  = 1 << 20
	DefaultMaxTotalBuffer = 256 << 20
)

func (c *Config) fill() {
	if c.MaxFlows <= 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.UDPIdleTimeout <= 0 {
		c.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if c.ClosedLinger <= 0 {
		c.ClosedLinger = DefaultClosedLinger
	}
	if c.MaxFlowBuffer <= 0 {
		c.MaxFlowBuffer = DefaultMaxFlowBuffer
	}
	if c.MaxTotalBuffer <= 0 {
		c.MaxTotalBuffer = DefaultMaxTotalBuffer
	}
}

// TableStats counts what the table did.
type TableStats struct {
	Flows         uint64 // flows created
	Evicted       uint64 // flows ended because the table was full
	TimedOut      uint64
	PeakFlows     int
	Retransmitted uint64 // TCP segments whose bytes were all seen before
	OutOfOrder    uint64 // TCP segments buffered ahead of a hole
	GapBytes      uint64 // TCP bytes never seen
	BufferDropped uint64 // times a buffer cap forced a gap
	KeepAlives    uint64 // keep-alive probes skipped at the start of a mid-stream capture
	PeakBuffered  int64
}

// Table is the flow table. It is not safe for concurrent use.
type Table struct {
	cfg   Config
	h     Handler
	flows flowIndex // the live flows by tuple
	// Two lists ordered by last activity (least recent first): open flows
	// (expire after IdleTimeout) and closed ones (after ClosedLinger), so
	// that expiry stops at the first flow still live in each.
	head, tail [3]*Flow
	nextID     uint64
	now        time.Time
	lastScan   time.Time
	buffered   int64
	free       []*Flow    // ended flows to reuse (Config.ReuseFlows)
	freeTCP    []*tcpConn // their TCP state
	Stats      TableStats
}

// maxFreeFlows bounds Table.free: the flows one expiry scan ends are
// reused by the flows created before the next.
const maxFreeFlows = 256

// NewTable returns an empty table that reports to h.
func NewTable(cfg Config, h Handler) *Table {
	cfg.fill()
	return &Table{cfg: cfg, h: h}
}

// Len is the number of live flows.
func (t *Table) Len() int { return t.flows.len() }

func keyOf(p *Packet) (Key, bool) {
	a := netip.AddrPortFrom(p.Src, p.SrcPort)
	b := netip.AddrPortFrom(p.Dst, p.DstPort)
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		a = netip.AddrPortFrom(p.Src, 0)
		b = netip.AddrPortFrom(p.Dst, 0)
	}
	if a.Compare(b) <= 0 {
		return Key{Proto: p.Proto, A: a, B: b}, true
	}
	return Key{Proto: p.Proto, A: b, B: a}, false
}

// Add accounts one packet and passes its data on.
func (t *Table) Add(p *Packet) {
	tk := tableKeyOf(p)
	t.AddTuple(p, &tk)
}

// AddTuple is Add for a packet whose Tuple the caller has computed: k
// must be the packet's (Packet.Tuple).
func (t *Table) AddTuple(p *Packet, k *Tuple) {
	if p.Time.After(t.now) {
		t.now = p.Time
	}
	if t.lastScan.IsZero() || elapsed(t.now, t.lastScan) >= time.Second {
		t.expire()
		t.lastScan = t.now
	}
	f := t.flows.get(k)
	if f != nil && p.Proto == ProtoTCP && p.Flags&(FlagSYN|FlagACK) == FlagSYN && f.reusedBy(p) {
		t.end(f, f.endState())
		f = nil
	}
	if f != nil && !f.active.IsZero() {
		// Idle past the timeout (or the linger of a closed flow): a new
		// flow, whenever the periodic scan last ran, so results do not
		// depend on when it ran.
		if elapsed(t.now, f.active) >= t.idleLimit(f) {
			if f.State == Open {
				t.Stats.TimedOut++
				t.end(f, Timeout)
			} else {
				t.end(f, f.State)
			}
			f = nil
		}
	}
	if f == nil {
		f = t.create(k, p)
	} else {
		t.touch(f)
	}
	dir := proto.ToServer
	if p.Src != f.Client.Addr() || (p.Proto != ProtoICMP && p.Proto != ProtoICMPv6 && p.SrcPort != f.Client.Port()) {
		dir = proto.ToClient
	}
	f.Packets[dir]++
	f.Bytes[dir] += uint64(p.WireLen)
	f.Payload[dir] += uint64(p.Claimed)
	f.Last = p.Time
	f.active = t.now
	f.LastFrame = p.Frame
	if p.HasMAC && !f.HasMAC {
		f.HasMAC = true
		if dir == proto.ToServer {
			f.ClientMAC, f.ServerMAC = p.SrcMAC, p.DstMAC
		} else {
			f.ClientMAC, f.ServerMAC = p.DstMAC, p.SrcMAC
		}
	}
	t.h.Datagram(f, dir, p)
	if p.Proto == ProtoTCP {
		if !f.seqSet[dir] {
			f.seqSet[dir], f.baseSeq[dir] = true, p.Seq
		}
		t.tcpSegment(f, dir, p)
		t.relist(f) // FIN or RST may have closed it
	}
}

// elapsed is now.Sub(then) without time.Time.Sub's overflow round trip,
// which shows on the per-packet path; it saturates beyond ±292 years.
func elapsed(now, then time.Time) time.Duration {
	const maxSec = math.MaxInt64/int64(time.Second) - 1
	s := now.Unix() - then.Unix()
	switch {
	case s > maxSec:
		return math.MaxInt64
	case s < -maxSec:
		return math.MinInt64
	}
	return time.Duration(s)*time.Second + time.Duration(now.Nanosecond()-then.Nanosecond())
}

// reusedBy reports whether a SYN starts a new connection on the same
// 5-tuple (port reuse) rather than repeating the first one: its sequence
// number differs from the first one that side used (tshark's rule too).
func (f *Flow) reusedBy(p *Packet) bool {
	dir := 0
	if p.Src != f.Client.Addr() || p.SrcPort != f.Client.Port() {
		dir = 1
	}
	return f.seqSet[dir] && p.Seq != f.baseSeq[dir]
}

func (f *Flow) endState() State {
	if f.State != Open {
		return f.State
	}
	return Closed
}

func (t *Table) create(tk *Tuple, p *Packet) *Flow {
	if t.flows.len() >= t.cfg.MaxFlows {
		victim := t.head[listClosed] // closed flows go first
		for _, l := range []int{listOpenOther, listOpen} {
			if victim == nil {
				victim = t.head[l]
			}
		}
		if victim != nil {
			t.Stats.Evicted++
			t.end(victim, Evicted)
		}
	}
	t.nextID++
	k, _ := keyOf(p)
	var f *Flow
	if n := len(t.free); n > 0 {
		f, t.free[n-1] = t.free[n-1], nil
		t.free = t.free[:n-1]
		*f = Flow{ID: t.nextID, Key: k, FirstFrame: p.Frame, First: p.Time, active: t.now}
	} else {
		f = &Flow{ID: t.nextID, Key: k, FirstFrame: p.Frame, First: p.Time, active: t.now}
	}
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		src, dst = netip.AddrPortFrom(p.Src, 0), netip.AddrPortFrom(p.Dst, 0)
	}
	if srcIsClient(p) {
		f.Client, f.Server = src, dst
	} else {
		f.Client, f.Server = dst, src
	}
	t.flows.put(tk, f)
	t.Stats.Flows++
	if n := t.flows.len(); n > t.Stats.PeakFlows {
		t.Stats.PeakFlows = n
	}
	t.pushBack(f)
	t.h.Start(f, p)
	return f
}

// wellKnown are server ports above 1023 that identify the server side.
var wellKnown = map[uint16]bool{
	1194: true, 1883: true, 1900: true, 3478: true, 3479: true, 3544: true, 4500: true, 5060: true,
	5061: true, 5222: true, 5223: true, 5228: true, 5349: true, 5353: true, 5355: true, 5683: true,
	8000: true, 8008: true, 8080: true, 8443: true, 8883: true, 8888: true, 9000: true, 19302: true,
}

// srcIsClient decides which side opened the flow from its first packet:
// the SYN sender for TCP, else the side whose port is not a service port.
func srcIsClient(p *Packet) bool {
	if p.Proto == ProtoTCP {
		switch p.Flags & (FlagSYN | FlagACK) {
		case FlagSYN:
			return true
		case FlagSYN | FlagACK:
			return false
		}
	}
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		// Replies (echo reply 0/129, errors) come from the server side.
		typ := uint8(p.SrcPort >> 8)
		return !(typ == 0 || typ == 129 || typ == 3 || typ == 11 || typ == 1)
	}
	sp, dp := p.SrcPort, p.DstPort
	if p.Proto == ProtoUDP && (sp == 67 || sp == 547) {
		return false
	}
	if p.Proto == ProtoUDP && (dp == 67 || dp == 547) {
		return true
	}
	sw, dw := sp < 1024 || wellKnown[sp], dp < 1024 || wellKnown[dp]
	switch {
	case dw && !sw:
		return true
	case sw && !dw:
		return false
	case sw && dw && sp != dp:
		return dp < sp
	}
	return true
}

const (
	listOpen      = 0 // open TCP flows
	listClosed    = 1 // closed or reset TCP flows
	listOpenOther = 2 // UDP and ICMP flows
)

func listOf(f *Flow) int {
	switch {
	case f.State != Open:
		return listClosed
	case f.Key.Proto != ProtoTCP:
		return listOpenOther
	}
	return listOpen
}

// idleLimit is how long f may stay idle before it ends.
func (t *Table) idleLimit(f *Flow) time.Duration {
	switch listOf(f) {
	case listClosed:
		return t.cfg.ClosedLinger
	case listOpenOther:
		return t.cfg.UDPIdleTimeout
	}
	return t.cfg.IdleTimeout
}

func (t *Table) pushBack(f *Flow) {
	l := listOf(f)
	f.list = uint8(l)
	f.prev, f.next = t.tail[l], nil
	if t.tail[l] != nil {
		t.tail[l].next = f
	} else {
		t.head[l] = f
	}
	t.tail[l] = f
}

func (t *Table) unlink(f *Flow) {
	l := f.list
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.head[l] = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		t.tail[l] = f.prev
	}
	f.prev, f.next = nil, nil
}

// touch moves f to the end of its list (the list of its state).
func (t *Table) touch(f *Flow) {
	if t.tail[f.list] == f && int(f.list) == listOf(f) {
		return
	}
	t.unlink(f)
	t.pushBack(f)
}

// relist moves a flow whose state changed (closed, reset) to its list.
func (t *Table) relist(f *Flow) {
	if int(f.list) != listOf(f) {
		if tk := f.Key.tableKey(); t.flows.get(&tk) == f {
			t.unlink(f)
			t.pushBack(f)
		}
	}
}

// expire ends flows idle past their timeout. Each list is ordered by last
// activity, so it stops at the first flow still live.
func (t *Table) expire() {
	for l, limit := range [3]time.Duration{t.cfg.IdleTimeout, t.cfg.ClosedLinger, t.cfg.UDPIdleTimeout} {
		for f := t.head[l]; f != nil; {
			next := f.next
			if f.active.IsZero() {
				f.active = t.now // packets without a timestamp (pcapng SPB)
			}
			if elapsed(t.now, f.active) < limit {
				break
			}
			if f.State == Open {
				t.Stats.TimedOut++
				t.end(f, Timeout)
			} else {
				t.end(f, f.State)
			}
			f = next
		}
	}
}

func (t *Table) end(f *Flow, s State) {
	tk := f.Key.tableKey()
	if t.flows.get(&tk) != f {
		return
	}
	if f.tcp != nil {
		t.flushTCP(f)
	}
	f.State = s
	t.flows.remove(&tk, f)
	t.unlink(f)
	t.h.End(f)
	if t.cfg.ReuseFlows && len(t.free) < maxFreeFlows {
		if c := f.tcp; c != nil {
			*c = tcpConn{}
			t.freeTCP = append(t.freeTCP, c)
		}
		*f = Flow{}
		t.free = append(t.free, f)
	}
}

// FlushAt ends every live flow at the end of the capture, whose last
// timestamp is end: flows idle past their timeout by then end as Timeout,
// the rest as they are (Open, or Closed/Reset).
func (t *Table) FlushAt(end time.Time) {
	if end.After(t.now) {
		t.now = end
	}
	t.expire()
	t.Flush()
}

// Flush ends every live flow (state Open unless already closed), in order
// of creation. Call it at the end of the capture.
func (t *Table) Flush() {
	live := make([]*Flow, 0, t.flows.len())
	for f := t.head[listOpen]; f != nil; f = f.next {
		live = append(live, f)
	}
	for f := t.head[listClosed]; f != nil; f = f.next {
		live = append(live, f)
	}
	for f := t.head[listOpenOther]; f != nil; f = f.next {
		live = append(live, f)
	}
	// Sort by ID for deterministic End order.
	slices.SortFunc(live, func(a, b *Flow) int { return cmp.Compare(a.ID, b.ID) })
	for _, f := range live {
		s := f.State
		t.end(f, s)
	}
}

// Buffered is the number of out-of-order TCP bytes held right now.
func (t *Table) Buffered() int64 { return t.buffered }

// Hash is a symmetric hash of the packet's flow key: both directions of a
// flow hash alike. It is stable across runs and machines, for sharding
// flows over workers.
func (p *Packet) Hash() uint64 {
	k := tableKeyOf(p)
	return k.Hash()
}

// Hash is Packet.Hash of the packets whose Tuple k is.
func (k *Tuple) Hash() uint64 {
	le := binary.LittleEndian
	h := uint64(k.proto)<<32 | uint64(k.pa)<<16 | uint64(k.pb)
	for _, w := range [4]uint64{le.Uint64(k.a[:8]), le.Uint64(k.a[8:]), le.Uint64(k.b[:8]), le.Uint64(k.b[8:])} {
		h = mix64(h ^ w)
	}
	return h
}

// mix64 is the splitmix64 finaliser: every input bit affects every output
// bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
