package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
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
	key           []byte // scratch for an event's key (the spool copies it)
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

// spoolFlow adds a flow record, encoded straight into the spool; its ID
// is given when the spools are merged. The value is the flow's local ID,
// its device (length first) and its JSON (decodeFlowValue).
func (rs *recordSpools) spoolFlow(s *session, rec audit.Flow) error {
	rec.ID = 0
	return rs.flows.Append(s.recordKey(), func(v []byte) ([]byte, error) {
		v = binary.AppendUvarint(v, s.f.ID)
		v = binary.AppendUvarint(v, uint64(len(rec.Device)))
		v = append(v, rec.Device...)
		return rec.AppendJSON(v)
	})
}

// transientFields is implemented by lazy event fields that can write
// their JSON straight from the decoder's state (dns.Record): what
// TransientFields returns is an audit.JSONAppender valid only during the
// Emit call.
type transientFields interface{ TransientFields() any }

// eventFields makes the fields of an event from its lazy form. Spooled
// events are encoded during the Emit call (worker.event), so fields that
// can be written from the decoder's state are not made at all.
func (w *worker) eventFields(lz proto.Lazy) any {
	if t, ok := lz.(transientFields); ok && w.spools != nil && w.spools.events != nil {
		return t.TransientFields()
	}
	return lz.Fields()
}

// spoolEvent adds an event of the session's flow (s nil: of no flow);
// frame is its run-wide frame number, the sort key (ev.Frame may be the
// number in its input, inputs.go).
// The event is encoded straight into the spool: the value is its flow's
// local ID, its JSON and, in 4 bytes at the end, where in the JSON its
// flow ID goes (decodeEventValue).
func (rs *recordSpools) spoolEvent(s *session, ev audit.Event, frame uint64) error {
	local := ev.FlowID
	ev.FlowID = 0
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
	return rs.events.Append(k, func(v []byte) ([]byte, error) {
		v = binary.AppendUvarint(v, local)
		js := len(v)
		v, at, err := ev.AppendJSONFlowLater(v)
		if err != nil {
			return v, err
		}
		return binary.BigEndian.AppendUint32(v, uint32(at-js)), nil
	})
}

// spooledRecords implements audit.Records over the workers' spools.
type spooledRecords struct {
	flows, events []*spool.Writer   // one per worker (none for a kind not kept)
	renamed       map[string]string // final device IDs by provisional ID
	mask          *leak.Masker      // nil: nothing to mask
	masked        []byte
	devices       map[string]*spooledDevice // by provisional ID (device)
	doh           *dohSpool                 // rows DoH answers named (dohnames.go)
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

// spooledDevice is the device of spooled flow records, as the merge
// needs it: its final ID and, when that is not its provisional one, the
// device key of its records before and after the rename.
type spooledDevice struct {
	id       string
	old, now []byte // nil: not renamed
}

// device is the entry of the provisional device ID dev, made once: one map
// lookup a flow record (the merge is one goroutine).
func (r *spooledRecords) device(dev []byte) *spooledDevice {
	if d, ok := r.devices[string(dev)]; ok {
		return d
	}
	if r.devices == nil {
		r.devices = map[string]*spooledDevice{}
	}
	d := &spooledDevice{id: string(dev)}
	if id, ok := r.renamed[d.id]; ok {
		d.old = audit.AppendJSONString([]byte(`,"device":`), d.id)
		d.now = audit.AppendJSONString([]byte(`,"device":`), id)
		d.id = id
	}
	r.devices[string(dev)] = d
	return d
}

// Each implements audit.Records: EachFormatted with the records as they
// are, handed to flowFn and eventFn one at a time.
func (r *spooledRecords) Each(keep func(device string) bool, flowFn, eventFn func([]byte) error) error {
	p := newRecordPipe(1, r.mask, nil)
	go func() { p.finish(r.merge(keep, p)) }()
	return p.consume(func(b *recordBatch) error {
		fn := flowFn
		if b.events {
			fn = eventFn
		}
		start := 0
		for _, end := range b.outEnds {
			if err := fn(b.out[start:end]); err != nil {
				return err
			}
			start = end
		}
		return nil
	})
}

// EachFormatted implements audit.FormattedRecords. The spools are merged,
// and the records numbered and renamed, on a goroutine of its own, in
// batches; workers goroutines mask and format the batches, and write is
// called with them in order on the calling goroutine (the writer's
// system calls run on yet another one, internal/bgwrite). The bytes do not
// depend on the number of goroutines.
func (r *spooledRecords) EachFormatted(keep func(device string) bool, workers int, format audit.RecordFormat, write func(event bool, b []byte) error) error {
	p := newRecordPipe(workers, r.mask, format)
	go func() { p.finish(r.merge(keep, p)) }()
	return p.consume(func(b *recordBatch) error { return write(b.events, b.out) })
}

// merge makes the records in output order, not yet masked, and gives them
// to p.
func (r *spooledRecords) merge(keep func(device string) bool, p *recordPipe) error {
	// ids[worker][local flow ID] is the flow's number in the output; 0
	// when keep dropped it.
	ids := make([][]uint64, len(r.flows))
	var n uint64
	err := spool.Merge(r.flows, func(src int, _, v []byte) error {
		local, devID, js, err := decodeFlowValue(v)
		if err != nil {
			return err
		}
		n++
		if r.doh != nil {
			js = r.doh.flowJSON(js, string(devID), r.renamed)
		}
		rest := js[len(`{"id":0`):]
		dev := r.device(devID)
		if keep != nil && !keep(dev.id) {
			return nil
		}
		if local >= uint64(len(ids[src])) {
			ids[src] = append(ids[src], make([]uint64, int(local)+1-len(ids[src]))...)
		}
		ids[src][local] = n
		b, err := p.batch(false)
		if err != nil {
			return err
		}
		d := append(b.data, `{"id":`...)
		d = strconv.AppendUint(d, n, 10)
		// The device key is the first with this spelling: the strings
		// before it are a transport and two addresses.
		if dev.old != nil {
			if i := bytes.Index(rest, dev.old); i >= 0 {
				d = append(d, rest[:i]...)
				d = append(d, dev.now...)
				rest = rest[i+len(dev.old):]
			}
		}
		b.data = append(d, rest...)
		p.added(0)
		return nil
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
		b, err := p.batch(true)
		if err != nil {
			return err
		}
		start := len(b.data)
		d := append(b.data, js[:at]...)
		if id != 0 {
			d = append(d, `,"flow_id":`...)
			d = strconv.AppendUint(d, id, 10)
		}
		fields := len(d) - start
		b.data = append(d, js[at:]...)
		p.added(fields)
		return nil
	})
}

// recordPipe carries records from the merging goroutine, in batches of
// about pipeBatch bytes, to workers goroutines that mask and format them,
// and from those, in the order of the merge, to the goroutine that writes
// them. At most 2 × workers + 2 batches are under way.
type recordPipe struct {
	work    chan *recordBatch // to the workers
	order   chan *recordBatch // to the writer, in the merge's order
	free    chan *recordBatch
	stop    chan struct{} // closed when the writer stops early
	cur     *recordBatch
	err     error // the merge's, read once order is closed
	mask    *leak.Masker
	format  audit.RecordFormat // nil: the records as they are, masked
	workers int
	wg      sync.WaitGroup
}

// recordBatch is a run of records of one kind, as merged and as formatted.
type recordBatch struct {
	events bool // events, or flow records
	data   []byte
	ends   []int // the end of each record in data
	// Where each record's masked part begins: an event's fields (its
	// common keys are not masked); 0 for a flow record, masked whole
	// except for its identity strings (onlyName).
	from    []int
	out     []byte // the formatted records
	outEnds []int
	err     error
	done    chan struct{} // the workers are done with the batch
}

const pipeBatch = 256 << 10

// maskCacheBudget is the memory of the formatting goroutines' mask
// caches together (leak.MaskCache).
const maskCacheBudget = 8 << 20

var errPipeStopped = errors.New("engine: record consumer stopped")

func newRecordPipe(workers int, mask *leak.Masker, format audit.RecordFormat) *recordPipe {
	workers = max(workers, 1)
	n := 2*workers + 2
	p := &recordPipe{work: make(chan *recordBatch, n), order: make(chan *recordBatch, n), free: make(chan *recordBatch, n),
		stop: make(chan struct{}), mask: mask, format: format, workers: workers}
	for range n {
		p.free <- &recordBatch{done: make(chan struct{}, 1)}
	}
	for range workers {
		p.wg.Add(1)
		go p.formatter()
	}
	return p
}

// batch is the batch the merge appends the next record of its kind to,
// at the end of its data, before it calls added (merging goroutine).
func (p *recordPipe) batch(events bool) (*recordBatch, error) {
	if p.cur != nil && (p.cur.events != events || len(p.cur.data) >= pipeBatch) {
		p.send()
	}
	if p.cur == nil {
		select {
		case p.cur = <-p.free:
		case <-p.stop:
			return nil, errPipeStopped
		}
		b := p.cur
		b.events, b.data, b.ends, b.from, b.err = events, b.data[:0], b.ends[:0], b.from[:0], nil
	}
	return p.cur, nil
}

// added ends the record appended to the current batch; its masked part
// begins from bytes into it.
func (p *recordPipe) added(from int) {
	b := p.cur
	b.ends = append(b.ends, len(b.data))
	b.from = append(b.from, from)
}

// send hands the current batch to the workers and to the writer; neither
// channel can be full, as they hold every batch there is.
func (p *recordPipe) send() {
	b := p.cur
	p.cur = nil
	p.order <- b
	p.work <- b
}

// finish sends the last batch and ends the stream with the merge's error.
func (p *recordPipe) finish(err error) {
	if p.cur != nil {
		p.send()
	}
	p.err = err
	close(p.work)
	close(p.order)
}

// formatter masks and formats batches (one of the workers goroutines):
// the format writes the string values through the masker, or, with no
// format (Each), the records are masked as they are.
func (p *recordPipe) formatter() {
	defer p.wg.Done()
	var cache *leak.MaskCache
	var strs audit.StringValues
	from, event := 0, false // of the record being formatted
	if p.mask != nil {
		cache = leak.NewMaskCacheSize(maskCacheBudget / p.workers)
		strs = func(dst, rec []byte, i int, key []byte) ([]byte, int) {
			if i < from || (!event && key != nil && onlyName(key)) {
				return dst, -1
			}
			return p.mask.AppendLiteral(cache, dst, rec, i)
		}
	}
	for b := range p.work {
		b.out, b.outEnds = b.out[:0], b.outEnds[:0]
		start := 0
		for i, end := range b.ends {
			rec := b.data[start:end]
			start = end
			var err error
			from, event = b.from[i], b.events
			if p.format == nil {
				b.out = p.maskCopy(cache, b.out, event, from, rec)
			} else if b.out, err = p.format(b.out, event, rec, strs); err != nil {
				b.err = err
				break
			}
			b.outEnds = append(b.outEnds, len(b.out))
		}
		b.done <- struct{}{}
	}
}

// maskCopy appends rec masked: an event's fields from from on, a flow
// record's names.
func (p *recordPipe) maskCopy(cache *leak.MaskCache, dst []byte, event bool, from int, rec []byte) []byte {
	if p.mask == nil {
		return append(dst, rec...)
	}
	skip := onlyName
	if event {
		dst, rec, skip = append(dst, rec[:from]...), rec[from:], nil
	}
	if out, changed := p.mask.JSONCached(cache, dst, rec, skip); changed {
		return out
	}
	return append(dst, rec...)
}

// consume calls write with every batch, in order (calling goroutine). It
// returns when the merge and the workers have stopped, so nothing reads
// the spools after it.
func (p *recordPipe) consume(write func(*recordBatch) error) error {
	var err error
	for b := range p.order {
		<-b.done
		if err == nil {
			if err = b.err; err == nil {
				err = write(b)
			}
			if err != nil {
				close(p.stop)
			}
		}
		p.free <- b
	}
	p.wg.Wait()
	if err != nil {
		return err
	}
	return p.err
}

// StreamOnce implements audit.OnceRecords: the merge gives the spools'
// file space back as it reads them (spool.Writer.FreeAsMerged), so the
// report's own pages can take the spools' instead of new memory.
func (r *spooledRecords) StreamOnce() {
	for _, w := range append(r.flows[:len(r.flows):len(r.flows)], r.events...) {
		w.FreeAsMerged()
	}
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
	if n <= 0 || len(v)-n < 4 {
		return 0, 0, nil, errSpoolValue
	}
	js = v[n : len(v)-4]
	a := binary.BigEndian.Uint32(v[len(v)-4:])
	if uint64(a) > uint64(len(js)) {
		return 0, 0, nil, errSpoolValue
	}
	return local, int(a), js, nil
}
