// Package prototest records what a decoder reports through its proto.Sink,
// for decoder tests that do not need the engine.
package prototest

import (
	"bytes"
	"slices"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Event is one recorded Emit.
type Event struct {
	Type   string
	Meta   proto.Meta
	Fields any
}

// Switch is one recorded Switch call.
type Switch struct {
	To       string
	Up, Down []byte
	Meta     proto.Meta
}

// Sink is a proto.Sink that keeps copies of everything it is given.
type Sink struct {
	Events   []Event
	Fields   []proto.Field
	Findings []proto.Finding
	Names    []proto.Name
	Switches []Switch
	Counts   map[string]uint64 // proto.Count calls
}

var (
	_ proto.Sink    = (*Sink)(nil)
	_ proto.Counter = (*Sink)(nil)
)

// Count records a counter (proto.Counter).
func (s *Sink) Count(name string, n uint64) {
	if s.Counts == nil {
		s.Counts = map[string]uint64{}
	}
	s.Counts[name] += n
}

// Emit records an event.
func (s *Sink) Emit(typ string, m proto.Meta, fields any) {
	s.Events = append(s.Events, Event{Type: typ, Meta: m, Fields: fields})
}

// Scan records a copy of the field.
func (s *Sink) Scan(f proto.Field, m proto.Meta) {
	f.Data = bytes.Clone(f.Data)
	f.Codings = slices.Clone(f.Codings)
	s.Fields = append(s.Fields, f)
}

// Finding records a finding.
func (s *Sink) Finding(f proto.Finding) { s.Findings = append(s.Findings, f) }

// Name records a name.
func (s *Sink) Name(n proto.Name) { s.Names = append(s.Names, n) }

// Switch records a hand-over.
func (s *Sink) Switch(to string, up, down []byte, m proto.Meta) {
	s.Switches = append(s.Switches, Switch{To: to, Up: bytes.Clone(up), Down: bytes.Clone(down), Meta: m})
}

// Scanned returns the data of every scanned field at location loc.
func (s *Sink) Scanned(loc string) []string {
	var out []string
	for _, f := range s.Fields {
		if f.Location == loc {
			out = append(out, string(f.Data))
		}
	}
	return out
}

// FieldsSink is a Sink that also takes each proto.Lazy event's Fields
// during Emit, as the engine does when it writes events, into Built
// (Fields must return a T).
type FieldsSink[T any] struct {
	Sink
	Built []T
}

// Emit records the event and, for a Lazy, its Fields.
func (s *FieldsSink[T]) Emit(typ string, m proto.Meta, f any) {
	if lz, ok := f.(proto.Lazy); ok {
		s.Built = append(s.Built, lz.Fields().(T))
	}
	s.Sink.Emit(typ, m, f)
}
