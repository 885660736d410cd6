package engine

import (
	"hash/maphash"

	"github.com/phonehome/phonehome/pkg/leak"
)

// scanMemo remembers short inputs in which the leak scanner found nothing,
// so that the same input seen again (the same DNS name, User-Agent, URL
// path or header a device sends every few seconds) is not scanned again.
// A Scan's result depends only on its Input and the run's Scanner, so
// skipping a remembered input changes nothing; inputs with hits are always
// scanned (their hits are filed per flow). The workers of one goroutine
// share one memo (newPool); it starts over when it holds memoBytes.
type scanMemo struct {
	seed  maphash.Seed
	m     map[uint64]memoEntry
	bytes int // bytes held, as counted by add
}

// memoEntry is a remembered input, compared in full on a lookup: two
// inputs with the same hash are different inputs.
type memoEntry struct{ loc, ctype, page, data string }

const (
	memoMaxInput = 64 << 10 // longer inputs are not remembered
	memoBytes    = 2 << 20  // bytes held (inputs and entries) before the memo starts over
	memoOverhead = 80       // an entry's own bytes in the map
)

// scanMemoOff turns the memo off (tests compare runs with and without it).
var scanMemoOff bool

// newScanMemo returns an empty memo (nil, no memo, when scanMemoOff).
func newScanMemo() *scanMemo {
	if scanMemoOff {
		return nil
	}
	return &scanMemo{seed: maphash.MakeSeed(), m: map[uint64]memoEntry{}}
}

func (c *scanMemo) hash(in *leak.Input) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(in.Location)
	h.WriteByte(0)
	h.WriteString(in.ContentType)
	h.WriteByte(0)
	h.WriteString(in.Page)
	h.WriteByte(0)
	h.Write(in.Data)
	return h.Sum64()
}

// clean reports whether in is remembered as having no hits; k is its hash,
// for add.
func (c *scanMemo) clean(in *leak.Input) (k uint64, ok bool) {
	k = c.hash(in)
	e, found := c.m[k]
	return k, found && e.loc == in.Location && e.ctype == in.ContentType && e.page == in.Page && e.data == string(in.Data)
}

// add remembers in (hash k) as having no hits.
func (c *scanMemo) add(k uint64, in *leak.Input) {
	n := memoOverhead + len(in.Data) + len(in.Location) + len(in.ContentType) + len(in.Page)
	if c.bytes+n > memoBytes {
		clear(c.m)
		c.bytes = 0
	}
	c.bytes += n
	c.m[k] = memoEntry{loc: in.Location, ctype: in.ContentType, page: in.Page, data: string(in.Data)}
}
