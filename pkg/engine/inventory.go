package engine

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/oui"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dhcp"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	"github.com/phonehome/phonehome/pkg/proto/netbios"
)

// inventory gathers devices (local endpoints of the lab network) and, per
// device, the destinations, leaks and findings of its flows. Memory grows
// with devices × destinations and with pending pairs, not with the number
// of flows. Every cap keeps the smallest keys (devices by key, destination
// rows by destKey, pending pairs by pairKey) and counts the rest together,
// so what a cap cuts is the same whatever the number of goroutines.
type inventory struct {
	lan         []netip.Prefix
	known       []lab.Device
	tab         *strtab // the strings of the destination rows
	devs        map[string]*devAgg
	devsFull    bool   // devices of keys above devsMax go to otherDevices
	devsMax     string // the largest device key kept
	pending     map[pairKey]*pendingPair
	pendingFull bool // pairs above pendingMax are filed by the fixed ranges
	pendingMax  pairKey
	evicted     []evictedPair // pairs cut from pending, for their flow records
	folded      []string      // device keys folded into otherDevices, for their flow records
	dhcpByMAC   map[string]*dhcpRec
	mdnsByIP    map[netip.Addr]string
	netbiosByIP map[netip.Addr]string
	protoByIP   map[netip.Addr]string // names devices gave themselves in a protocol (SMTP EHLO...)
	overflow    uint64                // flows filed under otherDevices
	// Evidence for the end-of-run decisions (lan.go).
	macEv  *smallestMap[[6]byte, *macEvidence]
	onLink *smallestMap[netip.Addr, struct{}]
	ipMAC  *smallestMap[netip.Addr, *[6]byte] // LAN address → smallest MAC seen with it
	view   *lanView                           // the decisions, once made
}

// The caps of the inventory (variables for tests). Past maxPending pairs
// the flows of pairs of larger keys are filed at once by the fixed ranges;
// past maxDevices devices those of larger keys are filed under one device
// with the id otherDevices; past maxDests rows a device's rows of larger
// keys are counted in one "other destinations" row.
var (
	maxPending = 1 << 16
	maxDevices = 4096
	maxDests   = 4096
)

const otherDevices = "other-devices"

type devAgg struct {
	d        audit.Device
	mac      [6]byte
	hasMAC   bool
	tab      *strtab // of dests
	ips      map[netip.Addr]bool
	dests    destSet
	parts    []destSet // rows of pending pairs filed at the end, merged when the device is built
	leaks    []audit.Leak
	findings []audit.Finding
	uas      []string // the maxDeviceUAs smallest, sorted
	// Row indexes: a repeat of a leak or finding adds to its row's count.
	leakRows    map[leakRow]int
	findingRows map[findingRow]int
	// Rows not kept past maxDeviceRows.
	leaksDropped, findingsDropped uint64
}

// maxDeviceRows caps the leak rows and the finding rows of one device.
const maxDeviceRows = 10000

// maxDeviceUAs caps the User-Agents kept per device (the smallest).
const maxDeviceUAs = 256

type leakRow struct {
	identifier, value, encoding, location, ip string
	port                                      uint16
}

type findingRow struct {
	severity                 audit.Severity
	kind, message, ip, trans string
	port                     uint16
}

// name sources, best first.
var nameRank = map[string]int{"sni": 1, "http-host": 2, "quic-sni": 3, "protocol": 4, "dns": 5, "ptr": 6, "banner": 7, "": 9}

func newInventory(lan []netip.Prefix, known []lab.Device) *inventory {
	return &inventory{lan: lan, known: known, tab: newStrtab(), devs: map[string]*devAgg{}, pending: map[pairKey]*pendingPair{},
		dhcpByMAC: map[string]*dhcpRec{}, mdnsByIP: map[netip.Addr]string{}, netbiosByIP: map[netip.Addr]string{}, protoByIP: map[netip.Addr]string{},
		macEv:  newSmallestMap[[6]byte, *macEvidence](maxMACEvidence, cmpMAC),
		onLink: newSmallestMap[netip.Addr, struct{}](maxEvidence, netip.Addr.Compare),
		ipMAC:  newSmallestMap[netip.Addr, *[6]byte](maxEvidence, netip.Addr.Compare)}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// local reports whether ip belongs to the lab side: private, ULA,
// link-local, CGNAT, or a --lan prefix.
func (inv *inventory) local(ip netip.Addr) bool {
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || cgnat.Contains(ip) {
		return true
	}
	for _, p := range inv.lan {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

func usableMAC(m [6]byte) bool {
	return m != [6]byte{} && m != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} && m[0]&1 == 0
}

// deviceOf returns the device a flow belongs to: its client when the
// client is local by the fixed ranges (private, ULA, link-local, CGNAT,
// --lan). Otherwise the flow goes to a pending pair, filed both ways until
// the end (pp != nil, d nil), when learnt LAN prefixes and the gateway say
// which side is the device.
func (inv *inventory) deviceOf(f *flow.Flow) (d *devAgg, deviceIsClient bool, pp *pendingPair) {
	inv.evidence(f)
	c, s := f.Client.Addr(), f.Server.Addr()
	if !inv.local(c) {
		if pp = inv.pendingOf(pairKeyOf(f)); pp != nil {
			return nil, false, pp
		}
	}
	deviceIsClient = inv.local(c) || !inv.local(s)
	addr, mac := c, f.ClientMAC
	if !deviceIsClient {
		addr, mac = s, f.ServerMAC
	}
	hasMAC := f.HasMAC && usableMAC(mac)
	key := hostKey(hasMAC, mac, addr)
	d = inv.devs[key]
	if d == nil && !inv.devRoom(key) {
		// Spoofed sources (a SYN flood from random MACs) must not grow
		// the inventory without bound: the rest share one device.
		inv.overflow++
		key, hasMAC, addr = otherDevices, false, netip.Addr{}
		d = inv.devs[key]
	}
	if d == nil {
		d = newDevAgg(inv.tab, key, mac, hasMAC, f)
		inv.devs[key] = d
	}
	d.touch(addr, f)
	return d, deviceIsClient, nil
}

// devRoom reports whether a new device of key may be kept: past 2 ×
// maxDevices the devices of the largest keys are folded into otherDevices,
// and keys above the largest kept are refused.
func (inv *inventory) devRoom(key string) bool {
	n := len(inv.devs)
	if inv.devs[otherDevices] != nil {
		n--
	}
	if n >= 2*maxDevices {
		inv.cutDevs(maxDevices)
	}
	return !inv.devsFull || key <= inv.devsMax
}

// cutDevs keeps the n devices of the smallest keys and folds the others
// into otherDevices.
func (inv *inventory) cutDevs(n int) {
	if len(inv.devs) <= n {
		return
	}
	keys := make([]string, 0, len(inv.devs))
	for k := range inv.devs {
		if k != otherDevices {
			keys = append(keys, k)
		}
	}
	if len(keys) <= n {
		return
	}
	slices.Sort(keys)
	for _, k := range keys[n:] {
		d := inv.devs[k]
		delete(inv.devs, k)
		inv.toOther(d)
	}
	inv.devsFull, inv.devsMax = true, keys[n-1]
}

// toOther folds a device past the cap into otherDevices, without its
// addresses: which flows of a device come before it is cut depends on the
// sharding. (At the end, resolve folds pairs with their addresses, as it
// did before the caps were exact.)
func (inv *inventory) toOther(d *devAgg) {
	inv.overflow += uint64(d.flows())
	inv.folded = append(inv.folded, d.d.ID)
	d.d.ID, d.d.MAC, d.hasMAC, d.ips = otherDevices, "", false, nil
	if cur := inv.devs[otherDevices]; cur != nil {
		cur.merge(d, maxDests)
	} else {
		inv.devs[otherDevices] = d.retab(inv.tab)
	}
}

// fileDev adds a device aggregate (a resolved pair, another inventory's
// device) to the devices.
func (inv *inventory) fileDev(d *devAgg) {
	key := d.d.ID
	if cur := inv.devs[key]; cur != nil {
		cur.merge(d, maxDests)
		return
	}
	if key != otherDevices && !inv.devRoom(key) {
		inv.toOther(d)
		return
	}
	inv.devs[key] = d.retab(inv.tab)
}

// hostKey is the inventory key of a host: its MAC, else its address.
func hostKey(hasMAC bool, mac [6]byte, addr netip.Addr) string {
	if hasMAC {
		return "mac:" + macString(mac)
	}
	return "ip:" + addr.String()
}

func newDevAgg(t *strtab, key string, mac [6]byte, hasMAC bool, f *flow.Flow) *devAgg {
	d := &devAgg{mac: mac, hasMAC: hasMAC, tab: t}
	d.d.ID = key
	if hasMAC {
		d.d.MAC = macString(mac)
	}
	d.d.FirstSeen = f.First.UTC()
	return d
}

// retab moves the device's rows to string table t.
func (d *devAgg) retab(t *strtab) *devAgg {
	d.dests.retab(d.tab, t)
	d.tab = t
	return d
}

// touch notes that the host used addr in flow f.
func (d *devAgg) touch(addr netip.Addr, f *flow.Flow) {
	if addr.IsValid() && !addr.IsUnspecified() && !notLANDevice(addr) {
		if d.ips == nil {
			d.ips = map[netip.Addr]bool{}
		}
		d.ips[addr] = true
	}
	if d.d.FirstSeen.IsZero() || (!f.First.IsZero() && f.First.Before(d.d.FirstSeen)) {
		d.d.FirstSeen = f.First.UTC()
	}
	if f.Last.After(d.d.LastSeen) {
		d.d.LastSeen = f.Last.UTC()
	}
}

// addUA adds a User-Agent to a sorted list of at most maxDeviceUAs, the
// smallest.
func addUA(uas []string, ua string) []string {
	i, found := slices.BinarySearch(uas, ua)
	if found || i >= maxDeviceUAs {
		return uas
	}
	uas = slices.Insert(uas, i, ua)
	if len(uas) > maxDeviceUAs {
		uas = uas[:maxDeviceUAs]
	}
	return uas
}

// addFlow files a finished flow under its device (d, the device being the
// client or the server) or its pending pair pp, and destination.
func (inv *inventory) addFlow(d *devAgg, deviceIsClient bool, pp *pendingPair, f *flow.Flow, s *session, name, nameSrc, channel, protocol string) {
	t := inv.tab
	ff := flowFacts{tr: t.id(f.Transport()), name: t.id(name), nameSrc: t.id(nameSrc), nameRank: int32(nameRank[nameSrc]),
		frame: f.FirstFrame, channel: channel, chID: t.id(channel), plain: audit.Channel(channel).Plaintext(),
		first: stampOf(f.First), last: stampOf(f.Last), pkts: f.Packets, bytes: f.Bytes, s: s}
	if protocol != "" {
		ff.protoBit, ff.protocol = t.protoBit(protocol), protocol
	}
	if _, o, _ := s.decryptOutcome(); o != "" {
		ff.dec = true
	}
	if pp != nil {
		inv.addPairFlow(pp, f, &ff, s)
		return
	}
	up := int(proto.ToServer)
	srv := f.Server
	if !deviceIsClient {
		up = int(proto.ToClient)
		srv = f.Client
	}
	k := destKeyOf(srv, ff.tr, ff.name)
	d.dests.addFlow(t, k, &ff, up, maxDests)
	for _, ua := range s.uas {
		d.uas = addUA(d.uas, ua)
	}
	if len(s.leaks) == 0 && len(s.findings) == 0 {
		return
	}
	dest := destOf(k, t, nameSrc, channel)
	leaks, behaviour := leak.FlowBehaviour(s.leaks, dest)
	for _, l := range leaks {
		l.Dest = dest
		d.addLeak(l)
	}
	for _, fis := range [2][]audit.Finding{s.findings, behaviour} { // not append(s.findings, ...): the session's array is reused (release)
		for _, fi := range fis {
			fi.Dest = dest
			d.addFinding(fi)
		}
	}
}

func (d *devAgg) addLeak(l audit.Leak) {
	k := leakRow{l.Identifier, l.Value, l.Encoding, l.Location, l.Dest.IP, l.Dest.Port}
	if i, ok := d.leakRows[k]; ok {
		foldLeak(&d.leaks[i], l)
		return
	}
	if len(d.leaks) >= maxDeviceRows {
		d.leaksDropped += uint64(max(l.Count, 1))
		return
	}
	if d.leakRows == nil {
		d.leakRows = map[leakRow]int{}
	}
	d.leakRows[k] = len(d.leaks)
	d.leaks = append(d.leaks, l)
}

// addFinding files a finding, merging it into the row of the same kind,
// message and destination.
func (d *devAgg) addFinding(fi audit.Finding) {
	fi.Count = max(fi.Count, 1)
	k := findingRow{fi.Severity, fi.Kind, fi.Message, fi.Dest.IP, fi.Dest.Transport, fi.Dest.Port}
	if i, ok := d.findingRows[k]; ok {
		foldFinding(&d.findings[i], fi)
		return
	}
	if len(d.findings) >= maxDeviceRows {
		d.findingsDropped += uint64(fi.Count)
		return
	}
	if d.findingRows == nil {
		d.findingRows = map[findingRow]int{}
	}
	d.findingRows[k] = len(d.findings)
	d.findings = append(d.findings, fi)
}

// foldLeak adds a repeat l to its row o: counts and spellings add up, and
// the row keeps the earliest occurrence's frame, time and destination.
func foldLeak(o *audit.Leak, l audit.Leak) {
	o.Count += l.Count
	o.Spellings = addSpellings(o.Spellings, l.Spellings)
	if l.Frame < o.Frame {
		o.Frame, o.Time, o.Dest = l.Frame, l.Time, l.Dest
	}
}

// foldFinding adds a repeat fi to its row o, as foldLeak does.
func foldFinding(o *audit.Finding, fi audit.Finding) {
	o.Count += fi.Count
	if fi.Frame < o.Frame {
		o.Frame, o.Time, o.Dest = fi.Frame, fi.Time, fi.Dest
	}
}

// dhcpRec is what DHCP told about one MAC, as of frame (the latest
// message that changed it).
type dhcpRec struct {
	info  audit.DHCPInfo
	frame uint64
}

// mergeDHCP combines two records of one MAC: the later one's fields win,
// the earlier one fills what the later one lacks.
func mergeDHCP(a, b *dhcpRec) *dhcpRec {
	if b.frame > a.frame {
		a, b = b, a
	}
	out := *a
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&out.info.Hostname, b.info.Hostname)
	fill(&out.info.VendorClass, b.info.VendorClass)
	fill(&out.info.Fingerprint, b.info.Fingerprint)
	fill(&out.info.RequestedIP, b.info.RequestedIP)
	fill(&out.info.AssignedIP, b.info.AssignedIP)
	return &out
}

func (inv *inventory) dhcp(ev dhcp.Event, frame uint64) {
	if ev.ClientMAC == "" {
		return
	}
	rec := inv.dhcpByMAC[ev.ClientMAC]
	if rec == nil {
		if len(inv.dhcpByMAC) >= maxDevices {
			return // DHCP starvation from random MACs: keep the first ones
		}
		rec = &dhcpRec{}
		inv.dhcpByMAC[ev.ClientMAC] = rec
	}
	rec.frame = max(rec.frame, frame)
	info := &rec.info
	if ev.Hostname != "" {
		info.Hostname = ev.Hostname
	} else if ev.FQDN != "" && info.Hostname == "" {
		info.Hostname = ev.FQDN
	}
	if ev.VendorClass != "" {
		info.VendorClass = ev.VendorClass
	}
	if ev.ParamList != "" {
		info.Fingerprint = ev.ParamList
	}
	if ev.RequestedIP != "" {
		info.RequestedIP = ev.RequestedIP
	}
	if ev.YourIP != "" && (ev.MsgType == "ack" || ev.MsgType == "ACK" || strings.EqualFold(ev.MsgType, "dhcpack")) {
		info.AssignedIP = ev.YourIP
	}
}

// mdnsNames records "<name>.local" answers naming the address they map to.
func (inv *inventory) mdnsNames(f *flow.Flow, msg *dns.Message) {
	msg.AddressRecords(func(owner []byte, ip netip.Addr) {
		name := bytes.TrimSuffix(bytes.TrimSuffix(owner, []byte(".")), []byte(".local"))
		if cur, ok := inv.mdnsByIP[ip]; len(name) > 0 && (ok && string(name) < cur || !ok && len(inv.mdnsByIP) < maxDevices) {
			inv.mdnsByIP[ip] = string(name)
		}
	})
}

// protocolName records a name a device gave itself in a protocol
// (proto.DeviceName: SMTP EHLO, ...), the alphabetically first per address.
func (inv *inventory) protocolName(ip netip.Addr, name string) {
	if cur, ok := inv.protoByIP[ip]; ok && name < cur || !ok && len(inv.protoByIP) < maxDevices {
		inv.protoByIP[ip] = name
	}
}

// netbiosNames records NetBIOS names a host registers or announces for
// itself (workstation <00> names).
func (inv *inventory) netbiosNames(src netip.Addr, ev netbios.Event) {
	for _, r := range ev.Records {
		name, ok := strings.CutSuffix(r.Name, "<00>")
		if !ok || name == "" {
			continue
		}
		name = strings.TrimSpace(name)
		for _, a := range r.Addrs {
			if ip, err := netip.ParseAddr(a); err == nil && (inv.netbiosByIP[ip] == "" || name < inv.netbiosByIP[ip]) {
				inv.netbiosByIP[ip] = name
			}
		}
	}
}

// resolve makes the end-of-run decisions on the merged inventory: the LAN
// view and gateways (decideLAN), then the side of every pending pair. When
// aliases is set it returns the final device key of each provisional id of
// the flow records: pending pairs', and devices folded into otherDevices
// (a run that keeps no flow records has no use for them).
func (inv *inventory) resolve(l *lanEvidence, aliases bool) map[string]string {
	v := inv.decideLAN(l)
	inv.view = v
	inv.cutPending(maxPending)
	inv.cutDevs(maxDevices)
	for _, d := range inv.devs {
		d.dests.finish(inv.tab, maxDests)
	}
	// The pairs are filed in order of their provisional ids; past
	// maxDevices devices in all, a pair's device is filed under
	// otherDevices (with its addresses). What decides a pair's side and
	// makes its rows depends on the pair alone (and reads the string
	// table): that is done on GOMAXPROCS goroutines a block of pairs at a
	// time, ahead of the filing, which stays in order on this one.
	sides := make([]side, 0, len(inv.pending)+len(inv.evicted))
	for k, pp := range inv.pending {
		sides = append(sides, side{key: k, pp: pp})
	}
	// The sides hold the pairs now, and let each go once it is filed.
	inv.pending = map[pairKey]*pendingPair{}
	workers := resolveWorkers()
	inParallel(len(sides), 4096, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sides[i].id = sides[i].key.id()
		}
	})
	sortSides(sides, workers)
	inv.tab.id("mixed") // a side's capped rows fold into a row of this channel: interned now, the table is only read meanwhile
	inv.sidesInOrder(sides, v, workers, func(sd *side, ms *madeSide) {
		pp, key := sd.pp, ms.key
		sd.dev = key
		cur := inv.devs[key]
		if cur == nil && len(inv.devs) >= maxDevices {
			inv.overflow += uint64(ms.flows)
			inv.folded = append(inv.folded, key)
			cur = inv.devs[otherDevices]
			if cur == nil {
				cur = &devAgg{tab: inv.tab}
				cur.d.ID = otherDevices
				inv.devs[otherDevices] = cur
			}
		}
		if cur == nil {
			inv.devs[key] = inv.pairSide(pp, ms, sd.clientSide)
		} else {
			inv.addSide(cur, pp, ms, sd.clientSide)
		}
		// Filed: its side's rows are the device's now; the rest of the pair
		// (its rows by both ports, its leaks and findings) is let go.
		sd.pp = nil
	})
	if !aliases {
		inv.evicted, inv.folded = nil, nil
		return nil
	}
	for _, p := range inv.evicted {
		sides = append(sides, side{key: p.key, id: p.key.id(), clientSide: p.clientSide})
	}
	names := make(map[string]string, len(sides)+len(inv.folded))
	for _, p := range sides {
		key := p.dev
		if key == "" { // evicted
			k := &p.key
			key = hostKey(k.sHas, k.sMAC, k.server())
			if p.clientSide {
				key = hostKey(k.cHas, k.cMAC, k.client())
			}
		}
		if inv.devs[key] == nil {
			key = otherDevices
		}
		names[p.id] = key
	}
	for _, key := range inv.folded {
		if inv.devs[key] == nil {
			names[key] = otherDevices
		}
	}
	inv.evicted, inv.folded = nil, nil
	return names
}

// devices builds the sorted device list (after resolve).
func (inv *inventory) devices() []*devAgg {
	out := make([]*devAgg, 0, len(inv.devs))
	for _, d := range inv.devs {
		if a, err := netip.ParseAddr(strings.TrimPrefix(d.d.ID, "ip:")); err == nil && !d.hasMAC && notLANDevice(a) {
			continue // a broadcast or multicast address is not a device
		}
		out = append(out, d)
	}
	// The gateway is not a device, unless it is all there is (a capture
	// taken behind NAT); a lab device never counts as the gateway.
	if v := inv.view; v != nil && len(v.gateway) > 0 {
		kept := slices.DeleteFunc(slices.Clone(out), func(d *devAgg) bool { return d.hasMAC && v.gateway[d.mac] && !inv.isKnown(d) })
		if len(kept) > 0 {
			out = kept
		}
	}
	slices.SortFunc(out, func(a, b *devAgg) int { return cmp.Compare(a.d.ID, b.d.ID) })
	return out
}

func (inv *inventory) isKnown(d *devAgg) bool {
	for _, kd := range inv.known {
		if matchKnown(kd, d) {
			return true
		}
	}
	return false
}

// name picks the device name: --devices file, DHCP hostname, mDNS name,
// OUI vendor + MAC tail, else the address.
func (inv *inventory) name(d *devAgg) {
	dev := &d.d
	if dev.MAC != "" {
		if v, ok := oui.Lookup(d.mac[:]); ok {
			dev.Vendor = v
		}
		if rec := inv.dhcpByMAC[dev.MAC]; rec != nil {
			info := &rec.info
			dev.DHCP = info
			if info.Hostname != "" && !slices.Contains(dev.Hostnames, info.Hostname) {
				dev.Hostnames = append(dev.Hostnames, info.Hostname)
			}
		}
	}
	for _, kd := range inv.known {
		if matchKnown(kd, d) {
			dev.ID = kd.ID // the lab's own name for it, stable across captures
			dev.Name, dev.NameSource = kd.Name, "devices-file"
			if dev.Name == "" {
				dev.Name = kd.ID
			}
			dev.Model, dev.OS, dev.Notes = kd.Model, kd.OS, kd.Notes
			break
		}
	}
	var ips []netip.Addr
	var nbName, protoName string
	for ip := range d.ips {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	for _, ip := range ips {
		dev.IPs = append(dev.IPs, ip.String())
		if n := inv.mdnsByIP[ip]; n != "" && !slices.Contains(dev.Hostnames, n) {
			dev.Hostnames = append(dev.Hostnames, n)
		}
		if n := inv.netbiosByIP[ip]; n != "" && !slices.Contains(dev.Hostnames, n) {
			dev.Hostnames = append(dev.Hostnames, n)
			if nbName == "" {
				nbName = n
			}
		}
		if n := inv.protoByIP[ip]; n != "" && protoName == "" {
			protoName = n
		}
	}
	if dev.Name != "" {
		return
	}
	switch {
	case dev.DHCP != nil && dev.DHCP.Hostname != "":
		dev.Name, dev.NameSource = dev.DHCP.Hostname, "dhcp"
	case len(dev.Hostnames) > 0 && dev.Hostnames[0] != nbName:
		dev.Name, dev.NameSource = dev.Hostnames[0], "mdns"
	case nbName != "":
		dev.Name, dev.NameSource = nbName, "netbios"
	case protoName != "":
		dev.Name, dev.NameSource = protoName, "protocol"
	case dev.MAC != "":
		tail := dev.MAC[9:]
		if dev.Vendor != "" {
			dev.Name, dev.NameSource = shortVendor(dev.Vendor)+" "+tail, "oui"
		} else if d.mac[0]&2 != 0 {
			dev.Name, dev.NameSource = "random-MAC "+tail, "mac"
		} else {
			dev.Name, dev.NameSource = "device "+tail, "mac"
		}
	case len(dev.IPs) > 0:
		dev.Name, dev.NameSource = dev.IPs[0], "ip"
	default:
		dev.Name, dev.NameSource = dev.ID, "id"
	}
}

func matchKnown(kd lab.Device, d *devAgg) bool {
	if kd.MAC != "" && d.d.MAC != "" {
		if m, err := net.ParseMAC(kd.MAC); err == nil && strings.EqualFold(m.String(), d.d.MAC) {
			return true
		}
	}
	for _, s := range kd.IPs {
		if a, err := netip.ParseAddr(s); err == nil && d.ips[a] {
			return true
		}
	}
	return false
}

// shortVendor trims registry suffixes: "Xiaomi Communications Co Ltd" → "Xiaomi Communications".
func shortVendor(v string) string {
	for _, suf := range []string{" Co., Ltd.", " Co.,Ltd.", " Co.,Ltd", " Co., Ltd", " Co Ltd", " Ltd.", " Ltd", " Inc.", " Inc", ", Inc.", " Corporation", " Corp.", " GmbH", " LLC", " Limited", " Technology", " Technologies"} {
		v = strings.TrimSuffix(strings.TrimSpace(v), suf)
	}
	return strings.TrimRight(v, ", ")
}
