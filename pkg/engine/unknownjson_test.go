package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/phonehome/phonehome/internal/jsontest"
	"github.com/phonehome/phonehome/pkg/proto/sniff"
)

// The unknown event's appender writes what encoding/json writes, with and
// without a down side, on profiles of real bytes and on random values.
func TestUnknownEventAppendJSON(t *testing.T) {
	down := sniff.Analyze([]byte("HTTP/1.1 200 OK\r\n<html>&amp;</html>"))
	cases := []unknownEvent{
		{Up: sniff.Analyze([]byte("\x98\x39\x28\xf7\x00\x00\x00\x01"))},
		{Up: sniff.Analyze(nil), Down: &down},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		var ev unknownEvent
		jsontest.Fill(jsontest.NewBytes(b), &ev)
		cases = append(cases, ev)
	}
	for _, ev := range cases {
		got, err := ev.AppendJSON(nil)
		jsontest.Same(t, ev, got, err)
	}
}
