package report

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// writeOrdered writes n pieces of output to w in order, made by up to
// workers goroutines: each calls newMaker once and makes pieces with what
// it returns, make(i, out) writing piece i to out. So the bytes are those
// of making the pieces one after the other, whatever the number of
// goroutines. Pieces are taken in order; a piece made ahead of the writing
// is held in a buffer, and the goroutines wait while more than aheadBytes
// of made pieces wait to be written. The piece being written (the oldest
// not yet written) goes to w as it is made, headFlush bytes at a time, so
// that a piece much larger than the others (one device's destinations can
// be half of a report) is not held whole. lead, when not nil, is called in
// order before the first byte of each piece that writes any (a device's
// heading before its first table shown), never at the same time as a
// write to w.
// The first error — of make, of lead or of writing — is returned, and no
// piece is begun after it.
func writeOrdered(w io.Writer, n, workers, aheadBytes int, newMaker func() func(i int, out io.Writer) error, lead func(i int) error) error {
	o := &orderedRun{w: w, lead: lead, aheadBytes: aheadBytes}
	o.room = sync.NewCond(&o.mu)
	o.pieces = make([]orderedPiece, n)
	for i := range o.pieces {
		o.pieces[i] = orderedPiece{run: o, i: i, done: make(chan struct{})}
	}
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mk := newMaker()
			for p := o.take(); p != nil; p = o.take() {
				err := mk(p.i, p)
				o.made(p, err)
			}
		}()
	}
	var err error
	for i := range o.pieces {
		if err = o.write(&o.pieces[i]); err != nil {
			break
		}
	}
	o.mu.Lock()
	o.stopped = true
	o.halted.Store(true)
	o.room.Broadcast()
	o.mu.Unlock()
	wg.Wait()
	return err
}

// headFlush is how many bytes of the piece being written are gathered
// before they are written (a variable for tests).
var headFlush = 64 << 10

// errStopped is what a piece's Write returns once the writing has
// stopped on an earlier piece's error.
var errStopped = errors.New("report: output stopped")

// orderedRun is the state of one writeOrdered.
type orderedRun struct {
	w          io.Writer
	lead       func(i int) error
	aheadBytes int
	pieces     []orderedPiece

	mu      sync.Mutex
	room    *sync.Cond      // signalled when ahead falls or the run stops
	ahead   int             // bytes of made pieces not yet written
	next    int             // the next piece to take
	stopped bool            // an error stopped the writing, or it is over
	halted  atomic.Bool     // stopped, for Write to read without the lock
	free    []*bytes.Buffer // written pieces' buffers, for reuse
}

// orderedPiece is one piece: its buffer, and whether it is the one being
// written (its bytes go on to w as they come).
type orderedPiece struct {
	run  *orderedRun
	i    int
	done chan struct{} // closed when the piece is made

	mu      sync.Mutex
	buf     *bytes.Buffer
	head    bool  // the piece being written
	led     bool  // lead was called for it
	counted int   // its bytes counted in run.ahead
	err     error // the first error making or writing it
}

// take waits for room and returns the next piece to make, with a buffer,
// or nil once all are taken or the run has stopped.
func (o *orderedRun) take() *orderedPiece {
	o.mu.Lock()
	for o.ahead > o.aheadBytes && !o.stopped {
		o.room.Wait()
	}
	if o.stopped || o.next == len(o.pieces) {
		o.mu.Unlock()
		return nil
	}
	p := &o.pieces[o.next]
	o.next++
	var buf *bytes.Buffer
	if k := len(o.free); k > 0 {
		buf, o.free = o.free[k-1], o.free[:k-1]
	} else {
		buf = new(bytes.Buffer)
	}
	o.mu.Unlock()
	p.mu.Lock()
	p.buf = buf
	p.mu.Unlock()
	return p
}

// made records that p is made: a piece made ahead of the writing counts
// towards the bytes waiting.
func (o *orderedRun) made(p *orderedPiece, err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	if !p.head {
		p.counted = p.buf.Len()
	}
	p.mu.Unlock()
	o.mu.Lock()
	o.ahead += p.counted
	o.mu.Unlock()
	close(p.done)
}

// write makes p the piece being written, writes what it holds and what
// it gets until it is made, and gives its buffer back.
func (o *orderedRun) write(p *orderedPiece) error {
	p.mu.Lock()
	p.head = true
	p.flush()
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	p.flush()
	err, buf := p.err, p.buf
	p.buf = nil
	p.mu.Unlock()
	o.mu.Lock()
	o.ahead -= p.counted
	if err != nil {
		o.stopped = true
		o.halted.Store(true)
	}
	if buf != nil {
		buf.Reset()
		o.free = append(o.free, buf)
	}
	o.room.Broadcast()
	o.mu.Unlock()
	return err
}

// Write holds b, or writes it on when p is being written and enough is
// gathered.
func (p *orderedPiece) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	if !p.head && p.run.halted.Load() {
		p.err = errStopped
		return 0, p.err
	}
	switch {
	case p.head && p.buf.Len() == 0 && len(b) >= headFlush:
		p.writeOn(b) // not copied on the way
	case p.head && p.buf.Len()+len(b) >= headFlush:
		p.buf.Write(b)
		p.writeOn(p.buf.Bytes())
		p.buf.Reset()
	default:
		p.buf.Write(b)
	}
	if p.err != nil {
		return 0, p.err
	}
	return len(b), nil
}

// flush writes what p holds on to w; p.mu is held.
func (p *orderedPiece) flush() {
	if p.buf != nil && p.buf.Len() > 0 {
		p.writeOn(p.buf.Bytes())
		p.buf.Reset()
	}
}

// writeOn writes b to w, after lead before p's first byte; p.mu is held.
func (p *orderedPiece) writeOn(b []byte) {
	if p.err != nil || len(b) == 0 {
		return
	}
	if !p.led {
		p.led = true
		if p.run.lead != nil {
			if p.err = p.run.lead(p.i); p.err != nil {
				return
			}
		}
	}
	_, p.err = p.run.w.Write(b)
}
