package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/spool"
)

// With Config.SpoolRecords each worker encodes its flow records and events
// to JSON as they are produced and spools them (pkg/spool), keyed by the
// same total orders mergeWorkers sorts by: flows by first frame,
// transport, client, server and start; events by frame, their flow's key,
// type and order of emission. At the end spooledRecords merges the
// workers' spools and streams them, numbering the flows as it goes and
// giving each event the number of its flow. Memory stays bounded whatever
// the number of records, and the output is the same as from memory.

// defaultSpoolBudget is the memory each spool of each worker fills before
// it writes a sorted run to disk.
const defaultSpoolBudget = 2 << 20

// recordSpools are one worker's spools (nil fields: that kind not kept).
type recordSpools struct {
	flows, events *spool.Writer
	seq           uint64 // events emitted, the last tie-break
	// Scratch, reused for every record (the spool copies what it keeps).
	buf, js, key []byte
}

func newRecordSpools(cfg Config) *recordSpools {
	rs := &recordSpools{}
	budget := cmp.Or(cfg.SpoolBudget, defaultSpoolBudget)
	if cfg.KeepFlows {
		rs.flows = spool.New(cfg.SpoolDir, budget).WithFallback(cfg.spoolFallback)
	}
	if cfg.KeepEvents {
		rs.events = spool.New(cfg.SpoolDir, budget).WithFallback(cfg.spoolFallback)
	}
	return rs
}

// flowKey is the byte-comparable sort key of a flow record: the order
// mergeWorkers gives flow records (the transport and the addresses as
// text, each ending in a 0 byte, which none contains).
func flowKey(dst []byte, firstFrame uint64, transport string, client, server netip.AddrPort, firstNano int64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, firstFrame)
	dst = append(append(dst, transport...), 0)
	dst = append(appendAddrText(dst, client), 0)
	dst = append(appendAddrText(dst, server), 0)
	return binary.BigEndian.AppendUint64(dst, uint64(firstNano)^1<<63)
}

// appendAddrText appends p.String() without making the string.
func appendAddrText(b []byte, p netip.AddrPort) []byte {
	if !p.IsValid() {
		return append(b, "invalid AddrPort"...) // AppendTo writes nothing
	}
	return p.AppendTo(b)
}

// recordKey is the flow key of a session's flow, built once.
func (s *session) recordKey() []byte {
	if s.recKey == nil {
		f := s.f
		s.recKey = flowKey(make([]byte, 0, 64), f.FirstFrame, f.Transport(), f.Client, f.Server, f.First.UnixNano())
	}
	return s.recKey
}

// spoolFlow adds a flow record; its ID is given when the spools are merged.
func (rs *recordSpools) spoolFlow(s *session, rec audit.Flow) error {
	rec.ID = 0
	v := binary.AppendUvarint(rs.buf[:0], s.f.ID)
	v = binary.AppendUvarint(v, uint64(len(rec.Device)))
	v = append(v, rec.Device...)
	v, err := rec.AppendJSON(v)
	rs.buf = v
	if err != nil {
		return err
	}
	rs.flows.Add(s.recordKey(), v)
	return nil
}

// spoolEvent adds an event of the session's flow (s nil: of no flow);
// frame is its run-wide frame number, the sort key (ev.Frame may be the
// number in its input, inputs.go).
func (rs *recordSpools) spoolEvent(s *session, ev audit.Event, frame uint64) error {
	local := ev.FlowID
	ev.FlowID = 0
	js, at, err := ev.AppendJSONFlowLater(rs.js[:0])
	rs.js = js
	if err != nil {
		return err
	}
	rs.seq++
	k := binary.BigEndian.AppendUint64(rs.key[:0], frame)
	if s != nil && local != 0 {
		k = append(k, 1)
		k = append(k, s.recordKey()...)
	} else {
		k, local = append(k, 0), 0
	}
	k = append(k, ev.Type...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, rs.seq)
	rs.key = k
	v := binary.AppendUvarint(rs.buf[:0], local)
	v = binary.AppendUvarint(v, uint64(at))
	v = append(v, js...)
	rs.buf = v
	rs.events.Add(k, v)
	return nil
}

// spooledRecords implements audit.Records over the workers' spools.
type spooledRecords struct {
	flows, events []*spool.Writer   // one per worker (none for a kind not kept)
	renamed       map[string]string // final device IDs by provisional ID
	mask          *leak.Masker      // nil: nothing to mask
	masked        []byte
	renames       map[string]*deviceRename // by provisional ID (rename)
	doh           *dohSpool                // rows DoH answers named (dohnames.go)
}

// newSpooledRecords closes the workers' spools; nil if none were kept.
func newSpooledRecords(workers []*worker, renamed map[string]string, mask *leak.Masker) (*spooledRecords, error) {
	r := &spooledRecords{renamed: renamed, mask: mask}
	var errs []error
	for _, w := range workers {
		rs := w.spools
		if rs == nil {
			return nil, nil
		}
		for _, p := range []struct {
			w   *spool.Writer
			dst *[]*spool.Writer
		}{{rs.flows, &r.flows}, {rs.events, &r.events}} {
			if p.w == nil {
				continue
			}
			if err := p.w.Close(); err != nil {
				errs = append(errs, err)
			}
			*p.dst = append(*p.dst, p.w)
		}
	}
	return r, errors.Join(errs...)
}

// deviceRename is the device key of a record before and after its
// device got its final ID.
type deviceRename struct{ old, now []byte }

// rename is the replacement for the provisional device ID dev, made once.
func (r *spooledRecords) rename(dev, id string) *deviceRename {
	if d, ok := r.renames[dev]; ok {
		return d
	}
	if r.renames == nil {
		r.renames = map[string]*deviceRename{}
	}
	old, _ := json.Marshal(dev)
	now, _ := json.Marshal(id)
	d := &deviceRename{append([]byte(`,"device":`), old...), append([]byte(`,"device":`), now...)}
	r.renames[dev] = d
	return d
}

// Each implements audit.Records. The spools are merged, and the records
// numbered, renamed and masked, on a goroutine of its own, which hands
// them in batches to the calling goroutine: there flowFn and eventFn are
// called, in the same order, while the next records are made (the
// writer indents and writes what the merge makes, on the other core).
func (r *spooledRecords) Each(keep func(device string) bool, flowFn, eventFn func([]byte) error) error {
	p := newRecordPipe()
	go func() { p.finish(r.merge(keep, p)) }()
	return p.consume(flowFn, eventFn)
}

// merge makes the records in output order and gives them to p.
func (r *spooledRecords) merge(keep func(device string) bool, p *recordPipe) error {
	cache := leak.NewMaskCache()
	flowFn := func(b []byte) error { return p.add(false, b) }
	eventFn := func(b []byte) error { return p.add(true, b) }
	// ids[worker][local flow ID] is the flow's number in the output; 0
	// when keep dropped it.
	ids := make([][]uint64, len(r.flows))
	var n uint64
	var buf []byte
	err := spool.Merge(r.flows, func(src int, _, v []byte) error {
		local, dev, js, err := decodeFlowValue(v)
		if err != nil {
			return err
		}
		n++
		if r.doh != nil {
			js = r.doh.flowJSON(js, string(dev), r.renamed)
		}
		rest := js[len(`{"id":0`):]
		var renamed *deviceRename
		if id, ok := r.renamed[string(dev)]; ok {
			renamed = r.rename(string(dev), id)
			if keep != nil && !keep(id) {
				return nil
			}
		} else if keep != nil && !keep(string(dev)) {
			return nil
		}
		if local >= uint64(len(ids[src])) {
			ids[src] = append(ids[src], make([]uint64, int(local)+1-len(ids[src]))...)
		}
		ids[src][local] = n
		buf = append(buf[:0], `{"id":`...)
		buf = strconv.AppendUint(buf, n, 10)
		// The device key is the first with this spelling: the strings
		// before it are a transport and two addresses.
		if renamed != nil {
			if i := bytes.Index(rest, renamed.old); i >= 0 {
				buf = append(buf, rest[:i]...)
				buf = append(buf, renamed.now...)
				rest = rest[i+len(renamed.old):]
			}
		}
		buf = append(buf, rest...)
		if r.mask != nil {
			var changed bool
			if r.masked, changed = r.mask.JSONCached(cache, r.masked[:0], buf, onlyName); changed {
				return flowFn(r.masked)
			}
		}
		return flowFn(buf)
	})
	if err != nil || len(r.events) == 0 {
		return err
	}
	return spool.Merge(r.events, func(src int, _, v []byte) error {
		local, at, js, err := decodeEventValue(v)
		if err != nil {
			return err
		}
		var id uint64
		if local != 0 {
			if src < len(ids) && local < uint64(len(ids[src])) {
				id = ids[src][local]
			}
			if id == 0 && keep != nil {
				return nil // its flow was filtered out
			}
		}
		buf = append(buf[:0], js[:at]...)
		if id != 0 {
			buf = append(buf, `,"flow_id":`...)
			buf = strconv.AppendUint(buf, id, 10)
		}
		fields := len(buf)
		buf = append(buf, js[at:]...)
		if r.mask != nil {
			var changed bool
			r.masked = append(r.masked[:0], buf[:fields]...)
			if r.masked, changed = r.mask.JSONCached(cache, r.masked, buf[fields:], nil); changed {
				return eventFn(r.masked)
			}
		}
		return eventFn(buf)
	})
}

// recordPipe carries records from the merging goroutine to the one that
// writes them, in batches of about pipeBatch bytes, at most pipeDepth
// batches ahead.
type recordPipe struct {
	full chan *recordBatch
	free chan *recordBatch
	stop chan struct{} // closed when the consumer stops early
	cur  *recordBatch
	err  error // the merge's, read once full is closed
}

type recordBatch struct {
	events bool // events, or flow records
	data   []byte
	ends   []int // the end of each record in data
}

const (
	pipeBatch = 256 << 10
	pipeDepth = 4
)

var errPipeStopped = errors.New("engine: record consumer stopped")

func newRecordPipe() *recordPipe {
	p := &recordPipe{full: make(chan *recordBatch, pipeDepth), free: make(chan *recordBatch, pipeDepth+1), stop: make(chan struct{})}
	for range pipeDepth + 1 {
		p.free <- &recordBatch{}
	}
	return p
}

// add copies one record into the current batch (merging goroutine).
func (p *recordPipe) add(events bool, rec []byte) error {
	if p.cur != nil && (p.cur.events != events || len(p.cur.data) >= pipeBatch) {
		if err := p.send(); err != nil {
			return err
		}
	}
	if p.cur == nil {
		select {
		case p.cur = <-p.free:
		case <-p.stop:
			return errPipeStopped
		}
		p.cur.events, p.cur.data, p.cur.ends = events, p.cur.data[:0], p.cur.ends[:0]
	}
	p.cur.data = append(p.cur.data, rec...)
	p.cur.ends = append(p.cur.ends, len(p.cur.data))
	return nil
}

func (p *recordPipe) send() error {
	b := p.cur
	p.cur = nil
	select {
	case p.full <- b:
		return nil
	case <-p.stop:
		return errPipeStopped
	}
}

// finish sends the last batch and ends the stream with the merge's error.
func (p *recordPipe) finish(err error) {
	if err == nil && p.cur != nil {
		err = p.send()
	}
	p.err = err
	close(p.full)
}

// consume calls flowFn and eventFn with every record (calling goroutine).
// It returns when the merge has stopped, so nothing reads the spools
// after it.
func (p *recordPipe) consume(flowFn, eventFn func([]byte) error) error {
	var err error
	for b := range p.full {
		if err == nil {
			fn := flowFn
			if b.events {
				fn = eventFn
			}
			start := 0
			for _, end := range b.ends {
				if err = fn(b.data[start:end]); err != nil {
					close(p.stop)
					break
				}
				start = end
			}
		}
		p.free <- b
	}
	if err != nil {
		return err
	}
	return p.err
}

// Close implements audit.Records.
func (r *spooledRecords) Close() error {
	var errs []error
	for _, w := range append(r.flows, r.events...) {
		if err := w.Remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var errSpoolValue = errors.New("engine: damaged spool record")

func decodeFlowValue(v []byte) (local uint64, device, js []byte, err error) {
	local, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, nil, nil, errSpoolValue
	}
	v = v[n:]
	l, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < l {
		return 0, nil, nil, errSpoolValue
	}
	device, js = v[n:n+int(l)], v[n+int(l):]
	if len(js) < len(`{"id":0}`) || string(js[:len(`{"id":0`)]) != `{"id":0` {
		return 0, nil, nil, fmt.Errorf("%w: flow record does not start with its id", errSpoolValue)
	}
	return local, device, js, nil
}

func decodeEventValue(v []byte) (local uint64, at int, js []byte, err error) {
	local, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, 0, nil, errSpoolValue
	}
	v = v[n:]
	a, n := binary.Uvarint(v)
	if n <= 0 || a > uint64(len(v)-n) {
		return 0, 0, nil, errSpoolValue
	}
	return local, int(a), v[n:], nil
}
