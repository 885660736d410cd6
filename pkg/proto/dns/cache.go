package dns

import (
	"bytes"
	"net/netip"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// DefaultCacheSize is the number of server addresses a zero-sized Cache
// remembers.
const DefaultCacheSize = 65536

const (
	perAddr    = 8  // resolutions kept per server address (client and name differ)
	maxChain   = 16 // CNAME hops followed
	maxInterns = 1 << 16
)

// Cache remembers which names resolved to which addresses, per client, so
// that a later flow from that client to that address can be named. Names are
// lower-cased. It is bounded: beyond its size the address added least
// recently is evicted. It is not safe for concurrent use.
type Cache struct {
	size  int
	addrs map[netip.Addr]slot
	ptrs  map[netip.Addr]slot
	// fifo[head:] lists the puts, oldest first; its entries hold no
	// pointers, so the collector does not scan it.
	fifo   []fifoEntry
	head   int
	seq    uint64
	intern map[string]interned
}

type slot struct {
	seq uint64
	res []resolution
}

type resolution struct {
	client netip.Addr
	name   string
	chain  []string
	when   time.Time
}

// interned is a lower-cased name and the one-name chain made of it, shared
// by every resolution without CNAME hops.
type interned struct {
	s   string
	one []string
}

// fifoEntry is an address as its 16 bytes (netip.Addr holds a pointer).
type fifoEntry struct {
	a        [16]byte
	is4, ptr bool
	seq      uint64
}

func (e *fifoEntry) addr() netip.Addr {
	if e.is4 {
		return netip.AddrFrom4([4]byte(e.a[12:]))
	}
	return netip.AddrFrom16(e.a)
}

// NewCache returns a Cache remembering up to size server addresses (and as
// many PTR names); size <= 0 means DefaultCacheSize.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{size: size, addrs: map[netip.Addr]slot{}, ptrs: map[netip.Addr]slot{}, intern: map[string]interned{}}
}

// Add records the answers of a response received by client: every A and
// AAAA record in the answer section (and, for messages without questions
// such as mDNS announcements, in the additional section) maps its address to
// the name that led to it, following CNAME records back to the first name.
// PTR answers for in-addr.arpa/ip6.arpa names are recorded for PTR. Queries
// and error responses are ignored.
func (c *Cache) Add(client netip.Addr, msg *Message, m proto.Meta) {
	if !msg.Response || msg.Rcode != 0 {
		return
	}
	c.addSection(client, msg, msg.Answers, m.Time)
	if len(msg.Questions) == 0 {
		c.addSection(client, msg, msg.Additional, m.Time)
	}
}

// AddressNames calls fn, in answer order, for each A and AAAA record of a
// successful response with its address and the name that led to it (the
// first name of its CNAME chain, lower-cased): what Add records, for a
// caller that keeps answers elsewhere (the engine's DNS-over-HTTPS names).
func AddressNames(msg *Message, fn func(addr netip.Addr, name string)) {
	if !msg.Response || msg.Rcode != 0 {
		return
	}
	c := Cache{intern: map[string]interned{}}
	each := func(rrs []RR) {
		for i := range rrs {
			if rr := &rrs[i]; (rr.Type == TypeA || rr.Type == TypeAAAA) && rr.Addr.IsValid() {
				fn(rr.Addr.Unmap(), c.chain(msg, rr.Name)[0])
			}
		}
	}
	each(msg.Answers)
	if len(msg.Questions) == 0 {
		each(msg.Additional)
	}
}

func (c *Cache) addSection(client netip.Addr, msg *Message, rrs []RR, when time.Time) {
	// Address records of one name come together (a name's A records):
	// its chain is followed once.
	var owner []byte
	var chain []string
	for i := range rrs {
		rr := &rrs[i]
		switch rr.Type {
		case TypeA, TypeAAAA:
			if chain == nil || !bytes.Equal(rr.Name, owner) {
				owner, chain = rr.Name, c.chain(msg, rr.Name)
			}
			c.put(c.addrs, rr.Addr.Unmap(), false, resolution{client: client, name: chain[0], chain: chain, when: when})
		case TypePTR:
			if a, ok := ReverseAddr(rr.Name); ok && len(rr.Target) > 0 {
				n := c.str(rr.Target)
				c.put(c.ptrs, a, true, resolution{client: client, name: n.s, chain: n.one, when: when})
			}
		}
	}
}

// chain returns the names from the first queried name to owner, following
// CNAME (and DNAME-free) answers backwards. A chain without hops is the
// interned one-name chain: nothing is allocated for it.
func (c *Cache) chain(msg *Message, owner []byte) []string {
	last := c.str(owner)
	var names []string
	cur := owner
	for hop := 0; hop < maxChain; hop++ {
		found := false
		for i := range msg.Answers {
			rr := &msg.Answers[i]
			if rr.Type == TypeCNAME && bytes.EqualFold(rr.Target, cur) && !bytes.EqualFold(rr.Name, cur) {
				cur = rr.Name
				if names == nil {
					names = append(make([]string, 0, 4), last.s)
				}
				names = append(names, c.str(cur).s)
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	if names == nil {
		return last.one
	}
	// Reverse to first-name-first order.
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return names
}

// str returns b lower-cased, interned.
func (c *Cache) str(b []byte) interned {
	if s, ok := c.intern[string(b)]; ok {
		return s
	}
	s := strings.ToLower(string(b))
	if len(c.intern) >= maxInterns {
		clear(c.intern)
	}
	in := interned{s: s, one: []string{s}}
	c.intern[string(b)] = in
	return in
}

func (c *Cache) put(tab map[netip.Addr]slot, addr netip.Addr, ptr bool, r resolution) {
	if !addr.IsValid() {
		return
	}
	s := tab[addr]
	c.seq++
	s.seq = c.seq
	c.fifo = append(c.fifo, fifoEntry{a: addr.As16(), is4: addr.Is4(), ptr: ptr, seq: c.seq})
	replaced := false
	for i := range s.res {
		if s.res[i].client == r.client && s.res[i].name == r.name {
			if !r.when.Before(s.res[i].when) {
				s.res[i] = r
			}
			replaced = true
			break
		}
	}
	if !replaced {
		if len(s.res) >= perAddr {
			// Drop the oldest answer.
			old := 0
			for i := range s.res {
				if s.res[i].when.Before(s.res[old].when) {
					old = i
				}
			}
			s.res[old] = r
		} else {
			s.res = append(s.res, r)
		}
	}
	tab[addr] = s
	c.evict()
}

// current reports whether e is the latest put of its address.
func (c *Cache) current(e *fifoEntry) bool {
	tab := c.addrs
	if e.ptr {
		tab = c.ptrs
	}
	s, ok := tab[e.addr()]
	return ok && s.seq == e.seq
}

// evict drops least recently added addresses beyond the size, and compacts
// the FIFO of stale entries, in place.
func (c *Cache) evict() {
	for (len(c.addrs) > c.size || len(c.ptrs) > c.size) && c.head < len(c.fifo) {
		e := &c.fifo[c.head]
		c.head++
		if c.current(e) {
			tab := c.addrs
			if e.ptr {
				tab = c.ptrs
			}
			delete(tab, e.addr())
		}
	}
	if n := len(c.fifo) - c.head; n > 4*c.size+16 {
		live := c.fifo[:0]
		for i := c.head; i < len(c.fifo); i++ {
			if c.current(&c.fifo[i]) {
				live = append(live, c.fifo[i])
			}
		}
		c.fifo, c.head = live, 0
	} else if c.head > 1024 && 2*c.head >= len(c.fifo) {
		c.fifo = c.fifo[:copy(c.fifo, c.fifo[c.head:])]
		c.head = 0
	}
}

// Name returns the name that client last resolved to server before at, with
// its CNAME chain (first name first, ending with the name that carried the
// address record) and the time of that answer. Without one it falls back, in
// order, to another client's latest answer before at, then to the earliest
// answer after at (same client first). The returned chain must not be
// modified.
func (c *Cache) Name(client, server netip.Addr, at time.Time) (name string, chain []string, when time.Time, ok bool) {
	r, ok := lookup(c.addrs, client, server.Unmap(), at)
	if !ok {
		return "", nil, time.Time{}, false
	}
	return r.name, r.chain, r.when, true
}

// PTR returns the name a PTR answer gave for addr, preferring the one
// client received most recently before at, with the same fallbacks as Name.
func (c *Cache) PTR(client, addr netip.Addr, at time.Time) (name string, when time.Time, ok bool) {
	r, ok := lookup(c.ptrs, client, addr.Unmap(), at)
	return r.name, r.when, ok
}

// Len returns how many server addresses are remembered.
func (c *Cache) Len() int { return len(c.addrs) }

func lookup(tab map[netip.Addr]slot, client, addr netip.Addr, at time.Time) (resolution, bool) {
	s := tab[addr]
	if len(s.res) == 0 {
		return resolution{}, false
	}
	// Ranks: 0 same client before at, 1 any client before at, 2 same client
	// after at, 3 any client after at. Within a rank, before-at prefers the
	// latest answer and after-at the earliest.
	best, bestRank := -1, 4
	for i := range s.res {
		r := &s.res[i]
		rank := 0
		after := r.when.After(at)
		if after {
			rank = 2
		}
		if r.client != client {
			rank++
		}
		switch {
		case rank < bestRank:
			best, bestRank = i, rank
		case rank == bestRank:
			b := &s.res[best]
			if (!after && r.when.After(b.when)) || (after && r.when.Before(b.when)) ||
				(r.when.Equal(b.when) && r.name < b.name) {
				best = i
			}
		}
	}
	return s.res[best], true
}

// ReverseAddr parses a reverse-mapping name (d.c.b.a.in-addr.arpa or the 32
// nibbles of ip6.arpa, case-insensitive, optional trailing dot). It reads
// the bytes as they are: mDNS answers carry many PTR records, most of
// them not reverse names.
func ReverseAddr(name []byte) (netip.Addr, bool) {
	name = bytes.TrimSuffix(name, []byte("."))
	if rest, ok := cutSuffixFold(name, ".in-addr.arpa"); ok {
		var ip [4]byte
		for i := 0; i < 4; i++ {
			p := rest
			if j := bytes.LastIndexByte(rest, '.'); i < 3 {
				if j < 0 {
					return netip.Addr{}, false
				}
				p, rest = rest[j+1:], rest[:j]
			} else if j >= 0 {
				return netip.Addr{}, false // more than four labels
			}
			if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			v := 0
			for _, ch := range p {
				if ch < '0' || ch > '9' {
					return netip.Addr{}, false
				}
				v = v*10 + int(ch-'0')
			}
			if v > 255 {
				return netip.Addr{}, false
			}
			ip[i] = byte(v)
		}
		return netip.AddrFrom4(ip), true
	}
	if rest, ok := cutSuffixFold(name, ".ip6.arpa"); ok {
		if len(rest) != 63 {
			return netip.Addr{}, false
		}
		var ip [16]byte
		for i := 0; i < 32; i++ {
			ch := rest[2*i]
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case ch >= '0' && ch <= '9':
				v = ch - '0'
			case ch >= 'a' && ch <= 'f':
				v = ch - 'a' + 10
			case ch >= 'A' && ch <= 'F':
				v = ch - 'A' + 10
			default:
				return netip.Addr{}, false
			}
			nib := 31 - i // first label is the lowest nibble
			if nib%2 == 0 {
				ip[nib/2] |= v << 4
			} else {
				ip[nib/2] |= v
			}
		}
		return netip.AddrFrom16(ip), true
	}
	return netip.Addr{}, false
}

// cutSuffixFold is bytes.CutSuffix with ASCII case folding; suffix is
// lower-case.
func cutSuffixFold(b []byte, suffix string) ([]byte, bool) {
	if len(b) < len(suffix) {
		return b, false
	}
	tail := b[len(b)-len(suffix):]
	for i := range tail {
		c := tail[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != suffix[i] {
			return b, false
		}
	}
	return b[:len(b)-len(suffix)], true
}
