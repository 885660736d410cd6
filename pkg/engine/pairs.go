package engine

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"

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
	key                pairKey
	first, last        stamp
	asClient, asServer destSet    // rows as if the client were the device, as if the server were
	x                  *pairExtra // leaks, findings, User-Agents; nil for most pairs
}

// pairExtra holds the rows of a pair's leaks and findings once, with the
// destination as the client side sees it and the client's port for the
// other side.
type pairExtra struct {
	leaks                         []pairLeak
	leakIdx                       map[pairLeakKey]int
	findings                      []pairFinding
	findingIdx                    map[pairFindingKey]int
	uas                           []string
	leaksDropped, findingsDropped uint64
}

type pairLeak struct {
	l     audit.Leak
	cPort uint16
}

type pairLeakKey struct {
	identifier, value, encoding, location string
	cPort, sPort                          uint16
}

type pairFinding struct {
	fi    audit.Finding
	cPort uint16
}

type pairFindingKey struct {
	severity             audit.Severity
	kind, message, trans string
	cPort, sPort         uint16
}

func (pp *pendingPair) extra() *pairExtra {
	if pp.x == nil {
		pp.x = &pairExtra{}
	}
	return pp.x
}

func (x *pairExtra) addLeak(l audit.Leak, cPort uint16) {
	k := pairLeakKey{l.Identifier, l.Value, l.Encoding, l.Location, cPort, l.Dest.Port}
	if i, ok := x.leakIdx[k]; ok {
		o := &x.leaks[i].l
		o.Count += l.Count
		o.Spellings = addSpellings(o.Spellings, l.Spellings)
		if l.Frame < o.Frame {
			o.Frame, o.Time, o.Dest = l.Frame, l.Time, l.Dest
		}
		return
	}
	if len(x.leaks) >= maxDeviceRows {
		x.leaksDropped += uint64(max(l.Count, 1))
		return
	}
	if x.leakIdx == nil {
		x.leakIdx = map[pairLeakKey]int{}
	}
	x.leakIdx[k] = len(x.leaks)
	x.leaks = append(x.leaks, pairLeak{l, cPort})
}

func (x *pairExtra) addFinding(fi audit.Finding, cPort uint16) {
	fi.Count = max(fi.Count, 1)
	k := pairFindingKey{fi.Severity, fi.Kind, fi.Message, fi.Dest.Transport, cPort, fi.Dest.Port}
	if i, ok := x.findingIdx[k]; ok {
		o := &x.findings[i].fi
		o.Count += fi.Count
		if fi.Frame < o.Frame {
			o.Frame, o.Time, o.Dest = fi.Frame, fi.Time, fi.Dest
		}
		return
	}
	if len(x.findings) >= maxDeviceRows {
		x.findingsDropped += uint64(fi.Count)
		return
	}
	if x.findingIdx == nil {
		x.findingIdx = map[pairFindingKey]int{}
	}
	x.findingIdx[k] = len(x.findings)
	x.findings = append(x.findings, pairFinding{fi, cPort})
}

func (x *pairExtra) merge(o *pairExtra) {
	for _, l := range o.leaks {
		x.addLeak(l.l, l.cPort)
	}
	for _, fi := range o.findings {
		x.addFinding(fi.fi, fi.cPort)
	}
	x.leaksDropped += o.leaksDropped
	x.findingsDropped += o.findingsDropped
	for _, ua := range o.uas {
		x.uas = addUA(x.uas, ua)
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
	keys := make([]pairKey, 0, len(inv.pending))
	for k := range inv.pending {
		keys = append(keys, k)
	}
	if len(keys) <= n {
		return
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
	inv.fileDev(inv.pairSide(pp, clientSide))
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
	pp.asClient.addFlow(t, sk, ff, 0, maxDests)
	pp.asServer.addFlow(t, destKeyOf(f.Client, ff.tr, ff.name), ff, 1, maxDests)
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
	for _, fi := range append(s.findings, behaviour...) {
		fi.Dest = dest
		x.addFinding(fi, cPort)
	}
}

// earliestDev is a device's first-seen time: as earliest, except that a
// zero time is replaced by whatever comes.
func earliestDev(cur, t stamp) stamp {
	if cur == (stamp{}) {
		return t
	}
	return earliest(cur, t)
}

// pairSide makes the device aggregate of one side of a pair.
func (inv *inventory) pairSide(pp *pendingPair, clientSide bool) *devAgg {
	k := &pp.key
	mac, has, addr, set := k.sMAC, k.sHas, k.server(), &pp.asServer
	if clientSide {
		mac, has, addr, set = k.cMAC, k.cHas, k.client(), &pp.asClient
	}
	d := &devAgg{mac: mac, hasMAC: has, tab: inv.tab, dests: *set}
	d.d.ID = hostKey(has, mac, addr)
	if has {
		d.d.MAC = macString(mac)
	}
	d.d.FirstSeen, d.d.LastSeen = pp.first.time(), pp.last.time()
	if addr.IsValid() && !addr.IsUnspecified() && !notLANDevice(addr) {
		d.ips = map[netip.Addr]bool{addr: true}
	}
	if x := pp.x; x != nil {
		var ip string
		if !clientSide {
			ip = k.client().String()
		}
		for _, pl := range x.leaks {
			l := pl.l
			if !clientSide {
				l.Dest.IP, l.Dest.Port = ip, pl.cPort
			}
			d.addLeak(l)
		}
		for _, pf := range x.findings {
			fi := pf.fi
			if !clientSide {
				fi.Dest.IP, fi.Dest.Port = ip, pf.cPort
			}
			d.addFinding(fi)
		}
		d.leaksDropped += x.leaksDropped
		d.findingsDropped += x.findingsDropped
		d.uas = x.uas
	}
	return d
}

// mergePair adds pair o of another inventory (string table ot) into inv.
func (inv *inventory) mergePair(o *pendingPair, ot *strtab) {
	pp := inv.pending[o.key]
	if pp == nil {
		if !inv.pendingRoom(o.key) {
			inv.evictPair(o.retab(ot, inv.tab))
			return
		}
		inv.pending[o.key] = o.retab(ot, inv.tab)
		return
	}
	pp.first, pp.last = earliestDev(pp.first, o.first), latest(pp.last, o.last)
	pp.asClient.merge(inv.tab, &o.asClient, ot, maxDests)
	pp.asServer.merge(inv.tab, &o.asServer, ot, maxDests)
	if o.x != nil {
		pp.extra().merge(o.x)
	}
}

// retab moves the pair's rows from string table from to table to.
func (pp *pendingPair) retab(from, to *strtab) *pendingPair {
	pp.asClient.retab(from, to)
	pp.asServer.retab(from, to)
	return pp
}
