package engine

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// The destination rows of the inventory are kept without pointers, so the
// garbage collector does not mark them: strings (names, name sources,
// channels, transports, protocols) are numbers in the inventory's string
// table, times are seconds and nanoseconds, addresses 16 bytes. The
// audit.Destination of a row is made once, at the end (destSet.rows).

// strtab interns the strings of one inventory's rows. Id 0 is "".
type strtab struct {
	ids      map[string]uint32
	strs     []string
	protoIDs map[string]uint8 // protocols with a bit in destRow.protos
	protos   []string
	// Decryption counts, interned (pairRow.dec): id 0 is none. A counted
	// value is never changed; adding a session makes another id.
	decIDs  map[string]uint32
	decs    []*audit.Decryption
	decNext map[decStep]uint32
	move    *moveTab // the translation to the table this one's rows last moved to
}

// moveTab translates the ids of one string table (from) to those of
// another (to), each id looked up once: a merge moves many rows of few
// distinct strings, decryption counts and protocols.
type moveTab struct {
	from, to *strtab
	ids      []uint32 // by from's id; 0: not looked up yet (only "" is 0)
	decs     []uint32 // by from's decryption id, the same way
	bits     [64]uint64
	known    uint64 // the protocol bits of from whose bits in to are looked up
}

// moveTo is the translation of t's ids to table to.
func (t *strtab) moveTo(to *strtab) *moveTab {
	if t.move == nil || t.move.to != to {
		t.move = &moveTab{from: t, to: to}
	}
	return t.move
}

// fill looks up every id, decryption id and protocol of from: from then
// on the translation is only read, and goroutines may share it.
func (m *moveTab) fill() {
	for i := range m.from.strs {
		m.id(uint32(i))
	}
	for i := range m.from.decs {
		m.dec(uint32(i))
	}
	if n := len(m.from.protos); n > 0 {
		m.protos(1<<n - 1)
	}
}

// id is the id in to of string id i of from.
func (m *moveTab) id(i uint32) uint32 { return translate(&m.ids, m.from.strs, i, m.to.id) }

// dec is the id in to of decryption id i of from.
func (m *moveTab) dec(i uint32) uint32 { return translate(&m.decs, m.from.decs, i, m.to.decID) }

// translate is memo[i], the id in the other table of from[i], which add
// looks up there the first time; id 0 is 0 in every table.
func translate[T any](memo *[]uint32, from []T, i uint32, add func(T) uint32) uint32 {
	if i == 0 {
		return 0
	}
	if int(i) >= len(*memo) {
		*memo = append(*memo, make([]uint32, len(from)-len(*memo))...)
	}
	if (*memo)[i] == 0 {
		(*memo)[i] = add(from[i])
	}
	return (*memo)[i]
}

// protos is the protocol bits of from's set in to, and the protocols that
// have no bit there (in from's bit order).
func (m *moveTab) protos(set uint64) (out uint64, more []string) {
	for set != 0 {
		i := bits.TrailingZeros64(set)
		set &^= 1 << i
		if m.known&(1<<i) == 0 {
			m.bits[i] = m.to.protoBit(m.from.protos[i])
			m.known |= 1 << i
		}
		if b := m.bits[i]; b != 0 {
			out |= b
		} else {
			more = append(more, m.from.protos[i])
		}
	}
	return out, more
}

// decStep is one session added to the decryption counts of an id.
type decStep struct {
	from            uint32
	outcome, reason string
}

func newStrtab() *strtab {
	return &strtab{ids: map[string]uint32{"": 0}, strs: []string{""}, protoIDs: map[string]uint8{}, decs: []*audit.Decryption{nil}}
}

// decID interns decryption counts d (nil: 0).
func (t *strtab) decID(d *audit.Decryption) uint32 {
	if d == nil {
		return 0
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d/%d", d.Decrypted, d.NoKey, d.Failed)
	for _, k := range slices.Sorted(maps.Keys(d.Stopped)) {
		fmt.Fprintf(&b, "/%q=%d", k, d.Stopped[k])
	}
	key := b.String()
	if i, ok := t.decIDs[key]; ok {
		return i
	}
	if t.decIDs == nil {
		t.decIDs = map[string]uint32{}
	}
	i := uint32(len(t.decs))
	t.decs = append(t.decs, d)
	t.decIDs[key] = i
	return i
}

// dec is the decryption counts of id, shared: not to be changed.
func (t *strtab) dec(id uint32) *audit.Decryption { return t.decs[id] }

// addDec is id with the decryption outcome of session s added.
func (t *strtab) addDec(id uint32, s *session) uint32 {
	_, o, r := s.decryptOutcome()
	if o == "" {
		return id
	}
	step := decStep{id, o, r}
	if n, ok := t.decNext[step]; ok {
		return n
	}
	d := (*audit.Decryption)(nil).Merge(t.dec(id))
	if d == nil {
		d = &audit.Decryption{}
	}
	d.Add(o, r)
	n := t.decID(d)
	if t.decNext == nil {
		t.decNext = map[decStep]uint32{}
	}
	t.decNext[step] = n
	return n
}

// mergeDec is the sum of the decryption counts of ids a and b.
func (t *strtab) mergeDec(a, b uint32) uint32 {
	switch {
	case b == 0:
		return a
	case a == 0:
		return b
	}
	return t.decID((*audit.Decryption)(nil).Merge(t.dec(a)).Merge(t.dec(b)))
}

func (t *strtab) id(s string) uint32 {
	if i, ok := t.ids[s]; ok {
		return i
	}
	i := uint32(len(t.strs))
	t.strs = append(t.strs, s)
	t.ids[s] = i
	return i
}

func (t *strtab) str(i uint32) string { return t.strs[i] }

// protoBit is protocol p's bit in destRow.protos; 0 when the 64 bits are
// taken (the protocol is then kept in destExtra.more).
func (t *strtab) protoBit(p string) uint64 {
	if i, ok := t.protoIDs[p]; ok {
		return 1 << i
	}
	if len(t.protos) == 64 {
		return 0
	}
	t.protoIDs[p] = uint8(len(t.protos))
	t.protos = append(t.protos, p)
	return 1 << (len(t.protos) - 1)
}

// protoNames lists the protocols of a bit set.
func (t *strtab) protoNames(set uint64) []string {
	var out []string
	for set != 0 {
		i := bits.TrailingZeros64(set)
		out = append(out, t.protos[i])
		set &^= 1 << i
	}
	return out
}

// stamp is a time without the location pointer of time.Time; its zero
// value is the zero time.Time. The seconds are split in two 32-bit
// halves so that a stamp is 12 bytes with 4-byte alignment: two of them
// in a row take 24 bytes, not 32.
type stamp struct {
	hi   int32  // seconds since January 1, year 1 (time.Time's own origin), >> 32
	lo   uint32 // the same seconds' low 32 bits
	nsec int32
}

const unixToInternal = 62135596800 // seconds from year 1 to 1970

func stampOf(t time.Time) stamp {
	sec := t.Unix() + unixToInternal
	return stamp{hi: int32(sec >> 32), lo: uint32(sec), nsec: int32(t.Nanosecond())}
}

func (s stamp) sec() int64 { return int64(s.hi)<<32 | int64(s.lo) }

func (s stamp) time() time.Time {
	if s == (stamp{}) {
		return time.Time{}
	}
	return time.Unix(s.sec()-unixToInternal, int64(s.nsec)).UTC()
}

func (s stamp) before(o stamp) bool {
	a, b := s.sec(), o.sec()
	return a < b || a == b && s.nsec < o.nsec
}

// earliest is the earlier of two first-seen times, a zero time counting
// as unknown.
func earliest(cur, t stamp) stamp {
	if t != (stamp{}) && (cur == (stamp{}) || t.before(cur)) {
		return t
	}
	return cur
}

func latest(cur, t stamp) stamp {
	if cur.before(t) {
		return t
	}
	return cur
}

// destKey is one destination row: a server endpoint under one name (0,
// "", for flows no name was found for), so that services sharing an
// address (CDNs, cloud front ends) keep their own rows. name and tr are
// string table ids.
type destKey struct {
	ip   [16]byte
	port uint16
	v4   bool
	tr   uint32 // transport
	name uint32
}

func destKeyOf(a netip.AddrPort, tr, name uint32) destKey {
	return destKey{ip: a.Addr().As16(), v4: a.Addr().Is4(), port: a.Port(), tr: tr, name: name}
}

func (k destKey) addr() netip.Addr {
	if k.v4 {
		return netip.AddrFrom4([4]byte(k.ip[12:]))
	}
	return netip.AddrFrom16(k.ip)
}

// cmpDestKey orders keys by their values, not by string table ids, so the
// rows kept under the cap are the same whatever the order flows end in.
func cmpDestKey(t *strtab, a, b destKey) int {
	if a.v4 != b.v4 {
		if a.v4 {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.ip[:], b.ip[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	if c := strings.Compare(t.str(a.tr), t.str(b.tr)); c != 0 {
		return c
	}
	return strings.Compare(t.str(a.name), t.str(b.name))
}

// destRow counts the flows of one destination row, up and down as the
// device sees them. It holds no pointers.
type destRow struct {
	flows       int
	pkts, bytes [2]uint64 // up, down
	plainUp     uint64    // bytes up on plaintext channels
	firstFrame  uint64
	nameFrame   uint64 // first frame of the flow that gave the name source
	protos      uint64 // protocol bits (strtab.protoBit)
	first, last stamp
	nameRank    int32 // of nameSrc; unnamed rows: unranked
	nameSrc     uint32
	channel     uint32 // the weakest channel (audit.Channel.Replaces)
}

const unranked = 10

// flowFacts is what a finished flow adds to a row, worked out once for
// every row it is filed under. pkts and bytes are by proto.Dir.
type flowFacts struct {
	tr, name, nameSrc uint32
	nameRank          int32
	frame             uint64
	channel           string
	chID              uint32
	plain             bool
	protoBit          uint64
	protocol          string // when protoBit is 0
	first, last       stamp
	pkts, bytes       [2]uint64
	s                 *session // for its decryption outcome, when dec
	dec               bool
}

// add files one flow into the row; up is the direction (proto.Dir) the
// device sends in. named is false for the other-destinations row.
func (r *destRow) add(t *strtab, ff *flowFacts, up int, named bool) {
	if named && ff.name != 0 && (ff.nameRank < r.nameRank || ff.nameRank == r.nameRank && ff.frame < r.nameFrame) {
		r.nameSrc, r.nameRank, r.nameFrame = ff.nameSrc, ff.nameRank, ff.frame
	}
	if r.channel != ff.chID && audit.Channel(ff.channel).Replaces(audit.Channel(t.str(r.channel))) {
		r.channel = ff.chID
	}
	r.protos |= ff.protoBit
	r.flows++
	down := 1 - up
	r.pkts[0] += ff.pkts[up]
	r.pkts[1] += ff.pkts[down]
	r.bytes[0] += ff.bytes[up]
	r.bytes[1] += ff.bytes[down]
	if ff.plain {
		r.plainUp += ff.bytes[up]
	}
	r.first = earliest(r.first, ff.first)
	if ff.frame < r.firstFrame || r.firstFrame == 0 {
		r.firstFrame = ff.frame
	}
	r.last = latest(r.last, ff.last)
}

// merge adds row o (same string table) into r.
func (r *destRow) merge(t *strtab, o *destRow, named bool) {
	if named && o.nameRank != unranked && (o.nameRank < r.nameRank || o.nameRank == r.nameRank && o.nameFrame < r.nameFrame) {
		r.nameSrc, r.nameRank, r.nameFrame = o.nameSrc, o.nameRank, o.nameFrame
	}
	if r.channel != o.channel && audit.Channel(t.str(o.channel)).Replaces(audit.Channel(t.str(r.channel))) {
		r.channel = o.channel
	}
	r.protos |= o.protos
	r.flows += o.flows
	for i := range 2 {
		r.pkts[i] += o.pkts[i]
		r.bytes[i] += o.bytes[i]
	}
	r.plainUp += o.plainUp
	r.first = earliest(r.first, o.first)
	if o.firstFrame != 0 && (r.firstFrame == 0 || o.firstFrame < r.firstFrame) {
		r.firstFrame = o.firstFrame
	}
	r.last = latest(r.last, o.last)
}

// retab rewrites the row's string ids to another table's (m).
func (r *destRow) retab(m *moveTab) (more []string) {
	r.nameSrc, r.channel = m.id(r.nameSrc), m.id(r.channel)
	r.protos, more = m.protos(r.protos)
	return more
}

type destEnt struct {
	k destKey
	r destRow
}

// destSet is the destination rows of a device (or of one side of a
// pending pair), at most maxDests of them: past the cap it keeps the rows
// of the smallest keys (cmpDestKey) and counts the others in one "other
// destinations" row, so the rows kept are the same whatever the order
// flows end in or are merged in.
type destSet struct {
	ents []destEnt
	x    *destExtra // rarely needed parts
}

type destExtra struct {
	idx   map[destKey]int32 // index of ents, past smallSet rows
	dec   map[destKey]*audit.Decryption
	more  map[destKey][]string // protocols without a bit
	full  bool                 // rows of keys above max go to other
	max   destKey
	other *otherRow
}

// otherRow is the "other destinations" row of a capped set.
type otherRow struct {
	r    destRow
	tr   uint32 // the smallest transport of its flows
	dec  *audit.Decryption
	more []string
}

// unbounded is a row cap that is never reached, and lets a set past its
// cap take rows again: the pending pairs' rows merged at the end are all
// kept (they are in memory already), as they were before the caps were
// made exact.
const unbounded = 1 << 40

// smallSet is the number of rows searched linearly, without an index.
const smallSet = 8

func (s *destSet) extra() *destExtra {
	if s.x == nil {
		s.x = &destExtra{}
	}
	return s.x
}

func (s *destSet) find(k destKey) int {
	if s.x != nil && s.x.idx != nil {
		if i, ok := s.x.idx[k]; ok {
			return int(i)
		}
		return -1
	}
	for i := range s.ents {
		if s.ents[i].k == k {
			return i
		}
	}
	return -1
}

// row returns the row of key k, made if needed, or nil when k goes to the
// other row (the set is full and k is above the keys it keeps).
func (s *destSet) row(t *strtab, k destKey, maxRows int) *destRow {
	if i := s.find(k); i >= 0 {
		return &s.ents[i].r
	}
	if len(s.ents) >= 2*maxRows {
		s.cut(t, maxRows)
	}
	if s.x != nil && s.x.full && maxRows != unbounded && cmpDestKey(t, k, s.x.max) > 0 {
		return nil
	}
	s.ents = append(s.ents, destEnt{k: k, r: destRow{nameRank: unranked}})
	if s.x != nil && s.x.idx != nil {
		s.x.idx[k] = int32(len(s.ents) - 1)
	} else if len(s.ents) > smallSet {
		s.reindex()
	}
	return &s.ents[len(s.ents)-1].r
}

func (s *destSet) reindex() { s.reindexFor(len(s.ents)) }

// reindexFor indexes the rows in an index made for n rows.
func (s *destSet) reindexFor(n int) {
	x := s.extra()
	x.idx = make(map[destKey]int32, max(n, len(s.ents)))
	for i := range s.ents {
		x.idx[s.ents[i].k] = int32(i)
	}
}

func (s *destSet) other(t *strtab, tr uint32) *otherRow {
	x := s.extra()
	if x.other == nil {
		x.other = &otherRow{r: destRow{nameRank: 0, channel: t.id("mixed")}, tr: tr}
	}
	if strings.Compare(t.str(tr), t.str(x.other.tr)) < 0 {
		x.other.tr = tr
	}
	return x.other
}

// addFlow files a flow under key k; up is the device's direction.
func (s *destSet) addFlow(t *strtab, k destKey, ff *flowFacts, up int, maxRows int) {
	if r := s.row(t, k, maxRows); r != nil {
		r.add(t, ff, up, true)
		if ff.dec {
			x := s.extra()
			if x.dec == nil {
				x.dec = map[destKey]*audit.Decryption{}
			}
			x.dec[k] = addDecryption(x.dec[k], ff.s)
		}
		if ff.protoBit == 0 && ff.protocol != "" {
			x := s.extra()
			if x.more == nil {
				x.more = map[destKey][]string{}
			}
			x.more[k] = addString(x.more[k], ff.protocol)
		}
		return
	}
	o := s.other(t, k.tr)
	o.r.add(t, ff, up, false)
	if ff.dec {
		o.dec = addDecryption(o.dec, ff.s)
	}
	if ff.protoBit == 0 && ff.protocol != "" {
		o.more = addString(o.more, ff.protocol)
	}
}

func addString(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// mergeRow adds row r of key k (with its decryption counts and protocols
// without a bit) into the set.
func (s *destSet) mergeRow(t *strtab, k destKey, r *destRow, dec *audit.Decryption, more []string, maxRows int) {
	if dst := s.row(t, k, maxRows); dst != nil {
		dst.merge(t, r, true)
		if dec != nil || len(more) > 0 {
			x := s.extra()
			if dec != nil {
				if x.dec == nil {
					x.dec = map[destKey]*audit.Decryption{}
				}
				x.dec[k] = x.dec[k].Merge(dec)
			}
			for _, p := range more {
				if x.more == nil {
					x.more = map[destKey][]string{}
				}
				x.more[k] = addString(x.more[k], p)
			}
		}
		return
	}
	s.fold(t, k.tr, r, dec, more)
}

func (s *destSet) fold(t *strtab, tr uint32, r *destRow, dec *audit.Decryption, more []string) {
	o := s.other(t, tr)
	o.r.merge(t, r, false)
	o.dec = o.dec.Merge(dec)
	for _, p := range more {
		o.more = addString(o.more, p)
	}
}

// cut keeps the rows of the maxRows smallest keys and folds the others
// into the other row.
func (s *destSet) cut(t *strtab, maxRows int) {
	slices.SortFunc(s.ents, func(a, b destEnt) int { return cmpDestKey(t, a.k, b.k) })
	x := s.extra()
	for i := maxRows; i < len(s.ents); i++ {
		e := &s.ents[i]
		s.fold(t, e.k.tr, &e.r, x.dec[e.k], x.more[e.k])
		delete(x.dec, e.k)
		delete(x.more, e.k)
	}
	s.ents = slices.Clip(s.ents[:maxRows])
	x.full, x.max = true, s.ents[maxRows-1].k
	s.reindex()
}

// finish cuts the set to its cap.
func (s *destSet) finish(t *strtab, maxRows int) {
	if len(s.ents) > maxRows {
		s.cut(t, maxRows)
	}
}

// merge adds set o, whose ids are in table ot, into s (table t).
func (s *destSet) merge(t *strtab, o *destSet, ot *strtab, maxRows int) {
	for i := range o.ents {
		e := o.ents[i]
		var dec *audit.Decryption
		var more []string
		if o.x != nil {
			dec, more = o.x.dec[e.k], o.x.more[e.k]
		}
		if ot != t {
			m := ot.moveTo(t)
			e.k.tr, e.k.name = m.id(e.k.tr), m.id(e.k.name)
			more = append(e.r.retab(m), more...)
		}
		s.mergeRow(t, e.k, &e.r, dec, more, maxRows)
	}
	if o.x != nil && o.x.other != nil {
		oo := *o.x.other
		tr, more := oo.tr, oo.more
		if ot != t {
			m := ot.moveTo(t)
			tr = m.id(tr)
			more = append(oo.r.retab(m), more...)
		}
		s.fold(t, tr, &oo.r, oo.dec, more)
	}
}

// retab moves the set's ids from table from to table to, in place.
func (s *destSet) retab(from, to *strtab) {
	if from == to {
		return
	}
	var dec map[destKey]*audit.Decryption
	var more map[destKey][]string
	if s.x != nil {
		dec, more = s.x.dec, s.x.more
	}
	m := from.moveTo(to)
	moved := func(k destKey) destKey {
		k.tr, k.name = m.id(k.tr), m.id(k.name)
		return k
	}
	var newDec map[destKey]*audit.Decryption
	var newMore map[destKey][]string
	for i := range s.ents {
		e := &s.ents[i]
		old := e.k
		e.k = moved(old)
		mo := append(e.r.retab(m), more[old]...)
		if d := dec[old]; d != nil {
			if newDec == nil {
				newDec = map[destKey]*audit.Decryption{}
			}
			newDec[e.k] = d
		}
		if len(mo) > 0 {
			if newMore == nil {
				newMore = map[destKey][]string{}
			}
			newMore[e.k] = mo
		}
	}
	if s.x == nil {
		return
	}
	s.x.dec, s.x.more = newDec, newMore
	if s.x.full {
		s.x.max = moved(s.x.max)
	}
	if o := s.x.other; o != nil {
		o.tr = m.id(o.tr)
		o.more = append(o.r.retab(m), o.more...)
	}
	if s.x.idx != nil {
		s.reindex()
	}
}

// flows counts the flows of the set.
func (s *destSet) flows() int {
	n := 0
	for i := range s.ents {
		n += s.ents[i].r.flows
	}
	if s.x != nil && s.x.other != nil {
		n += s.x.other.r.flows
	}
	return n
}

// dest is the destination of key k as a leak or finding of a flow sees
// it: the flow's name and channel.
func destOf(k destKey, t *strtab, nameSrc string, channel string) audit.Dest {
	return audit.Dest{Name: t.str(k.name), NameSource: nameSrc, IP: k.addr().String(), Port: k.port,
		Transport: t.str(k.tr), Channel: channel}
}
