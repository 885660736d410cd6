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
	// The records are indented on several goroutines, each as an item
	// after a comma; the first item of a list is written without it.
	err := audit.EachFormatted(c.Records, nil, jsonWorkers(), jsonItem, func(event bool, b []byte) error {
		if event {
			toEvents()
		}
		if aw.n == 0 {
			b = b[1:]
		}
		aw.n++
		aw.write(b)
		return aw.err
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

// A device is written in pieces: its head (the device without its
// destinations, leaks and findings), those lists in runs of listChunk
// items, and the rest of the head. Pieces are made by up to workers
// goroutines, at most piecesAhead per goroutine ahead of the writing, and
// written in order, so that the bytes are those of json.Indent of the
// whole device and memory holds a few pieces, not a device (real-1G: the
// "other-devices" device is 42 of the 46 MB of devices).
var listChunk = 64 // a variable for tests

const piecesAhead = 4

// deviceMarker is where the three lists are in a head indented as a
// device of the document's list (a raw newline is only ever between
// tokens, and key lines of 6 spaces are the device's own).
const deviceMarker = "\n      \"destinations\": [],\n      \"leaks\": [],\n      \"findings\": [],"

type devicePiece struct {
	dev   int
	part  int // 0 head, 1–3 the lists (items from..to), 4 the rest of the head
	from  int
	to    int
	first bool // the first piece of this part
}

// devices writes the devices as the items of the document's list.
func (a *arrayWriter) devices(devices []audit.Device, workers int) error {
	pieces := devicePieces(devices)
	a.n = len(devices)
	return orderedPieces(len(pieces), workers, a.write, func(enc *pieceEncoder, i int) ([]byte, error) {
		p := pieces[i]
		d := &devices[p.dev]
		b, err := enc.piece(d, p, p.dev)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", d.ID, err)
		}
		return b, nil
	})
}

// pieceEncoder is one goroutine's buffers.
type pieceEncoder struct {
	compact, out, head bytes.Buffer
	enc                *json.Encoder
	nd                 *ndWriter // into out, for NDJSON pieces
	// The list item being encoded (a field, not a local: a value handed
	// to encoding/json as an interface would be allocated per item).
	dest    audit.Destination
	leak    audit.Leak
	finding audit.Finding
}

func (e *pieceEncoder) marshal(v any) ([]byte, error) {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.compact)
	}
	e.compact.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(e.compact.Bytes(), []byte{'\n'}), nil
}

var listNames = [3]string{"destinations", "leaks", "findings"}

// piece returns the bytes of p, a piece of device d (the k-th).
func (e *pieceEncoder) piece(d *audit.Device, p devicePiece, k int) ([]byte, error) {
	e.out.Reset()
	switch p.part {
	case 0, 4:
		h := *d
		h.Destinations, h.Leaks, h.Findings = nil, nil, nil
		h = deviceCopy(&h)
		js, err := e.marshal(&h)
		if err != nil {
			return nil, err
		}
		head := &e.head
		head.Reset()
		if err := appendIndent(head, js, "    ", "  "); err != nil {
			return nil, err
		}
		m := bytes.Index(head.Bytes(), []byte(deviceMarker))
		if m < 0 {
			return nil, errors.New("lists not found in the device")
		}
		if p.part == 0 {
			if k > 0 {
				e.out.WriteByte(',')
			}
			e.out.WriteString("\n    ")
			e.out.Write(head.Bytes()[:m])
			e.out.WriteString("\n      \"destinations\": [")
		} else {
			if len(d.Findings) > 0 {
				e.out.WriteString("\n      ]")
			} else {
				e.out.WriteString("]")
			}
			e.out.Write(head.Bytes()[m+len(deviceMarker)-1:]) // from the comma on
		}
	default:
		l := p.part - 1
		n := [3]int{len(d.Destinations), len(d.Leaks), len(d.Findings)}
		if p.first && l > 0 {
			if n[l-1] > 0 {
				e.out.WriteString("\n      ]")
			} else {
				e.out.WriteString("]")
			}
			e.out.WriteString(",\n      \"" + listNames[l] + "\": [")
		}
		for i := p.from; i < p.to; i++ {
			js, err := e.marshal(e.listItem(d, l, i))
			if err != nil {
				return nil, err
			}
			if i > 0 {
				e.out.WriteByte(',')
			}
			e.out.WriteString("\n        ")
			if err := appendIndent(&e.out, js, "        ", "  "); err != nil {
				return nil, err
			}
		}
	}
	return e.out.Bytes(), nil
}

// listItem is item i of list l (destinations, leaks, findings) of d, as
// normalizeDevice makes it, held in e until the next call.
func (e *pieceEncoder) listItem(d *audit.Device, l, i int) any {
	switch l {
	case 0:
		x := &e.dest
		*x = d.Destinations[i]
		x.Protocols = nonNil(x.Protocols)
		x.FirstSeen, x.LastSeen = x.FirstSeen.UTC(), x.LastSeen.UTC()
		return x
	case 1:
		x := &e.leak
		*x = d.Leaks[i]
		x.Time = x.Time.UTC()
		return x
	default:
		x := &e.finding
		*x = d.Findings[i]
		x.Time = x.Time.UTC()
		return x
	}
}

// devicePieces lists the pieces of the devices.
func devicePieces(devices []audit.Device) []devicePiece {
	var pieces []devicePiece
	for k := range devices {
		d := &devices[k]
		pieces = append(pieces, devicePiece{dev: k, part: 0, first: true})
		for l, n := range [3]int{len(d.Destinations), len(d.Leaks), len(d.Findings)} {
			pieces = append(pieces, devicePiece{dev: k, part: l + 1, first: true, to: min(n, listChunk)})
			for from := listChunk; from < n; from += listChunk {
				pieces = append(pieces, devicePiece{dev: k, part: l + 1, from: from, to: min(n, from+listChunk)})
			}
		}
		pieces = append(pieces, devicePiece{dev: k, part: 4, first: true})
	}
	return pieces
}

// ndPiece returns the NDJSON lines of p, a piece of device d: its device
// record, a run of its destination, leak or finding records, or its
// summary record.
func (e *pieceEncoder) ndPiece(d *audit.Device, p devicePiece) ([]byte, error) {
	e.out.Reset()
	if e.nd == nil {
		e.nd = &ndWriter{w: &e.out}
	}
	nw := e.nd
	switch p.part {
	case 0, 4:
		h := *d
		h.Destinations, h.Leaks, h.Findings = nil, nil, nil
		h = deviceCopy(&h)
		if p.part == 0 {
			nw.record("device", h.ID, deviceRecord{
				ID: h.ID, Name: h.Name, NameSource: h.NameSource, MAC: h.MAC, Vendor: h.Vendor, IPs: h.IPs,
				Hostnames: h.Hostnames, Model: h.Model, OS: h.OS, Notes: h.Notes, DHCP: h.DHCP,
				UserAgents: h.UserAgents, FirstSeen: h.FirstSeen, LastSeen: h.LastSeen,
			})
		} else {
			nw.record("summary", h.ID, h.Summary)
		}
	default:
		typ := [3]string{"destination", "leak", "finding"}[p.part-1]
		for i := p.from; i < p.to; i++ {
			nw.record(typ, d.ID, e.listItem(d, p.part-1, i))
		}
	}
	if nw.err != nil {
		return nil, nw.err
	}
	return e.out.Bytes(), nil
}

// orderedPieces calls write with piece(i) for every i < n in order, the
// pieces made by up to workers goroutines at most piecesAhead each ahead
// of the writing. piece's result is valid until its goroutine's next call.
func orderedPieces(n, workers int, write func([]byte), piece func(*pieceEncoder, int) ([]byte, error)) error {
	workers = min(workers, n)
	if workers <= 1 {
		var enc pieceEncoder
		for i := range n {
			b, err := piece(&enc, i)
			if err != nil {
				return err
			}
			write(b)
		}
		return nil
	}
	type made struct {
		b    []byte
		err  error
		done chan struct{}
	}
	out := make([]made, n)
	for i := range out {
		out[i].done = make(chan struct{})
	}
	slots := make(chan struct{}, piecesAhead*workers)
	spare := make(chan []byte, piecesAhead*workers+workers) // written pieces' memory, for the next
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var enc pieceEncoder
			for {
				// A slot before an index: the pieces being made are
				// always the first ones not yet written.
				select {
				case <-stop:
					return
				case slots <- struct{}{}:
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				b, err := piece(&enc, i)
				var keep []byte
				select {
				case keep = <-spare:
				default:
				}
				out[i].b, out[i].err = append(keep[:0], b...), err
				close(out[i].done)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for i := range out {
		<-out[i].done
		if out[i].err != nil {
			return out[i].err
		}
		write(out[i].b)
		select {
		case spare <- out[i].b:
		default:
		}
		out[i].b = nil
		<-slots
	}
	return nil
}

func (a *arrayWriter) begin(sep, name string) {
	a.n = 0
	a.write([]byte(sep + "\n  \"" + name + "\": ["))
}

// jsonItem is a record as an item of the document's flow or event list,
// after its comma (audit.RecordFormat).
func jsonItem(dst []byte, _ bool, rec []byte, strs audit.StringValues) ([]byte, error) {
	return indentAppend(append(dst, ",\n    "...), rec, "    ", "  ", strs)
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
		err := audit.EachFormatted(c.Records, nil, jsonWorkers(), ndjsonLine, func(_ bool, b []byte) error {
			nw.write(b)
			return nw.err
		})
		if err != nil {
			return err
		}
	}
	if nw.err != nil {
		return nw.err
	}
	// Per device its device, destination, leak, finding and summary
	// records, made in pieces on GOMAXPROCS goroutines (as for JSON).
	pieces := devicePieces(devices)
	err := orderedPieces(len(pieces), jsonWorkers(), nw.write, func(enc *pieceEncoder, i int) ([]byte, error) {
		p := pieces[i]
		return enc.ndPiece(&devices[p.dev], p)
	})
	if err != nil {
		return err
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

// ndjsonLine is a spooled record as its NDJSON line: a flow record as
// raw writes it, an event as it is (audit.RecordFormat).
func ndjsonLine(dst []byte, event bool, rec []byte, strs audit.StringValues) ([]byte, error) {
	if event {
		return append(compactAppend(dst, rec, keyTracker{}, strs), '\n'), nil
	}
	if len(rec) < 2 || rec[0] != '{' {
		return dst, fmt.Errorf("flow record: %w", errNotObject)
	}
	dst = append(dst, `{"type":"flow"`...)
	if len(rec) > 2 {
		// In the record's object, after its {.
		in := keyTracker{depth: 1, objects: 1, expect: true}
		dst = compactAppend(append(dst, ','), rec[1:], in, strs)
	} else {
		dst = append(dst, '}')
	}
	return append(dst, '\n'), nil
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
