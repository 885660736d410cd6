package mqtt

import (
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
)

func TestWriteFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzParser")
	}
	for _, tc := range cases() {
		fuzzseed.Write(t, "FuzzParser", tc.name, fuzzseed.Encode(tc.ops))
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		f.Add(fuzzseed.Encode(tc.ops))
	}
	lim := Limits{MaxPacket: 2048, MaxPayload: 256}
	f.Fuzz(func(t *testing.T, in []byte) {
		tc := testCase{lim: lim, ops: fuzzseed.Decode(in)}
		evs := run(tc, nil)
		for _, e := range evs {
			if len(e.Payload) > lim.MaxPayload || len(e.WillPayload) > lim.MaxPayload {
				t.Fatalf("payload over MaxPayload")
			}
		}
		// Splitting the same bytes differently must not change the events.
		if a, b := render(evs), render(run(tc, func(int) int { return 1 })); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, tc := range cases() {
		for _, o := range tc.ops {
			f.Add(o.Data)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if Detect(in) && (len(in) < 2 || in[0] != 0x10) {
			t.Fatalf("Detect accepted a non-CONNECT")
		}
	})
}
