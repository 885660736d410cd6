package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// writeJSON writes the Report as one indented document; key order follows
// the struct fields (maps sorted by encoding/json).
func writeJSON(w io.Writer, r *audit.Report) error {
	if r.Records == nil {
		c := clone(r)
		normalize(c)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	c, devices := cloneWithoutDevices(r)
	// Spooled records: the document without them and without the
	// devices, with the three arrays streamed in where the encoder wrote
	// them empty, one element at a time (a device or a record is never
	// indented as part of the whole document). A raw newline only occurs
	// between tokens, so the markers cannot come from a string.
	const devMarker = "\n  \"devices\": [],"
	const recMarker = "\n  \"flows\": [],\n  \"events\": [],"
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return err
	}
	d, i := bytes.Index(doc.Bytes(), []byte(devMarker)), bytes.Index(doc.Bytes(), []byte(recMarker))
	if d < 0 || i < d {
		return errors.New("device, flow and event arrays not found in the document")
	}
	if _, err := w.Write(doc.Bytes()[:d]); err != nil {
		return err
	}
	aw := &arrayWriter{w: w}
	aw.enc = json.NewEncoder(&aw.compact)
	aw.begin("", "devices")
	if err := aw.devices(devices, jsonWorkers()); err != nil {
		return err
	}
	aw.end()
	aw.write(doc.Bytes()[d+len(devMarker)-1 : i]) // from the comma on
	aw.begin("", "flows")
	inEvents := false
	toEvents := func() {
		if !inEvents {
			aw.end()
			aw.begin(",", "events")
			inEvents = true
		}
	}
	err := c.Records.Each(nil, aw.item, func(b []byte) error {
		toEvents()
		return aw.item(b)
	})
	if err != nil {
		return err
	}
	toEvents()
	aw.end()
	if aw.err != nil {
		return aw.err
	}
	_, err = w.Write(doc.Bytes()[i+len(recMarker)-1:]) // from the comma on
	return err
}

// cloneWithoutDevices is clone and normalize of r without its devices,
// which the writers copy and normalize one at a time with deviceCopy (a
// large report's device list is most of its memory).
func cloneWithoutDevices(r *audit.Report) (*audit.Report, []audit.Device) {
	s := *r
	s.Devices = nil
	c := clone(&s)
	normalize(c)
	return c, r.Devices
}

// deviceCopy is one device as clone and normalize make it.
func deviceCopy(d *audit.Device) audit.Device {
	c := *d
	cloneDevice(&c)
	normalizeDevice(&c)
	return c
}

// arrayWriter writes `\n  "name": [` items `]` as the encoder indents
// them.
type arrayWriter struct {
	w       io.Writer
	n       int
	buf     bytes.Buffer
	err     error
	enc     *json.Encoder // into compact, for value
	compact bytes.Buffer
}

// value writes v, marshalled as encoding/json does, as the next item.
func (a *arrayWriter) value(v any) error {
	a.compact.Reset()
	if err := a.enc.Encode(v); err != nil {
		return err
	}
	return a.item(bytes.TrimSuffix(a.compact.Bytes(), []byte{'\n'}))
}

// jsonWorkers is the number of goroutines encoding devices.
var jsonWorkers = func() int { return runtime.GOMAXPROCS(0) }

// devices writes the devices as items, each copied, normalized, marshalled
// and indented by one of up to workers goroutines, at most devicesAhead
// devices ahead of the writing; the bytes are those of one goroutine
// (real-1G: 46 MB of devices, ~1 CPU second of encoding/json).
func (a *arrayWriter) devices(devices []audit.Device, workers int) error {
	workers = min(workers, len(devices))
	if workers <= 1 {
		for k := range devices {
			d := deviceCopy(&devices[k])
			if err := a.value(&d); err != nil {
				return fmt.Errorf("device %s: %w", d.ID, err)
			}
		}
		return nil
	}
	type encoded struct {
		item []byte // "\n    " and the indented device
		err  error
		done chan struct{}
	}
	out := make([]encoded, len(devices))
	for k := range out {
		out[k].done = make(chan struct{})
	}
	slots := make(chan struct{}, devicesAhead*workers)
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var compact, item bytes.Buffer
			enc := json.NewEncoder(&compact)
			for {
				// A slot before an index: the devices being encoded are
				// always the first ones not yet written.
				select {
				case slots <- struct{}{}:
				case <-stop:
					return
				}
				k := int(next.Add(1) - 1)
				if k >= len(devices) {
					return
				}
				d := deviceCopy(&devices[k])
				compact.Reset()
				item.Reset()
				e := &out[k]
				if e.err = enc.Encode(&d); e.err == nil {
					item.WriteString("\n    ")
					e.err = appendIndent(&item, bytes.TrimSuffix(compact.Bytes(), []byte{'\n'}), "    ", "  ")
					e.item = bytes.Clone(item.Bytes())
				}
				if e.err != nil {
					e.err = fmt.Errorf("device %s: %w", d.ID, e.err)
				}
				close(e.done)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for k := range out {
		e := &out[k]
		<-e.done
		if e.err != nil {
			return e.err
		}
		if a.n > 0 {
			a.write([]byte{','})
		}
		a.write(e.item)
		a.n++
		e.item = nil
		<-slots
		if a.err != nil {
			return a.err
		}
	}
	return nil
}

// devicesAhead is how many devices per goroutine may be encoded before
// they are written.
const devicesAhead = 4

func (a *arrayWriter) begin(sep, name string) {
	a.n = 0
	a.write([]byte(sep + "\n  \"" + name + "\": ["))
}

func (a *arrayWriter) item(b []byte) error {
	a.buf.Reset()
	if a.n > 0 {
		a.buf.WriteByte(',')
	}
	a.buf.WriteString("\n    ")
	if err := appendIndent(&a.buf, b, "    ", "  "); err != nil {
		return err
	}
	a.n++
	a.write(a.buf.Bytes())
	return a.err
}

func (a *arrayWriter) end() {
	if a.n > 0 {
		a.write([]byte("\n  ]"))
	} else {
		a.write([]byte("]"))
	}
}

func (a *arrayWriter) write(b []byte) {
	if a.err == nil {
		_, a.err = a.w.Write(b)
	}
}

// deviceRecord is a Device without its nested lists, which NDJSON writes
// as records of their own. Keep it in step with audit.Device (a test
// checks that every JSON key of audit.Device is here or nested).
type deviceRecord struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	NameSource string          `json:"name_source"`
	MAC        string          `json:"mac,omitempty"`
	Vendor     string          `json:"vendor,omitempty"`
	IPs        []string        `json:"ips"`
	Hostnames  []string        `json:"hostnames,omitempty"`
	Model      string          `json:"model,omitempty"`
	OS         string          `json:"os,omitempty"`
	Notes      string          `json:"notes,omitempty"`
	DHCP       *audit.DHCPInfo `json:"dhcp,omitempty"`
	UserAgents []string        `json:"user_agents,omitempty"`
	FirstSeen  time.Time       `json:"first_seen"`
	LastSeen   time.Time       `json:"last_seen"`
}

// captureRecord is the capture-wide "summary" record: what was read, with
// which data, and the totals.
type captureRecord struct {
	SchemaVersion string          `json:"schema_version"`
	Tool          audit.Tool      `json:"tool"`
	Inputs        []audit.Input   `json:"inputs"`
	Data          []audit.DataSet `json:"data_sources"`
	Incomplete    bool            `json:"incomplete"`
	audit.Summary
}

// writeNDJSON writes one JSON object per line: flows, then events (each
// Event marshals itself), then per device its device, destination, leak,
// finding and summary records (all with a "device" key), then warnings,
// the capture summary and the counters.
func writeNDJSON(w io.Writer, r *audit.Report) error {
	c, devices := cloneWithoutDevices(r)
	nw := &ndWriter{w: w}
	for i := range c.Flows {
		nw.record("flow", "", c.Flows[i])
	}
	for i := range c.Events {
		b, err := json.Marshal(c.Events[i])
		if err != nil {
			return fmt.Errorf("event %d (frame %d): %w", i, c.Events[i].Frame, err)
		}
		nw.line(b)
	}
	if c.Records != nil {
		err := c.Records.Each(nil, func(b []byte) error {
			nw.raw("flow", "", b)
			return nw.err
		}, func(b []byte) error {
			nw.line(b)
			return nw.err
		})
		if err != nil {
			return err
		}
	}
	for i := range devices {
		dc := deviceCopy(&devices[i])
		d := &dc
		nw.record("device", d.ID, deviceRecord{
			ID: d.ID, Name: d.Name, NameSource: d.NameSource, MAC: d.MAC, Vendor: d.Vendor, IPs: d.IPs,
			Hostnames: d.Hostnames, Model: d.Model, OS: d.OS, Notes: d.Notes, DHCP: d.DHCP,
			UserAgents: d.UserAgents, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen,
		})
		for j := range d.Destinations {
			nw.record("destination", d.ID, d.Destinations[j])
		}
		for j := range d.Leaks {
			nw.record("leak", d.ID, d.Leaks[j])
		}
		for j := range d.Findings {
			nw.record("finding", d.ID, d.Findings[j])
		}
		nw.record("summary", d.ID, d.Summary)
	}
	for i := range c.Warnings {
		nw.record("warning", "", c.Warnings[i])
	}
	nw.record("summary", "", captureRecord{SchemaVersion: c.SchemaVersion, Tool: c.Tool, Inputs: c.Inputs,
		Data: c.Data, Incomplete: c.Incomplete, Summary: c.Summary})
	nw.record("counters", "", struct {
		Counters map[string]uint64 `json:"counters"`
	}{c.Counters})
	return nw.err
}

type ndWriter struct {
	w       io.Writer
	err     error
	buf     []byte        // the line being written, reused
	enc     *json.Encoder // into compact, for record
	compact bytes.Buffer
}

var errNotObject = errors.New("record is not a JSON object")

// record writes {"type":typ[,"device":dev],...fields of v}.
func (n *ndWriter) record(typ, dev string, v any) {
	if n.err != nil {
		return
	}
	if n.enc == nil {
		n.enc = json.NewEncoder(&n.compact)
	}
	n.compact.Reset()
	if err := n.enc.Encode(v); err != nil {
		n.err = fmt.Errorf("%s record: %w", typ, err)
		return
	}
	n.raw(typ, dev, bytes.TrimSuffix(n.compact.Bytes(), []byte{'\n'}))
}

// raw is record for a value already marshalled.
func (n *ndWriter) raw(typ, dev string, body []byte) {
	if n.err != nil {
		return
	}
	if len(body) < 2 || body[0] != '{' {
		n.err = fmt.Errorf("%s record: %w", typ, errNotObject)
		return
	}
	b := append(n.buf[:0], `{"type":`...)
	b = audit.AppendJSONString(b, typ)
	if dev != "" {
		b = append(b, `,"device":`...)
		b = audit.AppendJSONString(b, dev)
	}
	if len(body) > 2 {
		b = append(b, ',')
		b = append(b, body[1:]...)
	} else {
		b = append(b, '}')
	}
	n.buf = append(b, '\n')
	n.write(n.buf)
}

func (n *ndWriter) line(b []byte) {
	n.write(b)
	n.write([]byte{'\n'})
}

func (n *ndWriter) write(b []byte) {
	if n.err != nil {
		return
	}
	if _, err := n.w.Write(b); err != nil {
		n.err = err
	}
}
