package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestAdaptiveLimitFollowsLiveHeap: with a floor far below the live heap,
// the limit set after a collection is 1.5 times the live heap, never the
// floor (which would make the collector run back to back); once stopped,
// the limit is left alone.
func TestAdaptiveLimitFollowsLiveHeap(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { stopAdaptiveLimit(); debug.SetMemoryLimit(prev) })
	const liveSize = 64 << 20
	live := make([]byte, liveSize)
	for i := range live {
		live[i] = byte(i)
	}
	setAdaptiveLimit(1 << 20)
	var got int64
	for range 200 { // the cleanup runs on its own goroutine after a collection
		runtime.GC()
		if got = debug.SetMemoryLimit(-1); got >= liveSize*3/2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(live)
	if got < liveSize*3/2 {
		t.Fatalf("limit %d MiB with %d MiB live, want at least 1.5 times the live heap", got>>20, liveSize>>20)
	}
	// The live heap shrinks: the limit stays where it was (the memory of
	// the peak is still held; a lower limit would collect back to back).
	live = nil
	for range 5 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if after := debug.SetMemoryLimit(-1); after < got {
		t.Fatalf("limit fell from %d to %d MiB when the live heap shrank", got>>20, after>>20)
	}
	stopAdaptiveLimit()
	runtime.GC()
	runtime.GC()
	debug.SetMemoryLimit(123 << 20)
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if got := debug.SetMemoryLimit(-1); got != 123<<20 {
		t.Errorf("limit %d after stopAdaptiveLimit, want the caller's 123 MiB", got)
	}
}
