package spool

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkMerge is the merge alone, as the json writer runs it: 8
// Writers of 40,000 records each (keys 24 bytes, values 100–700 bytes) in
// runs of 2 MiB, read back from the file. cpu-ns/op is the merging
// thread's CPU time (Linux), the figure to compare on a loaded machine.
func BenchmarkMerge(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	val := bytes.Repeat([]byte("v"), 700)
	key := make([]byte, 24)
	ws := make([]*Writer, 8)
	var size int64
	for i := range ws {
		ws[i] = New(dir, 2<<20)
		for range 40_000 {
			for j := range key {
				key[j] = byte(rng.Uint32())
			}
			v := val[:100+rng.IntN(600)]
			ws[i].Add(key, v)
			size += int64(len(key) + len(v))
		}
		if err := ws[i].Close(); err != nil {
			b.Fatal(err)
		}
		defer ws[i].Remove()
	}
	b.SetBytes(size)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	var sum int
	for b.Loop() {
		if err := Merge(ws, func(src int, k, v []byte) error { sum += len(v); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if t := threadCPU(); t > 0 {
		b.ReportMetric(float64(t-t0)/float64(b.N), "cpu-ns/op")
	}
}
