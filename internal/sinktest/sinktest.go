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
	"github.com/phonehome/phonehome/internal/pcaptest"
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

// Conn replays one reassembled connection of a real capture through spec
// as the engine does: Detect sees the first bytes of each side (at most
// proto.SniffBytes) after every delivery until it answers Yes or No, or
// both sides have spoken and it still wants more; on Yes a decoder gets
// the whole connection from its first byte. It returns nil when spec did
// not claim the connection. Bytes after a Switch are appended to the
// recorded switch, as in Feed.
func Conn(spec proto.Spec, c pcaptest.Conn) *prototest.Sink {
	var sniff [2][]byte
	claimed := false
	for _, ch := range c.Chunks {
		if ch.Gap > 0 {
			break // the engine decides on bytes before the first gap
		}
		sniff[ch.Dir] = append(sniff[ch.Dir], ch.Data[:min(len(ch.Data), proto.SniffBytes-len(sniff[ch.Dir]))]...)
		v := spec.Detect(proto.DetectInput{Up: sniff[proto.ToServer], Down: sniff[proto.ToClient],
			ServerPort: c.Server.Port(), ClientPort: c.Client.Port()})
		if v == proto.Yes {
			claimed = true
		}
		if v != proto.NeedMore || len(sniff[0]) > 0 && len(sniff[1]) > 0 {
			break
		}
	}
	if !claimed {
		return nil
	}
	s := &prototest.Sink{}
	a := &afterSwitch{d: spec.New(s).(proto.StreamDecoder), s: s}
	for _, ch := range c.Chunks {
		m := proto.Meta{Frame: ch.Frame}
		if ch.Gap > 0 {
			a.Gap(ch.Dir, ch.Gap, m)
		} else {
			a.Data(ch.Dir, ch.Data, m)
		}
	}
	a.End(proto.Meta{})
	return s
}
