package http

import (
	"math/bits"
	"sync"
)

// Body bytes (collected, then content-decoded) live in buffers drawn from
// pools of power-of-two sizes, 4 KiB to 8 MiB, shared by every Parser. A
// message's buffer goes back to its pool when the message is decoded, and
// the decoded body's when the consumer calls Event.Release: on a capture of
// many HTTP exchanges the bodies then cost no new allocation each, only the
// bytes copied into them.
const (
	minBufShift = 12 // 4 KiB
	maxBufShift = 23 // 8 MiB, above MaxDecoded's default
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool // *[]byte

// holders keeps the *[]byte that carried a buffer out of its pool, for the
// next putBuf: putting a fresh pointer each time would cost an allocation
// per buffer.
var holders sync.Pool

// bufClass returns the pool index for a buffer of at least n bytes, or -1
// when n is above the largest class.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minBufShift
	if c >= len(bufPools) {
		return -1
	}
	return c
}

// getBuf returns an empty buffer with room for at least n bytes.
func getBuf(n int) []byte {
	c := bufClass(n)
	if c < 0 {
		return make([]byte, 0, n)
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		b := (*p)[:0]
		*p = nil
		holders.Put(p)
		return b
	}
	return make([]byte, 0, 1<<(c+minBufShift))
}

// putBuf returns b to its pool; buffers not made by getBuf are left to the
// garbage collector.
func putBuf(b []byte) {
	n := cap(b)
	if n < 1<<minBufShift || n&(n-1) != 0 {
		return
	}
	c := bufClass(n)
	if c < 0 {
		return
	}
	p, _ := holders.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b[:0]
	bufPools[c].Put(p)
}

// growBuf returns b with room for n more bytes, moving it to a larger pooled
// buffer when it has to.
func growBuf(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := getBuf(max(len(b)+n, 2*cap(b)))
	nb = append(nb, b...)
	putBuf(b)
	return nb
}
