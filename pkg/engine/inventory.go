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
// with devices × destinations, not with the number of flows.
type inventory struct {
	lan         []netip.Prefix
	known       []lab.Device
	devs        map[string]*devAgg
	pending     map[pairKey]*pendingPair
	dhcpByMAC   map[string]*dhcpRec
	mdnsByIP    map[netip.Addr]string
	netbiosByIP map[netip.Addr]string
	protoByIP   map[netip.Addr]string // names devices gave themselves in a protocol (SMTP EHLO...)
	maxDests    int
	overflow    uint64 // flows filed under otherDevices
	// Evidence for the end-of-run decisions (lan.go).
	macEv  *smallestMap[[6]byte, *macEvidence]
	onLink *smallestMap[netip.Addr, struct{}]
	ipMAC  *smallestMap[netip.Addr, *[6]byte] // LAN address → smallest MAC seen with it
	view   *lanView                           // the decisions, once made
}

// pairKey is the two hosts of flows whose device side is decided at the
// end: the client's address is not local by the fixed ranges, so what is
// learnt later (LAN prefixes, the gateway) may make either side the device.
type pairKey struct {
	cMAC, sMAC [6]byte
	cHas, sHas bool
	c, s       netip.Addr
}

// pendingPair aggregates the flows of one pairKey both ways: as if the
// client were the device and as if the server were; one is kept at the end.
type pendingPair struct {
	id                 string // provisional device id of the flow records
	asClient, asServer *devAgg
}

// maxPending bounds the pairs of one worker; flows of further pairs are
// filed at once by the fixed ranges.
const maxPending = 1 << 16

// maxDevices bounds the devices kept; flows of further devices are filed
// under one device with the id otherDevices.
const (
	maxDevices   = 4096
	otherDevices = "other-devices"
)

type devAgg struct {
	d        audit.Device
	mac      [6]byte
	hasMAC   bool
	ips      map[netip.Addr]bool
	dests    map[destKey]*destAgg
	leaks    []audit.Leak
	findings []audit.Finding
	uas      []string
	other    *destAgg // destinations beyond the cap
	// Row indexes: a repeat of a leak or finding adds to its row's count.
	leakRows    map[leakRow]int
	findingRows map[findingRow]int
	// Rows not kept past maxDeviceRows.
	leaksDropped, findingsDropped uint64
}

// maxDeviceRows caps the leak rows and the finding rows of one device.
const maxDeviceRows = 10000

type leakRow struct {
	identifier, value, encoding, location, ip string
	port                                      uint16
}

type findingRow struct {
	severity                 audit.Severity
	kind, message, ip, trans string
	port                     uint16
}

// destKey is one destination row: a server endpoint under one name (""
// for flows no name was found for), so that services sharing an address
// (CDNs, cloud front ends) keep their own rows.
type destKey struct {
	ip        netip.Addr
	port      uint16
	transport string
	name      string
}

type destAgg struct {
	d         audit.Destination
	ip        netip.Addr
	nameRank  int
	nameFrame uint64 // first frame of the flow that gave the name
	protocols []string
	plainUp   uint64 // bytes up on plaintext channels
}

// name sources, best first.
var nameRank = map[string]int{"sni": 1, "http-host": 2, "quic-sni": 3, "protocol": 4, "dns": 5, "ptr": 6, "": 9}

func newInventory(lan []netip.Prefix, known []lab.Device) *inventory {
	return &inventory{lan: lan, known: known, devs: map[string]*devAgg{}, pending: map[pairKey]*pendingPair{},
		dhcpByMAC: map[string]*dhcpRec{}, mdnsByIP: map[netip.Addr]string{}, netbiosByIP: map[netip.Addr]string{}, protoByIP: map[netip.Addr]string{}, maxDests: 4096,
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
		k := pairKey{c: c, s: s}
		if f.HasMAC {
			k.cMAC, k.sMAC = f.ClientMAC, f.ServerMAC
			k.cHas, k.sHas = usableMAC(k.cMAC), usableMAC(k.sMAC)
		}
		pp = inv.pending[k]
		if pp == nil && len(inv.pending) < maxPending {
			pp = &pendingPair{asClient: newDevAgg(hostKey(k.cHas, k.cMAC, c), k.cMAC, k.cHas, f),
				asServer: newDevAgg(hostKey(k.sHas, k.sMAC, s), k.sMAC, k.sHas, f)}
			pp.id = "pair:" + pp.asClient.d.ID + "/" + c.String() + ">" + pp.asServer.d.ID + "/" + s.String()
			inv.pending[k] = pp
		}
		if pp != nil {
			pp.asClient.touch(c, f)
			pp.asServer.touch(s, f)
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
	if d == nil && len(inv.devs) >= maxDevices {
		// Spoofed sources (a SYN flood from random MACs) must not grow
		// the inventory without bound: the rest share one device.
		inv.overflow++
		key, hasMAC, addr = otherDevices, false, netip.Addr{}
		d = inv.devs[key]
	}
	if d == nil {
		d = newDevAgg(key, mac, hasMAC, f)
		inv.devs[key] = d
	}
	d.touch(addr, f)
	return d, deviceIsClient, nil
}

// hostKey is the inventory key of a host: its MAC, else its address.
func hostKey(hasMAC bool, mac [6]byte, addr netip.Addr) string {
	if hasMAC {
		return "mac:" + macString(mac)
	}
	return "ip:" + addr.String()
}

func newDevAgg(key string, mac [6]byte, hasMAC bool, f *flow.Flow) *devAgg {
	// The maps are made on first use: of a pending pair's two sides, one
	// is dropped at the end.
	d := &devAgg{mac: mac, hasMAC: hasMAC}
	d.d.ID = key
	if hasMAC {
		d.d.MAC = macString(mac)
	}
	d.d.FirstSeen = f.First.UTC()
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

// addFlow files a finished flow under its device and destination.
func (inv *inventory) addFlow(d *devAgg, deviceIsClient bool, f *flow.Flow, s *session, name, nameSrc, channel, protocol string) {
	up, down := proto.ToServer, proto.ToClient
	srv := f.Server
	if !deviceIsClient {
		up, down = down, up
		srv = f.Client
	}
	k := destKey{ip: srv.Addr(), port: srv.Port(), transport: f.Transport(), name: name}
	da := d.dests[k]
	if da == nil {
		if len(d.dests) >= inv.maxDests {
			if d.other == nil {
				d.other = &destAgg{d: audit.Destination{Dest: audit.Dest{Name: "(other destinations)", IP: "", Transport: f.Transport(), Channel: "mixed"}}}
			}
			da = d.other
		} else {
			da = &destAgg{ip: srv.Addr(), nameRank: 10}
			da.d.IP = srv.Addr().String()
			da.d.Port = srv.Port()
			da.d.Transport = f.Transport()
			da.d.FirstSeen = f.First.UTC()
			da.d.FirstFrame = f.FirstFrame
			if d.dests == nil {
				d.dests = map[destKey]*destAgg{}
			}
			d.dests[k] = da
		}
	}
	if r := nameRank[nameSrc]; better(r, f.FirstFrame, name, da.nameRank, da.nameFrame, da.d.Name) {
		da.d.Name, da.d.NameSource, da.nameRank, da.nameFrame = name, nameSrc, r, f.FirstFrame
	}
	if audit.Channel(channel).Replaces(audit.Channel(da.d.Channel)) {
		da.d.Channel = channel
	}
	if protocol != "" && !slices.Contains(da.protocols, protocol) {
		da.protocols = append(da.protocols, protocol)
	}
	da.d.Flows++
	da.d.Decryption = addDecryption(da.d.Decryption, s)
	da.d.PacketsUp += f.Packets[up]
	da.d.PacketsDown += f.Packets[down]
	da.d.BytesUp += f.Bytes[up]
	da.d.BytesDown += f.Bytes[down]
	if audit.Channel(channel).Plaintext() {
		da.plainUp += f.Bytes[up]
	}
	if !f.First.IsZero() && (da.d.FirstSeen.IsZero() || f.First.Before(da.d.FirstSeen)) {
		da.d.FirstSeen = f.First.UTC()
	}
	if f.FirstFrame < da.d.FirstFrame || da.d.FirstFrame == 0 {
		da.d.FirstFrame = f.FirstFrame
	}
	if f.Last.After(da.d.LastSeen) {
		da.d.LastSeen = f.Last.UTC()
	}
	for _, ua := range s.uas {
		if !slices.Contains(d.uas, ua) && len(d.uas) < 256 {
			d.uas = append(d.uas, ua)
		}
	}
	dest := da.d.Dest
	dest.Name, dest.NameSource = name, nameSrc
	if dest.Name == "" {
		dest.Name, dest.NameSource = da.d.Name, da.d.NameSource
	}
	dest.Channel = channel
	leaks, behaviour := leak.FlowBehaviour(s.leaks, dest)
	for _, l := range leaks {
		l.Dest = dest
		d.addLeak(l)
	}
	for _, fi := range append(s.findings, behaviour...) {
		fi.Dest = dest
		d.addFinding(fi)
	}
}

func (d *devAgg) addLeak(l audit.Leak) {
	k := leakRow{l.Identifier, l.Value, l.Encoding, l.Location, l.Dest.IP, l.Dest.Port}
	if i, ok := d.leakRows[k]; ok {
		o := &d.leaks[i]
		o.Count += l.Count
		o.Spellings = addSpellings(o.Spellings, l.Spellings)
		if l.Frame < o.Frame {
			o.Frame, o.Time, o.Dest = l.Frame, l.Time, l.Dest
		}
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
		o := &d.findings[i]
		o.Count += fi.Count
		if fi.Frame < o.Frame {
			o.Frame, o.Time, o.Dest = fi.Frame, fi.Time, fi.Dest
		}
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
// view and gateways (decideLAN), then the side of every pending pair. It
// returns the final device key of each pending pair's provisional id.
func (inv *inventory) resolve(l *lanEvidence) map[string]string {
	v := inv.decideLAN(l)
	inv.view = v
	keys := make([]pairKey, 0, len(inv.pending))
	for k := range inv.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pairKey) int { return cmp.Compare(inv.pending[a].id, inv.pending[b].id) })
	aliases := make(map[string]string, len(keys))
	for _, k := range keys {
		pp := inv.pending[k]
		cGW, sGW := k.cHas && v.gateway[k.cMAC], k.sHas && v.gateway[k.sMAC]
		var clientSide bool
		switch {
		case sGW && !cGW:
			clientSide = true
		case cGW && !sGW:
			clientSide = false
		default:
			clientSide = v.local(k.c) || !v.local(k.s)
		}
		d := pp.asServer
		if clientSide {
			d = pp.asClient
		}
		key := d.d.ID
		cur := inv.devs[key]
		if cur == nil && len(inv.devs) >= maxDevices && key != otherDevices {
			inv.overflow += uint64(d.flows())
			d.d.ID, d.d.MAC, d.hasMAC = otherDevices, "", false
			key, cur = otherDevices, inv.devs[otherDevices]
		}
		if cur == nil {
			inv.devs[key] = d
		} else {
			cur.merge(d)
		}
		aliases[pp.id] = key
	}
	inv.pending = map[pairKey]*pendingPair{}
	return aliases
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
