package engine

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
)

// With several inputs, frame numbers restart in each file (as Wireshark
// shows them), so "frame 212" alone is ambiguous. Inside the engine every
// frame is numbered across the whole run instead (the frames of the
// inputs before plus the frame's number in its file), so that orders and
// merges stay the same as with one input; what the report shows is
// translated back to the input's path and the frame number in that file.
// With one input both numberings are the same and nothing is translated.

// inputStart is where one input's frames begin in the run's numbering.
type inputStart struct {
	base uint64 // frames of the inputs before
	path string
}

// frameIndex maps run-wide frame numbers to inputs. The reading goroutine
// appends an input before it decodes the input's first frame; workers
// look up frames they were given, which belong to inputs already added.
type frameIndex struct {
	multi  bool // more than one input: translate
	mu     sync.RWMutex
	starts []inputStart
}

func (x *frameIndex) add(base uint64, path string) {
	x.mu.Lock()
	x.starts = append(x.starts, inputStart{base, path})
	x.mu.Unlock()
}

// locate returns the input holding run-wide frame g and the frame's
// number in it ("" and g with a single input, or for frame 0).
func (x *frameIndex) locate(g uint64) (string, uint64) {
	if x == nil || !x.multi || g == 0 {
		return "", g
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.starts), func(i int) bool { return x.starts[i].base >= g }) - 1
	if i < 0 {
		return "", g
	}
	return x.starts[i].path, g - x.starts[i].base
}

// local returns the frame's number in its input.
func (x *frameIndex) local(g uint64) uint64 {
	_, n := x.locate(g)
	return n
}

// frameFields collects the settable frame numbers inside an event's
// fields: uint64 fields whose JSON name is or ends in "frame".
func frameFields(v reflect.Value, out []reflect.Value, depth int) []reflect.Value {
	if depth > 12 {
		return out
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = frameFields(v.Elem(), out, depth+1)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Uint64 {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if (name == "frame" || strings.HasSuffix(name, "_frame")) && fv.CanSet() {
					out = append(out, fv)
				}
				continue
			}
			out = frameFields(fv, out, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return out
		}
		for i := 0; i < v.Len(); i++ {
			out = frameFields(v.Index(i), out, depth+1)
		}
	}
	return out
}

// localEvent translates an event's frame and the frame numbers in its
// fields to their inputs. The fields are changed in place (a struct held
// by value is copied); restore, when not nil, puts the run-wide numbers
// back (for a decoder that still uses the struct).
func (x *frameIndex) localEvent(ev *audit.Event) (restore func()) {
	if x == nil || !x.multi {
		return nil
	}
	ev.Input, ev.Frame = x.locate(ev.Frame)
	if ev.Fields == nil {
		return nil
	}
	v := reflect.ValueOf(ev.Fields)
	if v.Kind() != reflect.Pointer {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c.Addr()
		defer func() { ev.Fields = c.Interface() }()
	}
	fields := frameFields(v, nil, 0)
	if len(fields) == 0 {
		return nil
	}
	old := make([]uint64, len(fields))
	for i, f := range fields {
		old[i] = f.Uint()
		f.SetUint(x.local(old[i]))
	}
	return func() {
		for i, f := range fields {
			f.SetUint(old[i])
		}
	}
}

// localReport translates the frames of the report model kept in memory
// (after mergeWorkers and buildDevices have sorted them run-wide).
func (x *frameIndex) localReport(r *audit.Report, flows []audit.Flow, events []audit.Event) {
	if x == nil || !x.multi {
		return
	}
	for i := range r.Devices {
		d := &r.Devices[i]
		for j := range d.Destinations {
			ds := &d.Destinations[j]
			ds.Input, ds.FirstFrame = x.locate(ds.FirstFrame)
		}
		for j := range d.Leaks {
			l := &d.Leaks[j]
			l.Input, l.Frame = x.locate(l.Frame)
		}
		for j := range d.Findings {
			fi := &d.Findings[j]
			fi.Input, fi.Frame = x.locate(fi.Frame)
		}
	}
	for i := range flows {
		f := &flows[i]
		f.Input, f.FirstFrame = x.locate(f.FirstFrame)
	}
	for i := range events {
		x.localEvent(&events[i])
	}
}
