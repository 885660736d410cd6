package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The default memory policy: a soft limit of defaultSoftMemory for the Go
// runtime that rises with the live heap, to 1.5 times the heap that
// survived the last collection. A fixed limit close to the live heap makes
// the collector run back to back (a GC spiral: on a 1 GiB mix with 160 MiB
// live, most of the CPU went to collecting); with this one, a collection
// comes at the latest after half the live heap has been allocated again,
// so the collector costs at most twice what GOGC=100 costs, and memory
// stays at the limit, or 1.5 times what is really in use when that is more.
// The limit never falls: when the live heap shrinks (the flow tables are
// dropped at the end of the analysis) the process still holds the memory
// of its peak, and a limit below that made the collector run back to back
// while the report was built (about 100 collections on real-1G).
//
// The limit is adjusted after every collection by a cleanup attached to a
// sentinel object that only that collection frees.
var memPolicy struct {
	sync.Mutex
	base  int64 // 0: the adaptive limit is off
	high  int64 // the highest limit set since setAdaptiveLimit
	armed bool  // a sentinel is waiting for the next collection
}

// liveGrowthDiv: the headroom over the live heap is live/liveGrowthDiv.
const liveGrowthDiv = 2

// setAdaptiveLimit turns the adaptive soft limit on with the given floor.
func setAdaptiveLimit(base int64) {
	memPolicy.Lock()
	defer memPolicy.Unlock()
	memPolicy.base = base
	memPolicy.high = max(base, adaptiveLimit())
	debug.SetMemoryLimit(memPolicy.high)
	if !memPolicy.armed {
		memPolicy.armed = true
		armSentinel()
	}
}

// stopAdaptiveLimit leaves the runtime's limit to the caller from now on.
func stopAdaptiveLimit() {
	memPolicy.Lock()
	memPolicy.base = 0
	memPolicy.Unlock()
}

type sentinel struct{ _ *int } // holds a pointer: never a combined tiny allocation

func armSentinel() {
	runtime.AddCleanup(new(sentinel), func(struct{}) { afterCollection() }, struct{}{})
}

func afterCollection() {
	memPolicy.Lock()
	defer memPolicy.Unlock()
	if memPolicy.base == 0 {
		memPolicy.armed = false
		return
	}
	memPolicy.high = max(memPolicy.high, memPolicy.base, adaptiveLimit())
	debug.SetMemoryLimit(memPolicy.high)
	armSentinel()
}

// adaptiveLimit is 1.5 times the heap that survived the last collection.
func adaptiveLimit() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	live := int64(s[0].Value.Uint64())
	return live + live/liveGrowthDiv
}
