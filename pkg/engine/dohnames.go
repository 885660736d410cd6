package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// Names from DNS over HTTPS, in one pass. A DoH answer is decoded deep
// inside its flow (HTTP/2 frames, in clear or decrypted) by the worker that
// owns the flow, while the other goroutines are elsewhere in the capture,
// so it cannot go into the name caches as UDP answers do (docs/design.md,
// "Naming"): which later flows it named would depend on the number of
// goroutines. Instead each worker notes its DoH answers (frame, client,
// address, name), and at the end, once every answer is known, the
// destination rows that no source ranking above "dns" named, and whose
// flows all began after an answer that listed their server's address,
// take that answer's name with name_source "dns" (it is a DNS answer the
// client received before the flow began), and so do their flow records,
// leaks and findings. Nothing is kept per flow: a row is renamed whole, or
// not at all (docs/decoders.md, "Not done"). Runs without DoH answers do
// nothing here but one length check.

// maxDoHAnswers caps the answer records a worker keeps (its answers come
// in its packet order, so what the cap keeps does not depend on timing).
const maxDoHAnswers = 4096

// dohAnswer is one address a DoH answer listed.
type dohAnswer struct {
	frame  uint64 // run-wide frame of the message
	client netip.Addr
	addr   netip.Addr
	name   string // the first name of its CNAME chain, lower-cased
}

// noteDoH keeps the addresses a DoH response listed (observe).
func (w *worker) noteDoH(s *session, m proto.Meta, ev dns.DoHEvent) {
	if ev.Message == nil || !ev.Message.Response {
		return
	}
	dns.AddressNames(ev.Message, func(addr netip.Addr, name string) {
		if len(w.doh) >= maxDoHAnswers {
			w.counter["doh_answers_dropped"]++
			return
		}
		w.doh = append(w.doh, dohAnswer{frame: m.Frame, client: s.f.Client.Addr(), addr: addr, name: name})
	})
}

// dohIndex is every worker's answers by address, each list in frame order.
type dohIndex map[netip.Addr][]dohAnswer

func newDoHIndex(workers []*worker) dohIndex {
	var idx dohIndex
	for _, w := range workers {
		for _, a := range w.doh {
			if idx == nil {
				idx = dohIndex{}
			}
			idx[a.addr] = append(idx[a.addr], a)
		}
	}
	for _, l := range idx {
		slices.SortFunc(l, func(a, b dohAnswer) int {
			return cmp.Or(cmp.Compare(a.frame, b.frame), a.client.Compare(b.client), cmp.Compare(a.name, b.name))
		})
	}
	return idx
}

// name is the name of addr for a row whose first flow began at frame
// (device addresses ips), as the name cache chooses among UDP answers: the
// latest answer before frame that the device received, else the latest
// any client received; ties go to the alphabetically first name.
func (idx dohIndex) name(addr netip.Addr, frame uint64, ips map[netip.Addr]bool) (string, bool) {
	var own, any *dohAnswer
	for i, a := range idx[addr] {
		if a.frame >= frame {
			break
		}
		pick := func(cur *dohAnswer) *dohAnswer {
			if cur == nil || a.frame > cur.frame || a.frame == cur.frame && a.name < cur.name {
				return &idx[addr][i]
			}
			return cur
		}
		if ips[a.client] {
			own = pick(own)
		}
		any = pick(any)
	}
	switch {
	case own != nil:
		return own.name, true
	case any != nil:
		return any.name, true
	}
	return "", false
}

// dohRowKey is a destination row of one device as its flow records and
// leaks spell it.
type dohRowKey struct {
	device, endpoint, transport, name string
}

// dohRenames is what nameFromDoH renamed: the new name of each row.
type dohRenames map[dohRowKey]string

// nameFromDoH renames the rows that DoH answers name (see above) and the
// leaks and findings filed under them; called by finish after the pending
// pairs became devices, before the devices are built. The flow records,
// made after the devices, are renamed with what it returns
// (keptList.records). It returns nil when nothing was renamed.
func (e *engine) nameFromDoH() dohRenames {
	idx := newDoHIndex(e.pool.workers)
	if len(idx) == 0 {
		return nil
	}
	dnsRank := int32(nameRank["dns"])
	var renames dohRenames
	// Scratch, reused from device to device.
	first := map[destKey]uint64{}
	to := map[destKey]uint32{}
	var sets []*destSet
	for _, d := range e.inv.devs {
		if d.tab == nil {
			continue
		}
		t := d.tab
		// The first frame of each row over the device's sets (the
		// pending pairs' rows are merged into its own later).
		clear(first)
		clear(to)
		sets = append(sets[:0], &d.dests)
		for i := range d.parts {
			sets = append(sets, &d.parts[i])
		}
		for _, s := range sets {
			for i := range s.ents {
				k, r := s.ents[i].k, &s.ents[i].r
				if r.nameRank <= dnsRank || idx[k.addr()] == nil {
					continue
				}
				if f, ok := first[k]; !ok || r.firstFrame < f {
					first[k] = r.firstFrame
				}
			}
		}
		if len(first) == 0 {
			continue
		}
		for k, frame := range first {
			if n, ok := idx.name(k.addr(), frame, d.ips); ok {
				to[k] = t.id(n)
				if renames == nil {
					renames = dohRenames{}
				}
				renames[dohRowKey{d.d.ID, netip.AddrPortFrom(k.addr(), k.port).String(), t.str(k.tr), t.str(k.name)}] = n
			}
		}
		if len(to) == 0 {
			continue
		}
		src := t.id("dns")
		for _, s := range sets {
			s.rename(t, to, src, dnsRank)
		}
		for i := range d.leaks {
			renames.dest(d.d.ID, &d.leaks[i].Dest)
		}
		for i := range d.findings {
			renames.dest(d.d.ID, &d.findings[i].Dest)
		}
	}
	if len(renames) > 0 {
		e.report.Counters["doh_named_destinations"] += uint64(len(renames))
	}
	return renames
}

// rename gives the rows of the keys in to their new name (string id) with
// source src: a renamed row joins the row already under its new key.
func (s *destSet) rename(t *strtab, to map[destKey]uint32, src uint32, rank int32) {
	if !slices.ContainsFunc(s.ents, func(e destEnt) bool { _, ok := to[e.k]; return ok }) {
		return
	}
	ents := s.ents
	var dec map[destKey]*audit.Decryption
	var more map[destKey][]string
	if s.x != nil {
		dec, more = s.x.dec, s.x.more
		s.x.idx, s.x.dec, s.x.more = nil, nil, nil
	}
	s.ents = make([]destEnt, 0, len(ents))
	for _, e := range ents {
		k, r := e.k, e.r
		if n, ok := to[k]; ok {
			k.name = n
			r.nameSrc, r.nameRank, r.nameFrame = src, rank, r.firstFrame
		}
		s.mergeRow(t, k, &r, dec[e.k], more[e.k], unbounded)
	}
}

// dest renames a leak's or finding's destination.
func (rn dohRenames) dest(device string, d *audit.Dest) {
	ep, err := netip.ParseAddr(d.IP)
	if err != nil {
		return
	}
	if n, ok := rn[dohRowKey{device, netip.AddrPortFrom(ep, d.Port).String(), d.Transport, d.Name}]; ok {
		d.Name, d.NameSource = n, "dns"
	}
}

// flow renames a flow record filed under a renamed row (its device the
// client: the row is its server's).
func (rn dohRenames) flow(f *audit.Flow) bool {
	if len(rn) == 0 || nameRank[f.NameSource] <= nameRank["dns"] {
		return false
	}
	n, ok := rn[dohRowKey{f.Device, f.Server, f.Transport, f.Name}]
	if ok {
		f.Name, f.NameSource = n, "dns"
	}
	return ok
}

// rekey moves the renames to the devices' final IDs (renamed: final ID by
// the ID a device had when its rows were renamed).
func (rn dohRenames) rekey(renamed map[string]string) dohRenames {
	if len(rn) == 0 || len(renamed) == 0 {
		return rn
	}
	out := make(dohRenames, len(rn))
	for k, n := range rn {
		if id, ok := renamed[k.device]; ok {
			k.device = id
		}
		out[k] = n
	}
	return out
}

// dohSpool renames spooled flow records as they are read
// (spooledRecords.Each).
type dohSpool struct {
	rn      dohRenames
	servers map[string]bool // the renamed rows' endpoints
}

// spool returns the renames of spooled records; nil when there are none.
func (rn dohRenames) spool() *dohSpool {
	if len(rn) == 0 {
		return nil
	}
	sp := &dohSpool{rn: rn, servers: map[string]bool{}}
	for k := range rn {
		sp.servers[k.endpoint] = true
	}
	return sp
}

// flowJSON renames a spooled flow record (its JSON as spooled, under the
// provisional device ID dev; renamed gives final IDs); it returns js itself
// when the flow keeps its name. Only records to a renamed row's endpoint
// are decoded.
func (sp *dohSpool) flowJSON(js []byte, dev string, renamed map[string]string) []byte {
	if sp == nil {
		return js
	}
	const key = `,"server":"`
	i := bytes.Index(js, []byte(key))
	if i < 0 {
		return js
	}
	srv := js[i+len(key):]
	if j := bytes.IndexByte(srv, '"'); j < 0 || !sp.servers[string(srv[:j])] {
		return js
	}
	var f audit.Flow
	if err := json.Unmarshal(js, &f); err != nil {
		return js
	}
	if id, ok := renamed[dev]; ok {
		f.Device = id
	}
	if !sp.rn.flow(&f) {
		return js
	}
	f.Device = dev // the device is renamed in the JSON by the caller
	out, err := f.AppendJSON(nil)
	if err != nil {
		return js
	}
	return out
}
