package flow

import (
	"encoding/binary"
	"math/bits"
)

// flowIndex maps the live flows' tuples to their flows: open addressing
// with linear probing over an array of pointer-free slots (the tuple, a
// hash tag and the flow's number in flows), so the collector does not
// scan the slots and storing one needs no write barrier; the flows are
// held in one slice by number. Deletion shifts the entries after the
// removed one back (no tombstones), so a lookup stops at the first empty
// slot. A Go map of the same keys hashed the 40-byte key with the
// runtime's generic hash and probed groups of control bytes: a lookup cost
// several times what one slot here costs.
type flowIndex struct {
	slots []slot
	bits  uint8    // len(slots) == 1 << bits
	n     int      // live entries
	flows []*Flow  // by number-1; nil: free
	free  []uint32 // free numbers
}

type slot struct {
	key Tuple
	tag uint32 // the hash's high 32 bits: the home slot is its top bits
	num uint32 // the flow's number (index+1 in flows); 0: empty
}

// minIndexBits is the size of a new index (64 slots).
const minIndexBits = 6

// tupleHash hashes a tuple for the index: its words folded and put through
// mix64. The table's shard hash (Tuple.Hash) is not used, since a
// shard's flows share its low bits.
func tupleHash(k *Tuple) uint64 {
	le := binary.LittleEndian
	h := le.Uint64(k.a[8:]) ^ bits.RotateLeft64(le.Uint64(k.b[8:]), 29) ^
		le.Uint64(k.a[:8])*0x9e3779b97f4a7c15 ^ bits.RotateLeft64(le.Uint64(k.b[:8])*0xc2b2ae3d27d4eb4f, 17) ^
		(uint64(k.pa)<<16|uint64(k.pb)|uint64(k.proto)<<32|uint64(k.fam)<<40)*0xd6e8feb86659fd93
	return mix64(h)
}

func (x *flowIndex) len() int { return x.n }

// home is the first slot probed for a tag.
func (x *flowIndex) home(tag uint32) uint32 { return tag >> (32 - x.bits) }

// find returns the slot holding k, or the empty slot where a search for
// it stops.
func (x *flowIndex) find(k *Tuple, tag uint32) uint32 {
	mask := uint32(len(x.slots) - 1)
	for i := x.home(tag); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.num == 0 || s.tag == tag && s.key == *k {
			return i
		}
	}
}

// get returns k's flow, or nil.
func (x *flowIndex) get(k *Tuple) *Flow {
	if x.n == 0 {
		return nil
	}
	s := &x.slots[x.find(k, uint32(tupleHash(k)>>32))]
	if s.num == 0 {
		return nil
	}
	return x.flows[s.num-1]
}

// put maps k, which must not be in the index, to f.
func (x *flowIndex) put(k *Tuple, f *Flow) {
	if x.slots == nil {
		x.slots, x.bits = make([]slot, 1<<minIndexBits), minIndexBits
	}
	if (x.n+1)*8 > len(x.slots)*5 { // at most 5/8 full
		x.grow()
	}
	var num uint32
	if n := len(x.free); n > 0 {
		num = x.free[n-1]
		x.free = x.free[:n-1]
		x.flows[num-1] = f
	} else {
		x.flows = append(x.flows, f)
		num = uint32(len(x.flows))
	}
	tag := uint32(tupleHash(k) >> 32)
	x.slots[x.find(k, tag)] = slot{key: *k, tag: tag, num: num}
	x.n++
}

// grow doubles the slots and puts the entries back.
func (x *flowIndex) grow() {
	old := x.slots
	x.bits++
	x.slots = make([]slot, 1<<x.bits)
	mask := uint32(len(x.slots) - 1)
	for i := range old {
		s := &old[i]
		if s.num == 0 {
			continue
		}
		j := x.home(s.tag)
		for x.slots[j].num != 0 {
			j = (j + 1) & mask
		}
		x.slots[j] = *s
	}
}

// remove deletes k if it maps to f, and says whether it did.
func (x *flowIndex) remove(k *Tuple, f *Flow) bool {
	if x.n == 0 {
		return false
	}
	i := x.find(k, uint32(tupleHash(k)>>32))
	num := x.slots[i].num
	if num == 0 || x.flows[num-1] != f {
		return false
	}
	x.flows[num-1] = nil
	x.free = append(x.free, num)
	x.n--
	// Shift back the entries after i that a search would no longer reach
	// across the empty slot.
	mask := uint32(len(x.slots) - 1)
	for j := (i + 1) & mask; x.slots[j].num != 0; j = (j + 1) & mask {
		h := x.home(x.slots[j].tag)
		// The entry at j may move to i when its home is not in (i, j]
		// (cyclically).
		if i <= j && (h <= i || h > j) || i > j && h <= i && h > j {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot{}
	return true
}
