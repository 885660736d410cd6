// Package sinktest is what decoder tests share on top of prototest: a
// text rendering of everything a decoder reported through its Sink (for
// golden files), and a replay that plays the engine's part when the
// decoder hands the flow over with Switch.
package sinktest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// Render writes what s recorded, one line per call, grouped by kind
// (events, scanned fields, findings, names, switches), each group in call
// order. Events are written as their JSON.
func Render(s *prototest.Sink) string {
	var b strings.Builder
	for _, e := range s.Events {
		j, err := json.Marshal(e.Fields)
		if err != nil {
			fmt.Fprintf(&b, "marshal: %v\n", err)
		}
		fmt.Fprintf(&b, "emit %s frame=%d %s\n", e.Type, e.Meta.Frame, j)
	}
	for _, f := range s.Fields {
		fmt.Fprintf(&b, "scan %s %q", f.Location, f.Data)
		if f.ContentType != "" {
			fmt.Fprintf(&b, " type=%s", f.ContentType)
		}
		if len(f.Codings) > 0 {
			fmt.Fprintf(&b, " codings=%s", strings.Join(f.Codings, ","))
		}
		b.WriteByte('\n')
	}
	for _, f := range s.Findings {
		fmt.Fprintf(&b, "finding %s %s frame=%d: %s\n", f.Kind, f.Severity, f.Frame, f.Message)
	}
	for _, n := range s.Names {
		fmt.Fprintf(&b, "name %s %s frame=%d\n", n.Source, n.Name, n.Frame)
	}
	for _, w := range s.Switches {
		fmt.Fprintf(&b, "switch %s frame=%d up=%q down=%q\n", w.To, w.Meta.Frame, w.Up, w.Down)
	}
	return b.String()
}

// Feed replays ops on d as fuzzseed.Feed does. Once d has called Switch,
// the bytes that follow go where the engine would send them, to the new
// protocol: they are appended to the recorded switch's Up and Down, and d
// gets no more calls (End included).
func Feed(d proto.StreamDecoder, s *prototest.Sink, ops []fuzzseed.Op, split func(int) int) {
	fuzzseed.Feed(&afterSwitch{d: d, s: s}, ops, 1, split)
}

type afterSwitch struct {
	d proto.StreamDecoder
	s *prototest.Sink
}

func (a *afterSwitch) Data(dir proto.Dir, b []byte, m proto.Meta) {
	if len(a.s.Switches) == 0 {
		a.d.Data(dir, b, m)
		return
	}
	w := &a.s.Switches[0]
	if dir == proto.ToServer {
		w.Up = append(w.Up, b...)
	} else {
		w.Down = append(w.Down, b...)
	}
}

func (a *afterSwitch) Gap(dir proto.Dir, n int, m proto.Meta) {
	if len(a.s.Switches) == 0 {
		a.d.Gap(dir, n, m)
	}
}

func (a *afterSwitch) End(m proto.Meta) {
	if len(a.s.Switches) == 0 {
		a.d.End(m)
	}
}
