package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
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
// and dropped. A record is held packed (keptSlot: its first frame and
// a short string of varints, ~60–90 bytes in all against the 248 of a
// keptFlow) with its strings interned, and becomes audit.Flow only when
// the run is merged.
type keptFlows struct {
	mu      sync.Mutex
	max     int
	heap    []keptSlot // a max-heap by compareSlots while full
	strs    keptStrs   // the records' strings, each held once
	buf     []byte     // packing buffer
	dropped uint64
}

// keptSlot is one packed record: the first sort key as a number, the
// rest as written by pack.
type keptSlot struct {
	frame uint64
	rec   string
}

// keptFlow is a flow record unpacked: addresses as netip.AddrPort (no
// strings per record), the transport and state as bytes, times as
// seconds and nanoseconds; the strings are the session's and the
// inventory's own (a pending pair's provisional device ID is made for
// its record).
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
		k.heap = append(k.heap, k.pack(r))
		if len(k.heap) == k.max {
			k.heapify()
		}
		return
	}
	k.dropped++
	if k.max == 0 || k.compareTo(r, &k.heap[0]) >= 0 {
		return
	}
	s := k.pack(r) // before the old record's strings are let go: they may be shared
	k.release(&k.heap[0])
	k.heap[0] = s
	k.down(0)
}

// compareSlots orders two packed records as keptFlow.compare does,
// unpacking them only when their first frames are equal.
func (k *keptFlows) compareSlots(a, b *keptSlot) int {
	if a.frame != b.frame {
		return cmp.Compare(a.frame, b.frame)
	}
	var x, y keptFlow
	k.strs.unpack(a, &x, nil, nil)
	k.strs.unpack(b, &y, nil, nil)
	return x.compare(&y)
}

// compareTo compares an unpacked record with a packed one.
func (k *keptFlows) compareTo(r *keptFlow, s *keptSlot) int {
	if r.firstFrame != s.frame {
		return cmp.Compare(r.firstFrame, s.frame)
	}
	var y keptFlow
	k.strs.unpack(s, &y, nil, nil)
	return r.compare(&y)
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
		if c+1 < len(h) && k.compareSlots(&h[c+1], &h[c]) > 0 {
			c++
		}
		if k.compareSlots(&h[c], &h[i]) <= 0 {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// sorted returns the records in list order and forgets them and their
// strings (which the list holds until it is dropped).
func (k *keptFlows) sorted() keptList {
	h := k.heap
	slices.SortFunc(h, func(a, b keptSlot) int { return k.compareSlots(&a, &b) })
	l := keptList{slots: h, strs: k.strs}
	k.heap, k.strs = nil, keptStrs{}
	// Only unpacking reads the strings from now on.
	l.strs.devs.ids, l.strs.devs.refs, l.strs.devs.free = nil, nil, nil
	l.strs.other.ids, l.strs.other.refs, l.strs.other.free = nil, nil, nil
	return l
}

// keptList is the kept records in list order, unpacked one at a time.
type keptList struct {
	slots []keptSlot
	strs  keptStrs
	cur   keptFlow
}

// renameDevices gives the records filed under a device ID in ids the
// ID it maps to, in the string table: every record at once, and the IDs
// it replaces (a pending pair's provisional ID: ~50 bytes each, one per
// pair) are let go.
func (l *keptList) renameDevices(ids map[string]string) {
	if len(ids) == 0 {
		return
	}
	strs := l.strs.devs.strs
	for i, s := range strs {
		if to, ok := ids[s]; ok {
			strs[i] = to
		}
	}
}

func (l *keptList) len() int { return len(l.slots) }

// at unpacks record i; it is valid until the next call.
func (l *keptList) at(i int) *keptFlow {
	l.strs.unpack(&l.slots[i], &l.cur, nil, nil)
	return &l.cur
}

// remap is, per worker, the number in the list of each kept flow by the
// worker's flow ID, for the events kept in memory (nil for a worker
// without events).
func (l *keptList) remap(workers []*worker) []map[uint64]uint64 {
	remap := make([]map[uint64]uint64, len(workers))
	any := false
	for i, w := range workers {
		if len(w.events) > 0 {
			remap[i], any = map[uint64]uint64{}, true
		}
	}
	for i := 0; any && i < l.len(); i++ {
		k := l.at(i)
		if m := remap[k.worker]; m != nil {
			m[k.local] = uint64(i + 1)
		}
	}
	return remap
}

// records makes the list's audit.Flow records, numbered from 1: the
// rows DoH answers named rename the records filed under them (doh, keyed
// by the device IDs of the list: the pending pairs' provisional IDs were
// renamed to their device's key by renameDevices), then the devices
// named at the end get their final IDs (renamed). Called once the
// devices are built, so that the records and the devices' rows are not
// both being made at once (the peak of the live heap); each packed
// record is let go as it is unpacked, and the list is empty afterwards.
func (l *keptList) records(doh dohRenames, renamed map[string]string) []audit.Flow {
	out := make([]audit.Flow, l.len())
	for i := range out {
		f := &out[i]
		*f = l.at(i).record(uint64(i + 1))
		l.slots[i] = keptSlot{}
		doh.flow(f)
		if id, ok := renamed[f.Device]; ok {
			f.Device = id
		}
	}
	*l = keptList{}
	return out
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

// Address families in a packed record.
const (
	famInvalid = iota
	fam4
	fam6
	fam6Zone // followed by the zone's string ID
)

// pack writes r as a keptSlot, taking a reference to each of its strings.
// Layout: the two address families (one byte); each address (4 or 16
// bytes, a zone's string ID) and port (2 bytes); transport, state and
// shard (a byte each); then uvarints: the five string IDs, packets,
// bytes and payload both ways, gap bytes, the worker's flow ID, the
// first time (seconds as a varint, nanoseconds), the last time (seconds
// after the first, wrapping, as a varint; nanoseconds).
func (k *keptFlows) pack(r *keptFlow) keptSlot {
	b := k.buf[:0]
	b = append(b, addrFamily(r.client.Addr())|addrFamily(r.server.Addr())<<4)
	b = k.appendAddrPort(b, r.client)
	b = k.appendAddrPort(b, r.server)
	b = append(b, r.transport, byte(r.state), r.worker)
	b = binary.AppendUvarint(b, uint64(k.strs.devs.ref(r.device)))
	for _, s := range [...]string{r.protocol, r.name, r.nameSrc, r.chanl} {
		b = binary.AppendUvarint(b, uint64(k.strs.other.ref(s)))
	}
	for _, v := range [...]uint64{r.packets[0], r.packets[1], r.bytes[0], r.bytes[1], r.payload[0], r.payload[1], r.gapBytes, r.local} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendVarint(b, r.firstSec)
	b = binary.AppendUvarint(b, uint64(r.firstNsec))
	b = binary.AppendVarint(b, int64(uint64(r.lastSec)-uint64(r.firstSec)))
	b = binary.AppendUvarint(b, uint64(r.lastNsec))
	k.buf = b
	return keptSlot{frame: r.firstFrame, rec: string(b)}
}

func addrFamily(a netip.Addr) byte {
	switch {
	case a.Is4():
		return fam4
	case !a.Is6():
		return famInvalid
	case a.Zone() != "":
		return fam6Zone
	}
	return fam6
}

func (k *keptFlows) appendAddrPort(b []byte, p netip.AddrPort) []byte {
	a := p.Addr()
	switch addrFamily(a) {
	case fam4:
		v := a.As4()
		b = append(b, v[:]...)
	case fam6:
		v := a.As16()
		b = append(b, v[:]...)
	case fam6Zone:
		v := a.As16()
		b = append(b, v[:]...)
		b = binary.AppendUvarint(b, uint64(k.strs.other.ref(a.Zone())))
	}
	return binary.BigEndian.AppendUint16(b, p.Port())
}

// release lets go of the strings of a record that leaves the heap.
func (k *keptFlows) release(s *keptSlot) {
	var ids [6]uint32
	var dev uint32
	n := k.strs.unpack(s, nil, &ids, &dev)
	for _, id := range ids[:n] {
		k.strs.other.unref(id)
	}
	k.strs.devs.unref(dev)
}

// keptStrs is the strings of the kept records: the device IDs in a table
// of their own, which the end renames in place (keptList.renameDevices),
// and the others.
type keptStrs struct {
	devs, other strTable
}

// unpack reads a packed record into r (when not nil), the IDs of its
// strings other than the device's into ids (when not nil), returning
// how many it read, and its device's string ID into dev (when not nil).
// Records are only ever written by pack, so they are not checked.
func (ks *keptStrs) unpack(s *keptSlot, r *keptFlow, ids *[6]uint32, dev *uint32) int {
	var out keptFlow
	if r == nil {
		r = &out
	}
	t := &ks.other
	b := s.rec
	n := 0
	raw := func() uint32 {
		v, w := uvarint(b)
		b = b[w:]
		return uint32(v)
	}
	id := func() uint32 {
		v := raw()
		if ids != nil {
			ids[n] = v
		}
		n++
		return v
	}
	addrPort := func(fam byte) netip.AddrPort {
		var a netip.Addr
		switch fam {
		case fam4:
			var v [4]byte
			copy(v[:], b)
			a, b = netip.AddrFrom4(v), b[4:]
		case fam6, fam6Zone:
			var v [16]byte
			copy(v[:], b)
			a, b = netip.AddrFrom16(v), b[16:]
			if fam == fam6Zone {
				a = a.WithZone(t.str(id()))
			}
		}
		port := uint16(b[0])<<8 | uint16(b[1])
		b = b[2:]
		return netip.AddrPortFrom(a, port)
	}
	fams := b[0]
	b = b[1:]
	r.client = addrPort(fams & 0xf)
	r.server = addrPort(fams >> 4)
	r.transport, r.state, r.worker = b[0], flow.State(b[1]), b[2]
	b = b[3:]
	devID := raw()
	if dev != nil {
		*dev = devID
	}
	r.device = ks.devs.str(devID)
	for _, p := range [...]*string{&r.protocol, &r.name, &r.nameSrc, &r.chanl} {
		*p = t.str(id())
	}
	for _, p := range [...]*uint64{&r.packets[0], &r.packets[1], &r.bytes[0], &r.bytes[1], &r.payload[0], &r.payload[1], &r.gapBytes, &r.local} {
		v, w := uvarint(b)
		*p, b = v, b[w:]
	}
	sec, w := varint(b)
	b = b[w:]
	nsec, w := uvarint(b)
	b = b[w:]
	d, w := varint(b)
	b = b[w:]
	lnsec, _ := uvarint(b)
	r.firstFrame = s.frame
	r.firstSec, r.firstNsec = sec, uint32(nsec)
	r.lastSec, r.lastNsec = int64(uint64(sec)+uint64(d)), uint32(lnsec)
	return n
}

// uvarint is binary.Uvarint on a string (no copy).
func uvarint(s string) (uint64, int) {
	var v uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return v | uint64(c)<<(7*i), i + 1
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	return 0, len(s) // not reached: pack wrote the record
}

// varint is binary.Varint on a string.
func varint(s string) (int64, int) {
	u, n := uvarint(s)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x, n
}

// strTable interns the kept records' strings with a count of the records
// that use each, so that it holds no more strings than the heap's
// records do (a pending pair's provisional device ID, made for each of
// its records, is held once). ID 0 is "".
type strTable struct {
	ids  map[string]uint32
	strs []string
	refs []uint32
	free []uint32
}

func (t *strTable) ref(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.ids[s]; ok {
		t.refs[id]++
		return id
	}
	if t.ids == nil {
		t.ids, t.strs, t.refs = map[string]uint32{}, []string{""}, []uint32{0}
	}
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.strs[id], t.refs[id] = s, 1
	} else {
		id = uint32(len(t.strs))
		t.strs, t.refs = append(t.strs, s), append(t.refs, 1)
	}
	t.ids[s] = id
	return id
}

func (t *strTable) unref(id uint32) {
	if id == 0 {
		return
	}
	if t.refs[id]--; t.refs[id] == 0 {
		delete(t.ids, t.strs[id])
		t.strs[id] = ""
		t.free = append(t.free, id)
	}
}

func (t *strTable) str(id uint32) string {
	if id == 0 {
		return ""
	}
	return t.strs[id]
}
