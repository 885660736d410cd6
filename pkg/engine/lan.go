package engine

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
)

// Which addresses are the lab's own and which MAC is the gateway is decided
// once, at the end of the run, from evidence:
//
//   - the reading goroutine sees every frame in capture order and notes
//     what DHCP, router advertisements and ARP say (lanEvidence): learnt
//     LAN prefixes, DHCP clients and servers, routers, ARP probes;
//   - each worker notes, per MAC, the non-LAN unicast addresses seen behind
//     it and whether it carried them as client or server (macEvidence), and
//     the addresses that talked with link-local ones (on-link); the
//     workers' notes are merged before anything is decided.
//
// Broadcast, multicast and link-local addresses are never remote peers.
// Every set here is bounded; the worker-side ones keep their smallest keys
// (smallestMap), so that merged they are the same whatever the number of
// workers.

// Bounds of the evidence kept.
const (
	maxLANPrefixes = 64
	maxEvidence    = 4096  // MACs or addresses per kind of capture-order evidence
	maxMACEvidence = 65536 // MACs with flow evidence, per worker
	remoteNetsKept = 8     // non-LAN networks remembered per MAC
	manyRemoteNets = 3     // a MAC in front of this many non-LAN networks is a gateway
	arpProxyAddrs  = 3     // a MAC answering ARP for this many addresses is a (proxy-ARP) gateway
)

// lanEvidence is what DHCP, router advertisements and ARP said, gathered
// from every frame in capture order by the reading goroutine.
type lanEvidence struct {
	prefixes   []netip.Prefix           // from DHCP (mask and address) and RA prefix information
	dhcpClient map[[6]byte]bool         // sent a DHCP client message (L2 source, unrelayed) or was its chaddr
	dhcpRouter map[[6]byte]bool         // sent a DHCP reply naming itself as router
	routerIPs  map[netip.Addr]bool      // DHCP router option values
	raRouter   map[[6]byte]bool         // sent a router advertisement with a router lifetime
	arpOwn     map[[6]byte]bool         // ARP-probed or announced its own address
	arpAnswers map[[6]byte][]netip.Addr // sender addresses of the ARP replies of a MAC (up to arpProxyAddrs)
	arpIP      map[netip.Addr][6]byte   // address → MAC that sent ARP from it
	onLink     map[netip.Addr]bool      // addresses ARP requests were sent from or probed
	msg        dhcp.Message
}

func newLANEvidence() *lanEvidence {
	return &lanEvidence{dhcpClient: map[[6]byte]bool{}, dhcpRouter: map[[6]byte]bool{}, routerIPs: map[netip.Addr]bool{},
		raRouter: map[[6]byte]bool{}, arpOwn: map[[6]byte]bool{}, arpAnswers: map[[6]byte][]netip.Addr{},
		arpIP: map[netip.Addr][6]byte{}, onLink: map[netip.Addr]bool{}}
}

func setMAC(m map[[6]byte]bool, mac [6]byte) {
	if usableMAC(mac) && (m[mac] || len(m) < maxEvidence) {
		m[mac] = true
	}
}

func setAddr(m map[netip.Addr]bool, a netip.Addr) {
	if a.IsValid() && !a.IsUnspecified() && (m[a] || len(m) < maxEvidence) {
		m[a] = true
	}
}

func (l *lanEvidence) addPrefix(p netip.Prefix) {
	p = p.Masked()
	if !p.IsValid() || slices.Contains(l.prefixes, p) || len(l.prefixes) >= maxLANPrefixes {
		return
	}
	l.prefixes = append(l.prefixes, p)
}

// packet looks at one decoded packet for DHCP and router advertisements.
func (l *lanEvidence) packet(p *flow.Packet) {
	switch {
	case p.Proto == flow.ProtoUDP && (p.SrcPort == 67 || p.SrcPort == 68) && (p.DstPort == 67 || p.DstPort == 68):
		l.dhcp(p)
	case p.Proto == flow.ProtoICMPv6 && p.SrcPort>>8 == 134:
		l.routerAdvert(p)
	}
}

func (l *lanEvidence) dhcp(p *flow.Packet) {
	m := &l.msg
	m.Reset()
	if dhcp.Parse(p.Payload, m) != nil && m.Op == 0 {
		return
	}
	relayed := m.RelayIP.IsValid() && !m.RelayIP.IsUnspecified() || m.Hops > 0
	switch m.Op {
	case 1: // client to server
		if len(m.CHAddr) == 6 {
			setMAC(l.dhcpClient, [6]byte(m.CHAddr))
		}
		if p.HasMAC && !relayed {
			setMAC(l.dhcpClient, p.SrcMAC)
		}
	case 2: // server to client
		server := m.ServerID
		if !server.IsValid() {
			server = p.Src
		}
		for _, r := range m.Routers {
			if len(l.routerIPs) < maxEvidence && r.IsValid() && !r.IsUnspecified() {
				l.routerIPs[r] = true
			}
			if p.HasMAC && !relayed && (r == server || r == p.Src) {
				setMAC(l.dhcpRouter, p.SrcMAC)
			}
		}
		if m.SubnetMask.IsValid() {
			mask := m.SubnetMask.As4()
			ones := maskOnes(binary.BigEndian.Uint32(mask[:]))
			addr := m.YourIP
			if !addr.IsValid() || addr.IsUnspecified() {
				addr = server
			}
			// A mask shorter than /8 would make much of the Internet "the LAN".
			if ones >= 8 && addr.IsValid() && addr.Is4() && !addr.IsUnspecified() {
				l.addPrefix(netip.PrefixFrom(addr, ones))
			}
		}
	}
}

// maskOnes returns the prefix length of a contiguous netmask, or -1.
func maskOnes(m uint32) int {
	n := 0
	for m&0x80000000 != 0 {
		m <<= 1
		n++
	}
	if m != 0 {
		return -1
	}
	return n
}

// routerAdvert reads an ICMPv6 router advertisement (RFC 4861 4.2): the
// sender is a router when its lifetime is not 0; on-link prefixes are LAN.
func (l *lanEvidence) routerAdvert(p *flow.Packet) {
	b := p.Payload // after type, code and checksum
	if len(b) < 12 {
		return
	}
	if binary.BigEndian.Uint16(b[2:]) > 0 && p.HasMAC {
		setMAC(l.raRouter, p.SrcMAC)
	}
	for opts := b[12:]; len(opts) >= 8; {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			return
		}
		if o := opts[:n]; o[0] == 3 && n == 32 && o[3]&0x80 != 0 && o[2] >= 16 && o[2] <= 128 {
			l.addPrefix(netip.PrefixFrom(netip.AddrFrom16([16]byte(o[16:32])), int(o[2])))
		}
		opts = opts[n:]
	}
}

// arp notes an ARP message: probes and announcements (RFC 5227) come from
// a host claiming its own address; a MAC answering for several addresses
// is a proxy-ARP gateway.
func (l *lanEvidence) arp(a *flow.ARP) {
	mac, s, t := a.SenderMAC, a.SenderIP, a.TargetIP
	if !usableMAC(mac) {
		return
	}
	if s.IsUnspecified() || s == t {
		setMAC(l.arpOwn, mac)
		setAddr(l.onLink, t)
	}
	if s.IsUnspecified() {
		return
	}
	if _, ok := l.arpIP[s]; !ok && len(l.arpIP) < maxEvidence {
		l.arpIP[s] = mac
	}
	switch a.Op {
	case 1:
		setAddr(l.onLink, s)
	case 2:
		if as, ok := l.arpAnswers[mac]; (ok || len(l.arpAnswers) < maxEvidence) && len(as) < arpProxyAddrs && !slices.Contains(as, s) {
			l.arpAnswers[mac] = append(as, s)
		}
	}
}

// macEvidence is what the flows of one worker showed about a MAC.
type macEvidence struct {
	nets     []netip.Addr // smallest non-LAN networks seen behind it (IPv4 address, IPv6 /64), sorted
	cli, srv uint64       // flows in which it carried a non-LAN address as client, as server
}

func (m *macEvidence) addNet(n netip.Addr) {
	i, found := slices.BinarySearchFunc(m.nets, n, netip.Addr.Compare)
	if found || i >= remoteNetsKept {
		return
	}
	m.nets = slices.Insert(m.nets, i, n)
	if len(m.nets) > remoteNetsKept {
		m.nets = m.nets[:remoteNetsKept]
	}
}

func (m *macEvidence) merge(o *macEvidence) {
	for _, n := range o.nets {
		m.addNet(n)
	}
	m.cli += o.cli
	m.srv += o.srv
}

// netOf is the network an address counts for: an IPv4 address itself, the
// /64 of an IPv6 one (hosts take several addresses in their /64).
func netOf(a netip.Addr) netip.Addr {
	if a.Is4() {
		return a
	}
	p, _ := a.Prefix(64)
	return p.Addr()
}

// remotePeer reports whether a may be a remote peer: unicast, not
// link-local, loopback or unspecified, and not local by the fixed ranges
// and --lan (learnt prefixes are applied at the end).
func (inv *inventory) remotePeer(a netip.Addr) bool {
	return a.IsValid() && !a.IsMulticast() && !a.IsLinkLocalUnicast() && !a.IsLoopback() && !a.IsUnspecified() &&
		a != broadcast4 && !inv.local(a)
}

var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// notLANDevice reports addresses that never stand for a device: broadcast
// and multicast.
func notLANDevice(a netip.Addr) bool { return a == broadcast4 || a.IsMulticast() }

// evidence notes what a finished flow says about its two MACs.
func (inv *inventory) evidence(f *flow.Flow) {
	c, s := f.Client.Addr().Unmap(), f.Server.Addr().Unmap()
	switch {
	case c.IsLinkLocalUnicast() && s.IsGlobalUnicast() && !s.IsLinkLocalUnicast():
		inv.onLink.get(s, newStruct)
	case s.IsLinkLocalUnicast() && c.IsGlobalUnicast() && !c.IsLinkLocalUnicast():
		inv.onLink.get(c, newStruct)
	}
	if !f.HasMAC {
		return
	}
	for _, side := range [2]struct {
		mac    [6]byte
		a      netip.Addr
		client bool
	}{{f.ClientMAC, c, true}, {f.ServerMAC, s, false}} {
		if !usableMAC(side.mac) {
			continue
		}
		if inv.local(side.a) && !side.a.IsUnspecified() && side.a.IsValid() {
			mac := side.mac
			if m, ok := inv.ipMAC.get(side.a, func() *[6]byte { return &mac }); ok && cmpMAC(mac, *m) < 0 {
				*m = mac
			}
		}
		if !inv.remotePeer(side.a) {
			continue
		}
		ev, ok := inv.macEv.get(side.mac, func() *macEvidence { return &macEvidence{} })
		if !ok {
			continue
		}
		ev.addNet(netOf(side.a))
		if side.client {
			ev.cli++
		} else {
			ev.srv++
		}
	}
}

func newStruct() struct{} { return struct{}{} }

func cmpMAC(a, b [6]byte) int { return slices.Compare(a[:], b[:]) }

// lanView is the final answer: learnt LAN addresses and the gateway MACs.
type lanView struct {
	inv      *inventory
	prefixes []netip.Prefix
	onLink   map[netip.Addr]bool // learnt on-link addresses
	onLink64 map[netip.Addr]bool // their IPv6 /64s
	gateway  map[[6]byte]bool
}

// local reports whether a is on the lab side, with what was learnt.
func (v *lanView) local(a netip.Addr) bool {
	a = a.Unmap()
	if v.inv.local(a) || v.onLink[a] || a.Is6() && v.onLink64[netOf(a)] {
		return true
	}
	for _, p := range v.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// decideLAN merges the evidence into the final view. It runs once, on the
// merged inventory, so no decision depends on how flows were sharded.
func (inv *inventory) decideLAN(l *lanEvidence) *lanView {
	if l == nil {
		l = newLANEvidence()
	}
	inv.macEv.finish()
	inv.onLink.finish()
	inv.ipMAC.finish()
	v := &lanView{inv: inv, prefixes: l.prefixes, onLink: map[netip.Addr]bool{}, onLink64: map[netip.Addr]bool{}, gateway: map[[6]byte]bool{}}
	for a := range l.onLink {
		v.onLink[a] = true
	}
	for a := range inv.onLink.m {
		v.onLink[a] = true
	}
	for a := range v.onLink {
		if a.Is6() {
			v.onLink64[netOf(a)] = true
		}
	}
	// Never the gateway: DHCP clients and lab devices. A host that probed
	// or announced its own address by ARP is not taken for the gateway on
	// the weaker evidence below, but DHCP (its router option) and router
	// advertisements still name it: routers send gratuitous ARP too.
	excluded := map[[6]byte]bool{}
	for m := range l.dhcpClient {
		excluded[m] = true
	}
	for _, kd := range inv.known {
		if m, ok := parseMAC(kd.MAC); ok {
			excluded[m] = true
		}
	}
	mark := func(m [6]byte) {
		if usableMAC(m) && !excluded[m] {
			v.gateway[m] = true
		}
	}
	// Evidence that names the router.
	for m := range l.dhcpRouter {
		mark(m)
	}
	for m := range l.raRouter {
		mark(m)
	}
	for r := range l.routerIPs {
		if m, ok := l.arpIP[r]; ok {
			mark(m)
		} else if m, ok := inv.ipMAC.m[r]; ok {
			mark(*m)
		}
	}
	for m := range l.arpOwn {
		excluded[m] = true
	}
	for m, as := range l.arpAnswers {
		if len(as) >= arpProxyAddrs {
			mark(m)
		}
	}
	// The MAC in front of many non-LAN networks.
	remoteNets := func(ev *macEvidence) int {
		n := 0
		for _, a := range ev.nets {
			if !v.local(a) {
				n++
			}
		}
		return n
	}
	for m, ev := range inv.macEv.m {
		if remoteNets(ev) >= manyRemoteNets {
			mark(m)
		}
	}
	if len(v.gateway) == 0 {
		// Nothing names a router: a MAC in front of non-LAN addresses that
		// are mostly servers is the way out (devices are the clients).
		for m, ev := range inv.macEv.m {
			if remoteNets(ev) > 0 && ev.srv > ev.cli {
				mark(m)
			}
		}
	}
	return v
}

func parseMAC(s string) ([6]byte, bool) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return [6]byte{}, false
	}
	return [6]byte(hw), true
}

// smallestMap is a map bounded to its n smallest keys: past 2n entries it
// drops all but the n smallest, and then refuses keys above the largest
// kept. The n smallest keys ever offered are always kept with everything
// added to them, so maps of several workers merged and cut to n hold the
// same as one map fed everything.
type smallestMap[K comparable, V any] struct {
	m    map[K]V
	n    int
	cmp  func(a, b K) int
	max  K
	full bool
}

func newSmallestMap[K comparable, V any](n int, cmp func(a, b K) int) *smallestMap[K, V] {
	return &smallestMap[K, V]{m: map[K]V{}, n: n, cmp: cmp}
}

// get returns k's value, adding mk() when k is new and may be kept; ok is
// false when k is not kept.
func (s *smallestMap[K, V]) get(k K, mk func() V) (v V, ok bool) {
	if v, ok := s.m[k]; ok {
		return v, true
	}
	if s.full && s.cmp(k, s.max) > 0 {
		return v, false
	}
	v = mk()
	s.m[k] = v
	if len(s.m) >= 2*s.n {
		s.cut()
		if v, ok = s.m[k]; !ok {
			return v, false
		}
	}
	return v, true
}

func (s *smallestMap[K, V]) cut() {
	keys := make([]K, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, s.cmp)
	for _, k := range keys[s.n:] {
		delete(s.m, k)
	}
	s.max, s.full = keys[s.n-1], true
}

// finish cuts the map to its n smallest keys.
func (s *smallestMap[K, V]) finish() {
	if len(s.m) > s.n {
		s.cut()
	}
}

// mergeSmallest adds o's entries to s, combining values of the same key.
func mergeSmallest[K comparable, V any](s, o *smallestMap[K, V], combine func(dst, src V) V) {
	for k, ov := range o.m {
		if v, ok := s.m[k]; ok {
			s.m[k] = combine(v, ov)
			continue
		}
		s.get(k, func() V { return ov })
	}
}

// composeRenames adds to renamed (final device ids by provisional id) the
// pending pairs' provisional ids, through the device key each resolved to.
func composeRenames(renamed, aliases map[string]string) map[string]string {
	if len(aliases) == 0 {
		return renamed
	}
	if len(renamed) < len(aliases) {
		// One map of the final size, not one grown alias by alias.
		m := make(map[string]string, len(renamed)+len(aliases))
		maps.Copy(m, renamed)
		renamed = m
	}
	for p, k := range aliases {
		if id, ok := renamed[k]; ok {
			renamed[p] = id
		} else {
			renamed[p] = k
		}
	}
	return renamed
}

// minUnseenShare is the share of payload bytes not captured (snap length,
// holes) from which the report warns that the leak scan was partial.
const minUnseenShare = 0.01

// deviceWarnings warns about what makes the device tables incomplete: lab
// devices never seen, no device at all, payload the scan could not see.
func (e *engine) deviceWarnings() {
	for _, kd := range e.cfg.Known {
		seen := false
		for i := range e.report.Devices {
			if d := &e.report.Devices[i]; d.NameSource == "devices-file" && d.ID == kd.ID {
				seen = true
				break
			}
		}
		if !seen {
			what := kd.ID
			if kd.MAC != "" {
				what += " (" + kd.MAC + ")"
			} else if len(kd.IPs) > 0 {
				what += " (" + strings.Join(kd.IPs, ", ") + ")"
			}
			e.warn(audit.Warning{Code: "device-not-seen",
				Message: fmt.Sprintf("--devices entry %s was not seen in the capture (no traffic from its MAC or addresses); its identifiers were still searched in all traffic", what)})
		}
	}
	if len(e.report.Devices) == 0 {
		e.warn(audit.Warning{Code: "no-devices",
			Message: "no devices were found: the capture holds no traffic of a lab-side host (empty, only broadcasts, or only the gateway's)"})
	}
	unseen := e.stats.GapBytes + e.pool.payloadCut
	total := e.pool.payloadSeen + unseen
	if total > 0 && float64(unseen) >= minUnseenShare*float64(total) {
		pct := 100 * float64(unseen) / float64(total)
		e.warn(audit.Warning{Code: "payload-not-captured", Count: unseen,
			Message: fmt.Sprintf("the leak scan could not see %.0f%% of the payload bytes (%d of %d: cut by the snap length or missing from the capture); identifiers in them cannot be found", pct, unseen, total)})
	}
}
