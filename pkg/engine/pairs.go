package engine

import (
	"bytes"
	"cmp"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
)

// Pending pairs. A flow whose client is not local by the fixed ranges is
// filed under the pair of its two hosts until the end, when what was learnt
// (LAN prefixes, the gateway) says which host is the device. A pair keeps
// one compact record: its times, the destination rows of each side
// (destSet, without pointers), and the leaks, findings and User-Agents of
// its flows once; the device aggregate of the chosen side is made at the
// end (pairSide).

// pairKey is the two hosts of a pending pair, without pointers.
type pairKey struct {
	c, s       [16]byte
	cMAC, sMAC [6]byte
	c4, s4     bool
	cHas, sHas bool
}

func pairKeyOf(f *flow.Flow) pairKey {
	c, s := f.Client.Addr(), f.Server.Addr()
	k := pairKey{c: c.As16(), s: s.As16(), c4: c.Is4(), s4: s.Is4()}
	if f.HasMAC {
		k.cMAC, k.sMAC = f.ClientMAC, f.ServerMAC
		k.cHas, k.sHas = usableMAC(k.cMAC), usableMAC(k.sMAC)
	}
	return k
}

func addrOf(b [16]byte, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}

func (k *pairKey) client() netip.Addr { return addrOf(k.c, k.c4) }
func (k *pairKey) server() netip.Addr { return addrOf(k.s, k.s4) }

// id is the provisional device id of the pair's flow records.
func (k *pairKey) id() string {
	c, s := k.client(), k.server()
	return "pair:" + hostKey(k.cHas, k.cMAC, c) + "/" + c.String() + ">" + hostKey(k.sHas, k.sMAC, s) + "/" + s.String()
}

// cmpPairKey orders pairs for the pending cap (the smallest are kept).
func cmpPairKey(a, b pairKey) int {
	if c := bytes.Compare(a.c[:], b.c[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.s[:], b.s[:]); c != 0 {
		return c
	}
	if c := cmpMAC(a.cMAC, b.cMAC); c != 0 {
		return c
	}
	if c := cmpMAC(a.sMAC, b.sMAC); c != 0 {
		return c
	}
	flags := func(k pairKey) int {
		n := 0
		for i, b := range [4]bool{k.c4, k.s4, k.cHas, k.sHas} {
			if b {
				n |= 1 << i
			}
		}
		return n
	}
	return cmp.Compare(flags(a), flags(b))
}

type pendingPair struct {
	key         pairKey
	first, last stamp
	// rows are the pair's rows by both ports (most pairs have one per
	// flow, fewer than either side's rows together); past 2 × maxDests
	// of them the pair keeps the rows of each side instead (sides).
	rows  []pairRow
	idx   map[pairRowKey]int32 // index of rows, past smallSet of them
	sides *pairSides
	x     *pairExtra // leaks, findings, User-Agents; nil for most pairs
}

// pairSides are the rows as if the client were the device, and as if the
// server were.
type pairSides struct{ asClient, asServer destSet }

type pairRowKey struct {
	cPort, sPort uint16
	tr, name     uint32
}

// pairRow counts flows as the client sees them (up is proto.ToServer).
type pairRow struct {
	k         pairRowKey
	dec       uint32 // decryption counts (strtab.decID)
	plainDown uint64 // bytes to the client on plaintext channels
	r         destRow
}

// pairExtra holds the rows of a pair's leaks and findings once, with the
// destination as the client side sees it and the client's port for the
// other side.
type pairExtra struct {
	leaks                         []pairLeak
	leakIdx                       map[pairLeakKey]int // past smallSet leaks
	findings                      []pairFinding
	findingIdx                    map[pairFindingKey]int32 // past smallSet findings
	full                          []audit.Finding          // findings a pairFinding cannot hold
	uas                           []string
	leaksDropped, findingsDropped uint64
	// Protocols without a bit, of rows.
	more map[pairRowKey][]string
}

type pairLeak struct {
	l     audit.Leak
	cPort uint16
}

type pairLeakKey struct {
	identifier, value, encoding, location string
	cPort, sPort                          uint16
}

func (pl *pairLeak) key() pairLeakKey {
	return pairLeakKey{pl.l.Identifier, pl.l.Value, pl.l.Encoding, pl.l.Location, pl.cPort, pl.l.Dest.Port}
}

// pairFinding is a finding of a pending pair without pointers: its strings
// are ids in the inventory's string table, and the destination's address
// is the pair's server. A finding that does not fit (another address, a
// destination with more fields set) is kept whole in pairExtra.full, at
// index full-1.
type pairFinding struct {
	k                      pairFindingKey
	frame                  uint64
	time                   stamp
	count                  int
	name, nameSrc, channel uint32
	full                   uint32
}

// pairFindingKey is the row of a pair's finding: the same severity, kind,
// message and transport between the same two ports.
type pairFindingKey struct {
	kind, message, tr uint32
	cPort, sPort      uint16
	severity          audit.Severity
}

func (pp *pendingPair) extra() *pairExtra {
	if pp.x == nil {
		pp.x = &pairExtra{}
	}
	return pp.x
}

func (x *pairExtra) addLeak(l audit.Leak, cPort uint16) {
	k := pairLeakKey{l.Identifier, l.Value, l.Encoding, l.Location, cPort, l.Dest.Port}
	if i := x.findLeak(k); i >= 0 {
		foldLeak(&x.leaks[i].l, l)
		return
	}
	if len(x.leaks) >= maxDeviceRows {
		x.leaksDropped += uint64(max(l.Count, 1))
		return
	}
	x.leaks = append(x.leaks, pairLeak{l, cPort})
	switch {
	case x.leakIdx != nil:
		x.leakIdx[k] = len(x.leaks) - 1
	case len(x.leaks) > smallSet:
		x.leakIdx = make(map[pairLeakKey]int, len(x.leaks))
		for i := range x.leaks {
			x.leakIdx[x.leaks[i].key()] = i
		}
	}
}

func (x *pairExtra) findLeak(k pairLeakKey) int {
	if x.leakIdx != nil {
		if i, ok := x.leakIdx[k]; ok {
			return i
		}
		return -1
	}
	for i := range x.leaks {
		if x.leaks[i].key() == k {
			return i
		}
	}
	return -1
}

// addFinding files finding fi of a flow from client port cPort (fi.Dest
// as the client side sees it; pk is the pair, t its string table).
func (x *pairExtra) addFinding(t *strtab, pk *pairKey, fi audit.Finding, cPort uint16) {
	fi.Count = max(fi.Count, 1)
	k := pairFindingKey{kind: t.id(fi.Kind), message: t.id(fi.Message), tr: t.id(fi.Dest.Transport),
		cPort: cPort, sPort: fi.Dest.Port, severity: fi.Severity}
	c := pairFinding{k: k, frame: fi.Frame, time: stampOf(fi.Time), count: fi.Count,
		name: t.id(fi.Dest.Name), nameSrc: t.id(fi.Dest.NameSource), channel: t.id(fi.Dest.Channel)}
	fits := c.finding(t, pk) == fi
	if i := x.findFinding(k); i >= 0 {
		o := &x.findings[i]
		if o.full == 0 && fits {
			o.count += c.count
			if c.frame < o.frame {
				o.frame, o.time, o.name, o.nameSrc, o.channel = c.frame, c.time, c.name, c.nameSrc, c.channel
			}
			return
		}
		if o.full == 0 {
			x.full = append(x.full, o.finding(t, pk))
			o.full = uint32(len(x.full))
		}
		foldFinding(&x.full[o.full-1], fi)
		return
	}
	if len(x.findings) >= maxDeviceRows {
		x.findingsDropped += uint64(fi.Count)
		return
	}
	if !fits {
		x.full = append(x.full, fi)
		c.full = uint32(len(x.full))
	}
	x.findings = append(x.findings, c)
	switch {
	case x.findingIdx != nil:
		x.findingIdx[k] = int32(len(x.findings) - 1)
	case len(x.findings) > smallSet:
		x.findingIdx = make(map[pairFindingKey]int32, len(x.findings))
		for i := range x.findings {
			x.findingIdx[x.findings[i].k] = int32(i)
		}
	}
}

func (x *pairExtra) findFinding(k pairFindingKey) int {
	if x.findingIdx != nil {
		if i, ok := x.findingIdx[k]; ok {
			return int(i)
		}
		return -1
	}
	for i := range x.findings {
		if x.findings[i].k == k {
			return i
		}
	}
	return -1
}

// finding is the audit.Finding of row c of pair pk (string table t), as
// the client side sees it.
func (c *pairFinding) finding(t *strtab, pk *pairKey) audit.Finding {
	return c.findingTo(t, pk.server().String())
}

// findingTo is the audit.Finding of row c, its destination's address ip
// (the pair's server's, as a string).
func (c *pairFinding) findingTo(t *strtab, ip string) audit.Finding {
	return audit.Finding{Severity: c.k.severity, Kind: t.str(c.k.kind), Message: t.str(c.k.message),
		Dest: audit.Dest{Name: t.str(c.name), NameSource: t.str(c.nameSrc), IP: ip, Port: c.k.sPort,
			Transport: t.str(c.k.tr), Channel: t.str(c.channel)},
		Frame: c.frame, Time: c.time.time(), Count: c.count}
}

// findingAt is finding i of the pair as the client side sees it, its
// destination's address ip (the pair's server's, as a string) unless the
// row is kept whole.
func (x *pairExtra) findingAt(t *strtab, ip string, i int) audit.Finding {
	c := &x.findings[i]
	if c.full != 0 {
		return x.full[c.full-1]
	}
	return c.findingTo(t, ip)
}

// merge adds the rows of o (of the same pair, the same string table).
func (x *pairExtra) merge(t *strtab, pk *pairKey, o *pairExtra) {
	for _, l := range o.leaks {
		x.addLeak(l.l, l.cPort)
	}
	if len(o.findings) > 0 {
		ip := pk.server().String()
		for i := range o.findings {
			x.addFinding(t, pk, o.findingAt(t, ip, i), o.findings[i].k.cPort)
		}
	}
	x.leaksDropped += o.leaksDropped
	x.findingsDropped += o.findingsDropped
	for _, ua := range o.uas {
		x.uas = addUA(x.uas, ua)
	}
}

// retabFindings moves the findings' string ids from table from to table
// to, in place.
func (x *pairExtra) retabFindings(m *moveTab) {
	for i := range x.findings {
		c := &x.findings[i]
		c.k.kind, c.k.message, c.k.tr = m.id(c.k.kind), m.id(c.k.message), m.id(c.k.tr)
		c.name, c.nameSrc, c.channel = m.id(c.name), m.id(c.nameSrc), m.id(c.channel)
	}
	if x.findingIdx != nil {
		x.findingIdx = make(map[pairFindingKey]int32, len(x.findings))
		for i := range x.findings {
			x.findingIdx[x.findings[i].k] = int32(i)
		}
	}
}

// pending returns the pending pair of k, made if there is room, or nil
// when k is past the cap (its flows are then filed by the fixed ranges).
// Past maxPending pairs the inventory keeps the smallest keys: the pairs
// cut are resolved at once by the fixed ranges (evictPair), so that which
// pairs wait for the end is the same whatever the number of goroutines.
func (inv *inventory) pendingOf(k pairKey) *pendingPair {
	if pp := inv.pending[k]; pp != nil {
		return pp
	}
	if !inv.pendingRoom(k) {
		return nil
	}
	pp := &pendingPair{key: k}
	inv.pending[k] = pp
	return pp
}

func (inv *inventory) pendingRoom(k pairKey) bool {
	if len(inv.pending) >= 2*maxPending {
		inv.cutPending(maxPending)
	}
	return !inv.pendingFull || cmpPairKey(k, inv.pendingMax) <= 0
}

// cutPending keeps the n smallest pending pairs and resolves the others by
// the fixed ranges.
func (inv *inventory) cutPending(n int) {
	if len(inv.pending) <= n {
		return
	}
	keys := make([]pairKey, 0, len(inv.pending))
	for k := range inv.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpPairKey)
	for _, k := range keys[n:] {
		inv.evictPair(inv.pending[k])
		delete(inv.pending, k)
	}
	inv.pendingFull, inv.pendingMax = true, keys[n-1]
}

// evictPair files a pair past the cap as its flows would have been: by the
// fixed ranges.
func (inv *inventory) evictPair(pp *pendingPair) {
	clientSide := inv.local(pp.key.client()) || !inv.local(pp.key.server())
	inv.evicted = append(inv.evicted, evictedPair{pp.key, clientSide})
	ms := inv.madeSide(pp, clientSide, pp.side(inv.tab, clientSide))
	inv.fileDev(inv.pairSide(pp, &ms, clientSide))
}

type evictedPair struct {
	key        pairKey
	clientSide bool
}

// addPairFlow files a flow both ways under its pending pair.
func (inv *inventory) addPairFlow(pp *pendingPair, f *flow.Flow, ff *flowFacts, s *session) {
	t := inv.tab
	pp.first, pp.last = earliestDev(pp.first, ff.first), latest(pp.last, ff.last)
	sk := destKeyOf(f.Server, ff.tr, ff.name)
	if pp.sides != nil {
		pp.sides.asClient.addFlow(t, sk, ff, 0, maxDests)
		pp.sides.asServer.addFlow(t, destKeyOf(f.Client, ff.tr, ff.name), ff, 1, maxDests)
	} else {
		k := pairRowKey{f.Client.Port(), f.Server.Port(), ff.tr, ff.name}
		r := pp.row(k)
		r.r.add(t, ff, 0, true)
		if ff.plain {
			r.plainDown += ff.bytes[1]
		}
		if ff.dec {
			r.dec = t.addDec(r.dec, s)
		}
		if ff.protoBit == 0 && ff.protocol != "" {
			x := pp.extra()
			if x.more == nil {
				x.more = map[pairRowKey][]string{}
			}
			x.more[k] = addString(x.more[k], ff.protocol)
		}
		if len(pp.rows) >= 2*maxDests {
			pp.split(t)
		}
	}
	if len(s.uas) > 0 {
		x := pp.extra()
		for _, ua := range s.uas {
			x.uas = addUA(x.uas, ua)
		}
	}
	if len(s.leaks) == 0 && len(s.findings) == 0 {
		return
	}
	dest := destOf(sk, t, t.str(ff.nameSrc), ff.channel)
	leaks, behaviour := leak.FlowBehaviour(s.leaks, dest)
	x := pp.extra()
	cPort := f.Client.Port()
	for _, l := range leaks {
		l.Dest = dest
		x.addLeak(l, cPort)
	}
	for _, fis := range [2][]audit.Finding{s.findings, behaviour} { // not append(s.findings, ...): the session's array is reused (release)
		for _, fi := range fis {
			fi.Dest = dest
			x.addFinding(t, &pp.key, fi, cPort)
		}
	}
}

// row returns the row of k, made if needed.
func (pp *pendingPair) row(k pairRowKey) *pairRow {
	if pp.idx != nil {
		if i, ok := pp.idx[k]; ok {
			return &pp.rows[i]
		}
	} else {
		for i := range pp.rows {
			if pp.rows[i].k == k {
				return &pp.rows[i]
			}
		}
	}
	if n := len(pp.rows); n == cap(pp.rows) {
		// Most pairs keep a few rows: double up to 16 (growing them one
		// at a time made most of the rows' allocation, real-1G: 80 of 99
		// MB, for 1.6 MB less slack), then grow by a quarter, not by
		// doubling.
		step := max(1, n/4)
		if n < 16 {
			step = max(1, n)
		}
		pp.rows = growRows(pp.rows, step)
	}
	pp.rows = append(pp.rows, pairRow{k: k, r: destRow{nameRank: unranked}})
	if pp.idx != nil {
		pp.idx[k] = int32(len(pp.rows) - 1)
	} else if len(pp.rows) > smallSet {
		pp.idx = make(map[pairRowKey]int32, len(pp.rows))
		for i := range pp.rows {
			pp.idx[pp.rows[i].k] = int32(i)
		}
	}
	return &pp.rows[len(pp.rows)-1]
}

// growRows returns rows with room for n more.
func growRows(rows []pairRow, n int) []pairRow {
	if cap(rows)-len(rows) >= n {
		return rows
	}
	return append(make([]pairRow, 0, len(rows)+n), rows...)
}

// side makes the rows of one side from the pair's rows (or returns them,
// once the pair keeps its sides).
func (pp *pendingPair) side(t *strtab, clientSide bool) *destSet {
	if pp.sides != nil {
		if clientSide {
			return &pp.sides.asClient
		}
		return &pp.sides.asServer
	}
	set := &destSet{}
	c, s := pp.key.client(), pp.key.server()
	var more map[pairRowKey][]string
	if pp.x != nil {
		more = pp.x.more
	}
	for i := range pp.rows {
		pr := &pp.rows[i]
		r := pr.r
		ep := netip.AddrPortFrom(s, pr.k.sPort)
		if !clientSide {
			ep = netip.AddrPortFrom(c, pr.k.cPort)
			r.pkts[0], r.pkts[1] = r.pkts[1], r.pkts[0]
			r.bytes[0], r.bytes[1] = r.bytes[1], r.bytes[0]
			r.plainUp = pr.plainDown
		}
		set.mergeRow(t, destKeyOf(ep, pr.k.tr, pr.k.name), &r, t.dec(pr.dec), more[pr.k], maxDests)
	}
	return set
}

// split makes the pair keep its sides' rows rather than its own.
func (pp *pendingPair) split(t *strtab) {
	sides := &pairSides{asClient: *pp.side(t, true), asServer: *pp.side(t, false)}
	pp.sides, pp.rows, pp.idx = sides, nil, nil
	if pp.x != nil {
		pp.x.more = nil
	}
}

// flows counts the pair's flows.
func (pp *pendingPair) flows() int {
	if pp.sides != nil {
		return pp.sides.asClient.flows()
	}
	n := 0
	for i := range pp.rows {
		n += pp.rows[i].r.flows
	}
	return n
}

// earliestDev is a device's first-seen time: as earliest, except that a
// zero time is replaced by whatever comes.
func earliestDev(cur, t stamp) stamp {
	if cur == (stamp{}) {
		return t
	}
	return earliest(cur, t)
}

// pairSideKey is the device key of one side of a pair.
func pairSideKey(pp *pendingPair, clientSide bool) string {
	if clientSide {
		return hostKey(pp.key.cHas, pp.key.cMAC, pp.key.client())
	}
	return hostKey(pp.key.sHas, pp.key.sMAC, pp.key.server())
}

// madeSide is what a pair's side is filed with (resolve makes it on the
// goroutines making the sides, ahead of the filing): the rows of the side,
// its device key and address, the pair's number of flows, and the address
// its leaks and findings went to as the side sees it.
type madeSide struct {
	set    *destSet
	key    string
	flows  int
	addr   netip.Addr // the side's address, invalid when it is not a device's (touch)
	destIP string     // the other host's address, when the pair has leak or finding rows
}

// madeSide makes what a side of pp is filed with, of rows set.
func (inv *inventory) madeSide(pp *pendingPair, clientSide bool, set *destSet) madeSide {
	k := &pp.key
	addr, dest := k.server(), k.client()
	if clientSide {
		addr, dest = dest, addr
	}
	ms := madeSide{set: set, key: pairSideKey(pp, clientSide), flows: pp.flows()}
	if addr.IsValid() && !addr.IsUnspecified() && !notLANDevice(addr) {
		ms.addr = addr
	}
	if x := pp.x; x != nil && len(x.leaks)+len(x.findings) > 0 {
		ms.destIP = dest.String()
	}
	return ms
}

// addSide adds one side of a pair to device d, as d.merge(pairSide(pp,
// clientSide), unbounded) would, without making the side's aggregate.
func (inv *inventory) addSide(d *devAgg, pp *pendingPair, ms *madeSide, clientSide bool) {
	if ms.addr.IsValid() {
		if d.ips == nil {
			d.ips = map[netip.Addr]bool{}
		}
		d.ips[ms.addr] = true
	}
	if t := pp.first.time(); !t.IsZero() && (d.d.FirstSeen.IsZero() || t.Before(d.d.FirstSeen)) {
		d.d.FirstSeen = t
	}
	if t := pp.last.time(); t.After(d.d.LastSeen) {
		d.d.LastSeen = t
	}
	d.parts = append(d.parts, *ms.set)
	if x := pp.x; x != nil {
		inv.sideRows(d, x, ms.destIP, clientSide)
		for _, ua := range x.uas {
			d.uas = addUA(d.uas, ua)
		}
	}
}

// sideRows files a pair's leaks and findings under d, with the
// destination as the side sees it (its address ip).
func (inv *inventory) sideRows(d *devAgg, x *pairExtra, ip string, clientSide bool) {
	for i := range x.leaks {
		pl := &x.leaks[i]
		l := pl.l
		if !clientSide {
			l.Dest.IP, l.Dest.Port = ip, pl.cPort
		}
		d.addLeak(l)
	}
	for i := range x.findings {
		fi := x.findingAt(inv.tab, ip, i)
		if !clientSide {
			fi.Dest.IP, fi.Dest.Port = ip, x.findings[i].k.cPort
		}
		d.addFinding(fi)
	}
	d.leaksDropped += x.leaksDropped
	d.findingsDropped += x.findingsDropped
}

// pairSide makes the device aggregate of one side of a pair (ms).
func (inv *inventory) pairSide(pp *pendingPair, ms *madeSide, clientSide bool) *devAgg {
	k := &pp.key
	mac, has := k.sMAC, k.sHas
	if clientSide {
		mac, has = k.cMAC, k.cHas
	}
	d := &devAgg{mac: mac, hasMAC: has, tab: inv.tab, dests: *ms.set}
	d.d.ID = ms.key
	if has {
		d.d.MAC = macString(mac)
	}
	d.d.FirstSeen, d.d.LastSeen = pp.first.time(), pp.last.time()
	if ms.addr.IsValid() {
		d.ips = map[netip.Addr]bool{ms.addr: true}
	}
	if x := pp.x; x != nil {
		inv.sideRows(d, x, ms.destIP, clientSide)
		d.uas = x.uas
	}
	return d
}

// mergePair adds pair o of another inventory, already in inv's string
// table, into inv.
func (inv *inventory) mergePair(o *pendingPair) {
	pp := inv.pending[o.key]
	if pp == nil {
		if !inv.pendingRoom(o.key) {
			inv.evictPair(o)
			return
		}
		inv.pending[o.key] = o
		return
	}
	t := inv.tab
	pp.first, pp.last = earliestDev(pp.first, o.first), latest(pp.last, o.last)
	if pp.sides == nil && o.sides == nil {
		pp.rows = growRows(pp.rows, len(o.rows)) // rows of two workers seldom share a key
		for i := range o.rows {
			or := &o.rows[i]
			r := pp.row(or.k)
			r.r.merge(t, &or.r, true)
			r.plainDown += or.plainDown
			r.dec = t.mergeDec(r.dec, or.dec)
		}
		if o.x != nil {
			x := pp.extra()
			for k, ps := range o.x.more {
				if x.more == nil {
					x.more = map[pairRowKey][]string{}
				}
				for _, p := range ps {
					x.more[k] = addString(x.more[k], p)
				}
			}
		}
		if len(pp.rows) >= 2*maxDests {
			pp.split(t)
		}
	} else {
		if pp.sides == nil {
			pp.split(t)
		}
		if o.sides == nil {
			o.split(t)
		}
		pp.sides.asClient.merge(t, &o.sides.asClient, t, maxDests)
		pp.sides.asServer.merge(t, &o.sides.asServer, t, maxDests)
	}
	if o.x != nil {
		pp.extra().merge(t, &pp.key, o.x)
	}
}

// retab moves the pair's rows from string table from to table to, in
// place.
func (pp *pendingPair) retab(from, to *strtab) {
	if from == to {
		return
	}
	m := from.moveTo(to)
	if pp.x != nil {
		pp.x.retabFindings(m)
	}
	if pp.sides != nil {
		pp.sides.asClient.retab(from, to)
		pp.sides.asServer.retab(from, to)
		return
	}
	var more map[pairRowKey][]string
	if pp.x != nil {
		more = pp.x.more
		pp.x.more = nil
	}
	for i := range pp.rows {
		pr := &pp.rows[i]
		old := pr.k
		pr.k.tr, pr.k.name = m.id(old.tr), m.id(old.name)
		pr.dec = m.dec(pr.dec)
		if mo := append(pr.r.retab(m), more[old]...); len(mo) > 0 {
			x := pp.extra()
			if x.more == nil {
				x.more = map[pairRowKey][]string{}
			}
			x.more[pr.k] = mo
		}
	}
	if pp.idx != nil {
		for i := range pp.rows {
			pp.idx[pp.rows[i].k] = int32(i)
		}
		if len(pp.idx) != len(pp.rows) {
			pp.idx = make(map[pairRowKey]int32, len(pp.rows))
			for i := range pp.rows {
				pp.idx[pp.rows[i].k] = int32(i)
			}
		}
	}
}

// side is a pending pair at the end: its key and provisional id, and the
// side chosen for the device.
type side struct {
	key        pairKey
	pp         *pendingPair // until it is filed
	id         string
	dev        string // the device key of the side, once filed
	clientSide bool
}

// resolveWorkers is the number of goroutines resolving the pending pairs.
var resolveWorkers = func() int { return runtime.GOMAXPROCS(0) }

// inParallel calls f on the ranges [lo, hi) of chunk elements (the last
// shorter) that cover [0, n), on up to workers goroutines, and returns
// when all are done.
func inParallel(n, chunk, workers int, f func(lo, hi int)) {
	pieces := (n + chunk - 1) / chunk
	if workers <= 1 || pieces <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, pieces) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= pieces {
					return
				}
				f(i*chunk, min((i+1)*chunk, n))
			}
		}()
	}
	wg.Wait()
}

// cmpSide orders the pairs by provisional id (then by key: two keys
// differing only in a MAC that is not used have the same id).
func cmpSide(a, b side) int {
	if c := strings.Compare(a.id, b.id); c != 0 {
		return c
	}
	return cmpPairKey(a.key, b.key)
}

// sortSides sorts the pairs by cmpSide: with more than one goroutine, the
// two halves each on its own and then merged.
func sortSides(sides []side, workers int) {
	if workers <= 1 || len(sides) < 8192 {
		slices.SortFunc(sides, cmpSide)
		return
	}
	h := len(sides) / 2
	a, b := slices.Clone(sides[:h]), slices.Clone(sides[h:])
	inParallel(2, 1, 2, func(i, _ int) {
		slices.SortFunc([][]side{a, b}[i], cmpSide)
	})
	i, j := 0, 0
	for k := range sides {
		if j == len(b) || i < len(a) && cmpSide(a[i], b[j]) <= 0 {
			sides[k], i = a[i], i+1
		} else {
			sides[k], j = b[j], j+1
		}
	}
}

// sideOf decides which host of pair k is the device: the one that is not
// a gateway, else the client when it is local or the server is not.
func sideOf(v *lanView, k *pairKey) bool {
	cGW, sGW := k.cHas && v.gateway[k.cMAC], k.sHas && v.gateway[k.sMAC]
	switch {
	case sGW && !cGW:
		return true
	case cGW && !sGW:
		return false
	}
	return v.local(k.client()) || !v.local(k.server())
}

// resolveBlock is how many pairs a goroutine makes the sides of at a
// time.
var resolveBlock = 1024

// sidesInOrder decides each pair's side and makes its rows (the pair's
// side, capped: pendingPair.side, destSet.finish) on up to workers
// goroutines, a block of pairs at a time and at most two blocks per
// goroutine ahead, and calls file with each pair and what was made of it
// in the order of sides, on this goroutine. Making the rows only reads
// the string table; file may change anything but the pairs not yet filed.
func (inv *inventory) sidesInOrder(sides []side, v *lanView, workers int, file func(sd *side, ms *madeSide)) {
	type made struct {
		sides []madeSide
		done  chan struct{}
	}
	make1 := func(m *made, lo, hi int) {
		for i := lo; i < hi; i++ {
			sd := &sides[i]
			sd.clientSide = sideOf(v, &sd.key)
			set := sd.pp.side(inv.tab, sd.clientSide)
			set.finish(inv.tab, maxDests)
			m.sides = append(m.sides, inv.madeSide(sd.pp, sd.clientSide, set))
		}
	}
	n := (len(sides) + resolveBlock - 1) / resolveBlock
	if workers <= 1 || n <= 1 {
		for b := range n {
			lo, hi := b*resolveBlock, min((b+1)*resolveBlock, len(sides))
			var m made
			make1(&m, lo, hi)
			for i := lo; i < hi; i++ {
				file(&sides[i], &m.sides[i-lo])
			}
		}
		return
	}
	blocks := make([]made, n)
	for b := range blocks {
		blocks[b].done = make(chan struct{})
	}
	slots := make(chan struct{}, 2*workers) // blocks taken and not yet filed
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				slots <- struct{}{}
				b := int(next.Add(1) - 1)
				if b >= n {
					<-slots
					return
				}
				m := &blocks[b]
				lo, hi := b*resolveBlock, min((b+1)*resolveBlock, len(sides))
				m.sides = make([]madeSide, 0, hi-lo)
				make1(m, lo, hi)
				close(m.done)
			}
		}()
	}
	for b := range blocks {
		m := &blocks[b]
		<-m.done
		lo := b * resolveBlock
		for i := range m.sides {
			file(&sides[lo+i], &m.sides[i])
		}
		blocks[b] = made{}
		<-slots
	}
	wg.Wait()
}
