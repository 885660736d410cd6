// Package spool sorts more records than memory should hold: a Writer
// buffers keyed records, sorts them and, past its memory budget, writes
// the sorted run to a temporary file; Merge reads the runs of several
// Writers back as one stream in key order. Records are opaque bytes and
// keys compare as byte strings (bytes.Compare).
//
// The engine spools flow records and protocol events through it, so that
// JSON and NDJSON output of any capture size need a bounded amount of
// memory.
//
// When the temporary file cannot be created or written (TMPDIR missing,
// read-only or full), the runs stay in memory instead, within a Fallback
// budget shared by the Writers of a run; only beyond it are records
// dropped, and they are counted: Close then returns an error saying how
// many.
package spool

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
)

// DefaultFallback is the memory a run's Writers may use together for runs
// they could not write to a temporary file.
const DefaultFallback = 256 << 20

// Fallback is a memory budget shared by Writers (safe for concurrent use).
type Fallback struct{ left atomic.Int64 }

// NewFallback returns a budget of n bytes.
func NewFallback(n int64) *Fallback {
	f := &Fallback{}
	f.left.Store(n)
	return f
}

func (f *Fallback) take(n int64) bool {
	if f == nil {
		return false
	}
	if f.left.Add(-n) >= 0 {
		return true
	}
	f.left.Add(n)
	return false
}

// file is where runs go: an *os.File, or a failing one in tests.
type file interface {
	io.Writer
	io.ReaderAt
	io.Closer
	Name() string
}

// createTemp makes the temporary file (replaced in tests).
var createTemp = func(dir string) (file, error) { return os.CreateTemp(dir, "phonehome-spool-*") }

// DefaultBudget is the memory a Writer fills before it writes a run.
const DefaultBudget = 8 << 20

// readBuffer is the write buffer of a Writer and the largest read buffer of
// a run during a merge; mergeBuffers bounds the read buffers of all runs.
const (
	readBuffer   = 64 << 10
	mergeBuffers = 16 << 20
)

// Writer collects records. It is not safe for concurrent use; give each
// goroutine its own and merge them.
type Writer struct {
	dir      string
	budget   int
	recs     []record
	spare    []record // the records' slice before the last sort, for the next
	ranks    []rank   // sort's
	arena    []byte
	f        file
	bw       *bufio.Writer
	off      int64
	runs     []run
	mem      [][]record // runs kept in memory after the file failed
	fallback *Fallback
	n        int64
	lost     int64 // records dropped: no file and no fallback memory
	ferr     error // why the file failed (nil: it did not)
	closed   bool
	unlinked bool // the file has no name any more; closing frees it
	// freeAsMerged: Merge gives the file's space back as it reads it (see
	// FreeAsMerged).
	freeAsMerged bool
	freed        bool // a Merge gave the file back
}

// FreeAsMerged makes the next Merge of w give the space of its temporary
// file back as it reads the runs (on Linux, by punching holes in the
// file), so that the file does not hold the whole spool until it is
// removed and its pages are free for the next writes (the report).
// Nothing can be merged from w after that Merge.
func (w *Writer) FreeAsMerged() { w.freeAsMerged = true }

type record struct{ key, val []byte }

// rank is a record's place in the sort: its key's prefix and its index
// in the run (the order of Add, for a stable sort). Sorting these instead
// of the records moves a quarter of the bytes.
type rank struct {
	pre uint64 // keyPrefix
	i   int
}

// keyPrefix is a rank's pre, the key's first 8 bytes, big-endian,
// zero-padded: two keys whose prefixes differ compare as
// their prefixes do (a shorter key's padding is below the byte the other
// has there), so the sort compares whole keys only on equal prefixes (the
// engine's keys begin with a frame number).
func keyPrefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

type run struct{ off, size int64 }

// New returns a Writer that keeps up to budget bytes of records in memory
// (DefaultBudget if budget <= 0) and writes sorted runs to a temporary
// file in dir (os.TempDir() if empty), created on first need.
func New(dir string, budget int) *Writer {
	if budget <= 0 {
		budget = DefaultBudget
	}
	return &Writer{dir: dir, budget: budget}
}

// WithFallback lets the Writer keep runs in memory, within f, when its
// temporary file fails; without one they are dropped.
func (w *Writer) WithFallback(f *Fallback) *Writer {
	w.fallback = f
	return w
}

// Add copies a record into the spool. If a run can be neither written nor
// kept in memory its records are dropped and counted (see Close).
func (w *Writer) Add(key, val []byte) {
	if !w.closed && len(w.arena)+len(key)+len(val) > w.budget && len(w.recs) > 0 {
		w.flush() // the value will fit (or the record is alone in its run)
	}
	w.Append(key, func(dst []byte) ([]byte, error) { return append(dst, val...), nil })
}

// Append adds a record whose value appendVal appends to dst, the spool's
// own memory, so that the value is written once instead of being made
// and then copied; appendVal must only append to dst. When it fails,
// nothing is added and its error is returned.
func (w *Writer) Append(key []byte, appendVal func(dst []byte) ([]byte, error)) error {
	if w.closed {
		return nil
	}
	if len(w.arena)+len(key) > w.budget && len(w.recs) > 0 {
		w.flush()
	}
	if w.arena == nil {
		// Once, at full size: growing by doubling cost more than the
		// sorting (fresh pages to clear, old arrays for the collector).
		w.arena = make([]byte, 0, w.budget)
	}
	start := len(w.arena)
	w.arena = append(w.arena, key...)
	end := len(w.arena)
	room := w.arena[end:end:max(end, min(cap(w.arena), w.budget))]
	v, err := appendVal(room)
	if err != nil {
		w.arena = w.arena[:start]
		return err
	}
	if len(v) > 0 && (cap(room) == 0 || &v[0] != &room[:1][0]) {
		// The value did not fit in the run's budget: append made it
		// elsewhere. It starts the next run, with its key.
		k := w.arena[start:end]
		w.arena = w.arena[:start]
		if len(w.recs) > 0 {
			w.flush()
			if w.arena == nil {
				w.arena = make([]byte, 0, w.budget)
			}
			w.arena = append(w.arena, k...) // copy handles the overlap
		} else {
			w.arena = w.arena[:end]
		}
		start, end = 0, len(w.arena)
		w.arena = append(w.arena, v...)
	} else {
		w.arena = w.arena[:end+len(v)]
	}
	k := w.arena[start:end:end]
	w.recs = append(w.recs, record{k, w.arena[end:len(w.arena):len(w.arena)]})
	w.n++
	return nil
}

// Len is the number of records added.
func (w *Writer) Len() int64 { return w.n }

// SpilledBytes is how much the Writer wrote to its temporary file.
func (w *Writer) SpilledBytes() int64 { return w.off }

// flush sorts the buffered records and appends them to the file as a run,
// or keeps them in memory when the file fails.
func (w *Writer) flush() {
	w.sort()
	if w.ferr == nil {
		w.ferr = w.writeRun()
		if w.ferr == nil {
			w.recs, w.arena = w.recs[:0], w.arena[:0]
			return
		}
	}
	// The records stay where they are, in their own arena; the next run
	// gets a new one.
	if w.fallback.take(int64(cap(w.arena)) + int64(cap(w.recs))*recordSize) {
		w.mem = append(w.mem, w.recs)
	} else {
		w.lost += int64(len(w.recs))
	}
	w.recs, w.arena = nil, nil
}

// recordSize is the memory counted for one record of a run kept in
// memory: its header (a record, two slices: 48 bytes) plus its 16-byte
// rank in the sort.
const recordSize = 48 + 16

// writeRun appends the sorted records to the file as a run.
func (w *Writer) writeRun() error {
	if w.f == nil {
		f, err := createTemp(w.dir)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		w.f, w.bw = f, bufio.NewWriterSize(f, readBuffer)
		// Unlinked at once where the system allows it (Unix): nothing is
		// left behind if the process is killed.
		w.unlinked = os.Remove(f.Name()) == nil
	}
	start := w.off
	var hdr [2 * binary.MaxVarintLen64]byte
	for _, r := range w.recs {
		n := binary.PutUvarint(hdr[:], uint64(len(r.key)))
		n += binary.PutUvarint(hdr[n:], uint64(len(r.val)))
		w.bw.Write(hdr[:n])
		w.bw.Write(r.key)
		w.bw.Write(r.val)
		w.off += int64(n + len(r.key) + len(r.val))
	}
	if err := w.bw.Flush(); err != nil {
		// The runs before this one were written whole and stay usable.
		w.off = start
		return fmt.Errorf("spool: %w", err)
	}
	w.runs = append(w.runs, run{start, w.off - start})
	return nil
}

// sort puts the run's records in key order (stable), through their ranks.
func (w *Writer) sort() {
	recs, ranks := w.recs, w.ranks[:0]
	for i, r := range recs {
		ranks = append(ranks, rank{keyPrefix(r.key), i})
	}
	slices.SortFunc(ranks, func(a, b rank) int {
		if a.pre != b.pre {
			return cmp.Compare(a.pre, b.pre)
		}
		if c := bytes.Compare(recs[a.i].key, recs[b.i].key); c != 0 {
			return c
		}
		return a.i - b.i
	})
	sorted := w.spare[:0]
	for _, r := range ranks {
		sorted = append(sorted, recs[r.i])
	}
	// The unsorted slice is the next sort's (cleared: it must not keep
	// an arena alive); a run kept in memory owns the sorted one (flush).
	clear(recs)
	w.recs, w.spare, w.ranks = sorted, recs[:0], ranks
}

// Close ends adding: the records still in memory stay there as the last
// run. It returns an error when records were dropped (the temporary file
// failed and the fallback memory was used up); the others can still be
// merged.
func (w *Writer) Close() error {
	if !w.closed {
		w.closed = true
		w.sort()
	}
	if w.lost > 0 {
		return fmt.Errorf("%d records dropped: temporary file failed (%v) and the memory fallback is used up", w.lost, w.ferr)
	}
	return nil
}

// Lost is the number of records dropped.
func (w *Writer) Lost() int64 { return w.lost }

// FileError says why the temporary file failed, nil if it did not; the
// runs since then were kept in memory (or dropped, see Lost).
func (w *Writer) FileError() error { return w.ferr }

// Remove deletes the temporary file and frees the memory.
func (w *Writer) Remove() error {
	w.recs, w.spare, w.ranks, w.arena, w.runs, w.mem = nil, nil, nil, nil, nil, nil
	if w.f == nil {
		return nil
	}
	name := w.f.Name()
	err := w.f.Close()
	w.f = nil
	if !w.unlinked {
		err = os.Remove(name)
	}
	return err
}

// Merge calls yield with every record of the closed Writers, in key order,
// with the index in ws of the Writer it came from; records with equal keys
// come in the order of ws, then in the order they were added. It stops at
// the first error of yield and returns it. The slices passed to yield are
// only valid during the call.
func Merge(ws []*Writer, yield func(src int, key, val []byte) error) error {
	var h cursors
	runs := 0
	for _, w := range ws {
		if !w.closed {
			return errors.New("spool: Merge before Close")
		}
		if w.freed {
			return errors.New("spool: Merge after a Merge that gave the file back (FreeAsMerged)")
		}
		runs += len(w.runs)
	}
	bufSize := min(readBuffer, max(4<<10, mergeBuffers/max(runs, 1)))
	for wi, w := range ws {
		w.freed = w.freeAsMerged && len(w.runs) > 0
		for ri, r := range w.runs {
			var rd io.Reader = io.NewSectionReader(w.f, r.off, r.size)
			if w.freeAsMerged {
				rd = &freeingReader{f: w.f, off: r.off, end: r.off + r.size, freed: r.off}
			}
			c := &cursor{src: wi, run: ri, r: bufio.NewReaderSize(rd, bufSize), size: r.size}
			if err := c.next(); err != nil {
				if err == io.EOF {
					continue
				}
				return err
			}
			h = append(h, c)
		}
		// Runs kept in memory came after the file's; the records not
		// yet flushed come last.
		for mi, m := range append(w.mem[:len(w.mem):len(w.mem)], w.recs) {
			if len(m) > 0 {
				c := &cursor{src: wi, run: len(w.runs) + mi, mem: m}
				c.next()
				h = append(h, c)
			}
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		c := h[0]
		if err := yield(c.src, c.key, c.val); err != nil {
			return err
		}
		switch err := c.next(); err {
		case nil:
			heap.Fix(&h, 0)
		case io.EOF:
			heap.Pop(&h)
		default:
			return err
		}
	}
	return nil
}

// freeingReader reads a run from the file as io.SectionReader does, and
// gives the file's space back behind itself, in steps of punchStep: what
// it has read is in the caller's buffer.
type freeingReader struct {
	f               file
	off, end, freed int64
	failed          bool // the file system cannot: stop trying
}

// punchStep is how much of a run is read before its space is given back
// (whole pages only: a page a run shares with the one before stays).
const punchStep = 1 << 20

func (r *freeingReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	if rest := r.end - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if !r.failed && (r.off-r.freed >= punchStep || r.off == r.end) {
		from, to := (r.freed+pageSize-1)&^(pageSize-1), r.off&^(pageSize-1)
		if to > from {
			r.failed = !punchHole(r.f, from, to-from)
			r.freed = to
		}
	}
	return n, err
}

const pageSize = 4096

// cursor reads one run, from the file or from memory.
type cursor struct {
	src, run int
	r        *bufio.Reader
	mem      []record
	buf      []byte
	key, val []byte
	size     int64 // of the run in the file: no record is longer
	read     int   // bytes of r that key and val still point into
}

// next reads the next record. Key and value point into the reader's
// buffer when the record is in it (most are: records are small), else
// into buf; either way they are valid until the next call.
func (c *cursor) next() error {
	if c.r == nil {
		if len(c.mem) == 0 {
			return io.EOF
		}
		c.key, c.val = c.mem[0].key, c.mem[0].val
		c.mem = c.mem[1:]
		return nil
	}
	if c.read > 0 {
		c.r.Discard(c.read)
		c.read = 0
	}
	kl, vl, err := c.lengths()
	if err != nil {
		return err
	}
	// The lengths come from the file: a damaged one must not make the
	// buffer larger than the run it claims to be in.
	if kl > uint64(c.size) || vl > uint64(c.size)-kl {
		return fmt.Errorf("spool: damaged run: a record of %d + %d bytes in a run of %d", kl, vl, c.size)
	}
	n := int(kl + vl)
	b, err := c.r.Peek(n)
	switch {
	case err == nil:
		c.read = n
	case errors.Is(err, bufio.ErrBufferFull):
		if cap(c.buf) < n {
			c.buf = make([]byte, n)
		}
		b = c.buf[:n]
		if _, err := io.ReadFull(c.r, b); err != nil {
			return fmt.Errorf("spool: damaged run: %w", err)
		}
	default:
		return fmt.Errorf("spool: damaged run: %w", noEOF(err))
	}
	c.key, c.val = b[:kl], b[kl:]
	return nil
}

// lengths reads the key's and the value's length before a record; io.EOF
// at the end of the run.
func (c *cursor) lengths() (kl, vl uint64, err error) {
	const most = 2 * binary.MaxVarintLen64
	if h, _ := c.r.Peek(most); len(h) > 0 {
		if k, n := binary.Uvarint(h); n > 0 {
			if v, m := binary.Uvarint(h[n:]); m > 0 {
				c.r.Discard(n + m)
				return k, v, nil
			}
		}
	}
	kl, err = binary.ReadUvarint(c.r)
	if err == io.EOF {
		return 0, 0, err // the end of the run
	}
	if err != nil {
		return 0, 0, fmt.Errorf("spool: damaged run: %w", err)
	}
	if vl, err = binary.ReadUvarint(c.r); err != nil {
		return 0, 0, fmt.Errorf("spool: damaged run: %w", err)
	}
	return kl, vl, nil
}

// noEOF is err, io.ErrUnexpectedEOF for io.EOF: a run that ends inside a
// record.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

type cursors []*cursor

func (h cursors) Len() int { return len(h) }
func (h cursors) Less(i, j int) bool {
	if c := bytes.Compare(h[i].key, h[j].key); c != 0 {
		return c < 0
	}
	if h[i].src != h[j].src {
		return h[i].src < h[j].src
	}
	return h[i].run < h[j].run
}
func (h cursors) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
