package http

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// textSink writes down everything a decoder reports, as text, when it is
// reported (the event form too, when fields is set).
type textSink struct {
	fields bool
	// transient: the event form from TransientFields, encoded at once
	// (as the engine's spool does), instead of Fields.
	transient bool
	b         strings.Builder
}

func (s *textSink) Emit(typ string, m proto.Meta, f any) {
	fmt.Fprintf(&s.b, "emit %s %d;", typ, m.Frame)
	if ev, ok := f.(*Event); ok && s.transient {
		j, err := ev.TransientFields().(*Event).AppendJSON(nil)
		fmt.Fprintf(&s.b, "%s %v;", j, err)
		return
	}
	if lz, ok := f.(proto.Lazy); ok && s.fields {
		j, err := json.Marshal(lz.Fields())
		fmt.Fprintf(&s.b, "%s %v;", j, err)
	}
}
func (s *textSink) Scan(f proto.Field, m proto.Meta) {
	fmt.Fprintf(&s.b, "scan %s %q %q %v %d;", f.Location, f.Data, f.ContentType, f.Codings, m.Frame)
}
func (s *textSink) Finding(f proto.Finding)     { fmt.Fprintf(&s.b, "finding %+v;", f) }
func (s *textSink) Count(name string, n uint64) { fmt.Fprintf(&s.b, "count %s %d;", name, n) }
func (s *textSink) Name(n proto.Name)           { fmt.Fprintf(&s.b, "name %+v;", n) }
func (s *textSink) Switch(to string, up, down []byte, m proto.Meta) {
	fmt.Fprintf(&s.b, "switch %s %q %q;", to, up, down)
}

// TestRecycledDecoderSameReports: decoding every HTTP/1 connection of the
// corpus with decoders recycled from earlier connections (Decoder.Recycle,
// as the engine does) reports exactly what fresh decoders report, with and
// without the event forms.
func TestRecycledDecoderSameReports(t *testing.T) {
	conns, _ := corpusHTTP(t)
	for _, fields := range []bool{false, true} {
		var got [2]string
		for i, recycle := range []bool{false, true} {
			sp := Spec(Limits{})
			for _, cs := range conns {
				sink := &textSink{fields: fields}
				d := sp.New(sink).(*Decoder)
				for _, c := range cs {
					if c.Gap > 0 {
						d.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
					} else {
						d.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
					}
				}
				d.End(proto.Meta{})
				fmt.Fprintf(&sink.b, "channel %s", d.Channel())
				if recycle {
					d.Recycle()
				}
				got[i] += sink.b.String() + "\n"
			}
		}
		if got[0] != got[1] {
			a, b := strings.Split(got[0], "\n"), strings.Split(got[1], "\n")
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Fatalf("fields %v: connection %d differs with recycled decoders:\n%.400s\n%.400s", fields, i, a[i], b[i])
				}
			}
			t.Fatalf("fields %v: reports differ", fields)
		}
		t.Logf("fields %v: %d connections, %d bytes of reports", fields, len(conns), len(got[0]))
	}
}

// TestTransientFieldsSameReports: events encoded at once from
// TransientFields, whose exchanges are then recycled, read as those taken
// with Fields, which are not.
func TestTransientFieldsSameReports(t *testing.T) {
	conns, _ := corpusHTTP(t)
	var got [2]string
	for i, transient := range []bool{false, true} {
		sp := Spec(Limits{MaxBody: 2000})
		recycled := 0
		for _, cs := range conns {
			sink := &textSink{fields: true, transient: transient}
			d := sp.New(sink).(*Decoder)
			for _, c := range cs {
				if c.Gap > 0 {
					d.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
				} else {
					d.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
				}
			}
			d.End(proto.Meta{})
			recycled = max(recycled, len(d.sh.free.pendings))
			got[i] += sink.b.String() + "\n"
			d.Recycle()
		}
		if (recycled > 0) != transient {
			t.Errorf("transient %v: %d exchanges recycled", transient, recycled)
		}
	}
	if got[0] != got[1] {
		a, b := strings.Split(got[0], "\n"), strings.Split(got[1], "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("connection %d differs with TransientFields:\n%.600s\n%.600s", i, a[i], b[i])
			}
		}
		t.Fatal("reports differ")
	}
}

// unreadSink is a textSink that says it never asks for event forms.
type unreadSink struct{ *textSink }

func (unreadSink) EventFieldsUnread() bool { return true }

// TestUnreadBodiesSameReports: a sink that never asks for event forms
// (the engine writing no events) gets the same reports, counters
// included, from decoders that then keep no response bodies.
func TestUnreadBodiesSameReports(t *testing.T) {
	conns, _ := corpusHTTP(t)
	var got [2]string
	for i, unread := range []bool{false, true} {
		sp := Spec(Limits{MaxBody: 2000}) // some bodies cut
		for _, cs := range conns {
			ts := &textSink{}
			var sink proto.Sink = ts
			if unread {
				sink = unreadSink{ts}
			}
			d := sp.New(sink).(*Decoder)
			if d.p.countBodies != unread {
				t.Fatalf("countBodies = %v with an unread sink %v", d.p.countBodies, unread)
			}
			for _, c := range cs {
				if c.Gap > 0 {
					d.Gap(c.Dir, c.Gap, proto.Meta{Frame: c.Frame})
				} else {
					d.Data(c.Dir, c.Data, proto.Meta{Frame: c.Frame})
				}
			}
			d.End(proto.Meta{})
			got[i] += ts.b.String() + "\n"
			d.Recycle()
		}
	}
	if got[0] != got[1] {
		t.Fatal("reports differ when response bodies are only counted")
	}
	if !strings.Contains(got[0], "count http_body_truncated") {
		t.Error("no body was cut: the test does not show the count is kept")
	}
}
