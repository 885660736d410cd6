// Package bgwrite buffers writes and hands the full buffers to a
// goroutine that writes them, so that the write system calls of a large
// report (hundreds of megabytes of JSON) overlap with making the next
// bytes instead of stopping the writer at every buffer.
package bgwrite

import (
	"io"
	"sync"
	"sync/atomic"
)

// Writer is an io.Writer that writes to its underlying writer from a
// goroutine of its own, size bytes at a time. It is not safe for
// concurrent use. The first error of the underlying writer is returned by
// every later Write and by Close.
type Writer struct {
	w      io.Writer
	size   int
	buf    []byte
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	mu     sync.Mutex
	err    error
	failed atomic.Bool // err is set (checked on every Write without the lock)
	close  sync.Once
}

// buffers is how many buffers a Writer has: one being filled, the others
// being written or waiting to be.
const buffers = 3

// New returns a Writer that writes to w in pieces of size bytes (the last
// one shorter). Close must be called to write the rest and stop the
// goroutine.
func New(w io.Writer, size int) *Writer {
	size = max(size, 4096)
	b := &Writer{w: w, size: size, full: make(chan []byte, buffers), free: make(chan []byte, buffers), done: make(chan struct{})}
	for range buffers - 1 {
		b.free <- make([]byte, 0, size)
	}
	b.buf = make([]byte, 0, size)
	go b.loop()
	return b
}

func (b *Writer) loop() {
	defer close(b.done)
	for p := range b.full {
		if b.error() == nil {
			if _, err := b.w.Write(p); err != nil {
				b.setErr(err)
			}
		}
		b.free <- p[:0]
	}
}

func (b *Writer) setErr(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.failed.Store(true)
}

func (b *Writer) error() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Write copies p into the buffer, handing full buffers to the goroutine.
func (b *Writer) Write(p []byte) (int, error) { return write(b, p) }

// WriteString is Write for a string, without converting it.
func (b *Writer) WriteString(s string) (int, error) { return write(b, s) }

// WriteByte writes one byte.
func (b *Writer) WriteByte(c byte) error {
	if b.failed.Load() {
		return b.error()
	}
	b.buf = append(b.buf, c)
	if len(b.buf) == cap(b.buf) {
		b.hand()
	}
	return nil
}

func write[T string | []byte](b *Writer, p T) (int, error) {
	if b.failed.Load() {
		return 0, b.error()
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+k]
		p = p[k:]
		if len(b.buf) == cap(b.buf) {
			b.hand()
		}
	}
	return n, nil
}

// hand gives the full buffer to the goroutine and takes a free one.
func (b *Writer) hand() {
	b.full <- b.buf
	b.buf = <-b.free
}

// Close writes what is buffered, waits until everything was written and
// returns the first error of the underlying writer. Later Writes fail.
func (b *Writer) Close() error {
	b.close.Do(func() {
		if len(b.buf) > 0 {
			b.full <- b.buf
		}
		b.buf = nil
		close(b.full)
		<-b.done
		b.setErr(errClosed)
	})
	if err := b.error(); err != errClosed {
		return err
	}
	return nil
}

type closedError struct{}

func (closedError) Error() string { return "bgwrite: write after Close" }

var errClosed error = closedError{}
