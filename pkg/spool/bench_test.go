package spool

import (
	"bytes"
	"encoding/binary"
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

// BenchmarkAppend is the writing side as the engine runs it for a json
// run: 100,000 events (keys of a frame number, a flow key and a
// sequence; values 100–1,500 bytes) encoded into a Writer with runs of
// 2 MiB, sorted and written to the file. cpu-ns/op is the thread's CPU
// time (Linux), system time of the writes included.
func BenchmarkAppend(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	val := bytes.Repeat([]byte(`{"type":"dns","frame":1234567,"ts":"2026-12-02T07:35:00.123456789Z"}`), 25)
	flow := []byte("udp\x00192.168.1.23:51234\x00192.0.2.53:53\x00\x00\x00\x00\x00\x00\x00\x00")
	var keys [][]byte
	var lens []int
	for i := range 100_000 {
		frame := uint64(i * 3)
		if rng.IntN(4) == 0 {
			frame -= uint64(rng.IntN(3000))
		}
		k := binary.BigEndian.AppendUint64(nil, frame)
		k = append(append(k, 1), flow...)
		keys = append(keys, binary.BigEndian.AppendUint64(append(k, "dns\x00"...), uint64(i)))
		lens = append(lens, 100+rng.IntN(1400))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	for b.Loop() {
		w := New(dir, 2<<20)
		for i, k := range keys {
			w.Append(k, func(dst []byte) ([]byte, error) { return append(dst, val[:lens[i]]...), nil })
		}
		w.Close()
		w.Remove()
	}
	if t := threadCPU(); t > 0 {
		b.ReportMetric(float64(t-t0)/float64(b.N), "cpu-ns/op")
	}
}
