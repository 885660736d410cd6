package http

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
	lim := Limits{MaxHeaderBytes: 512, MaxHeaders: 8, MaxBody: 4 << 10, MaxDecoded: 64 << 10}
	f.Fuzz(func(t *testing.T, in []byte) {
		tc := testCase{lim: lim, ops: fuzzseed.Decode(in)}
		evs, p := run(tc, nil)
		for _, e := range evs {
			if e == nil || (e.Request == nil && e.Response == nil) {
				t.Fatalf("empty event")
			}
			checkAppendJSON(t, e)
			for _, bd := range []*Body{reqBody(e), respBody(e)} {
				if bd != nil && len(bd.Data) > lim.MaxDecoded {
					t.Fatalf("body of %d bytes over MaxDecoded", len(bd.Data))
				}
			}
		}
		if _, up, down := p.Tunnel(); len(up) > maxTunnel || len(down) > maxTunnel {
			t.Fatalf("tunnel bytes over cap")
		}
		// Releasing each event once it is read (as the engine does) hands
		// its body buffers to later messages: no event read before its
		// release may see them change.
		var released []string
		feed(tc, nil, func(e *Event) { released = append(released, render([]*Event{e})); e.Release() })
		if len(released) != len(evs) {
			t.Fatalf("%d events with Release, %d without", len(released), len(evs))
		}
		for i, e := range evs {
			if want := render([]*Event{e}); released[i] != want {
				t.Fatalf("event %d differs when earlier events are released:\n%s\n----\n%s", i+1, released[i], want)
			}
		}
		// The Decoder's parser leaves parts of each event to Event.Fields:
		// once called, the event must be the one New's callback gets.
		var lazy []string
		feedParser(tc, nil, lazyParser(tc.lim), func(e *Event) { e.Fields(); lazy = append(lazy, render([]*Event{e})); e.Release() })
		if len(lazy) != len(evs) {
			t.Fatalf("%d lazy events, %d complete", len(lazy), len(evs))
		}
		for i, e := range evs {
			if want := render([]*Event{e}); lazy[i] != want {
				t.Fatalf("lazy event %d completed by Fields differs:\n%s\n----\n%s", i+1, lazy[i], want)
			}
		}
		checkRecycling(t, tc, evs)
		// Completed by TransientFields (the engine's spool), the events
		// are the complete ones, also when their exchanges are recycled
		// for the next ones (twice over the same shared state).
		sh := &shared{}
		for round := range 2 {
			var transient []string
			feedParser(tc, nil, recyclingParser(sh), func(e *Event) {
				e.TransientFields()
				transient = append(transient, render([]*Event{e}))
				e.Release()
			})
			if len(transient) != len(evs) {
				t.Fatalf("round %d: %d events completed by TransientFields, %d complete", round+1, len(transient), len(evs))
			}
			for i, e := range evs {
				if want := render([]*Event{e}); transient[i] != want {
					t.Fatalf("round %d: event %d completed by TransientFields differs:\n%s\n----\n%s", round+1, i+1, transient[i], want)
				}
			}
		}
		// Splitting the same bytes differently must not change the events.
		evs2, _ := run(tc, func(int) int { return 1 })
		if a, b := render(evs), render(evs2); a != b {
			t.Fatalf("bytewise split differs:\n%s\n----\n%s", a, b)
		}
	})
}

func reqBody(e *Event) *Body {
	if e.Request == nil {
		return nil
	}
	return e.Request.Body
}

func respBody(e *Event) *Body {
	if e.Response == nil {
		return nil
	}
	return e.Response.Body
}
