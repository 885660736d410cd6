package capture

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// decompressError is a gzip or zstd stream that stopped part-way: cut
// short, a bad checksum, a window over the limit. Every byte decoded
// before it has been passed on.
type decompressError struct {
	codec  string
	err    error
	window uint64 // zstd: the window limit
}

func (e *decompressError) Error() string {
	if errors.Is(e.err, zstd.ErrWindowSizeExceeded) {
		return fmt.Sprintf("%s: unsupported: %v (the window may be at most %d MiB, --max-zstd-window)", e.codec, e.err, e.window>>20)
	}
	if errors.Is(e.err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("%s: compressed data truncated (%v)", e.codec, e.err)
	}
	return fmt.Sprintf("%s: compressed data damaged: %v", e.codec, e.err)
}

func (e *decompressError) Unwrap() error { return e.err }

// decompressed marks every error of a decompressor but io.EOF as a
// decompressError, so that a damaged stream is told from a clean end even
// when it stops between two records.
type decompressed struct {
	r      io.Reader
	codec  string
	window uint64
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = &decompressError{codec: d.codec, err: err, window: d.window}
	}
	return n, err
}

// zstdStream decodes zstd through Decoder.WriteTo in a goroutine: its Read
// holds back a block until the frame's checksum has arrived, so a frame
// cut anywhere after its last block (even one byte short) would give
// nothing, where WriteTo passes on every whole block before the error.
type zstdStream struct {
	dec  *zstd.Decoder
	pr   *io.PipeReader
	done chan struct{}
}

func newZstdStream(r io.Reader, window uint64) (*zstdStream, error) {
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(window),
		zstd.WithDecoderMaxMemory(max(window, 1<<30)), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	z := &zstdStream{dec: dec, pr: pr, done: make(chan struct{})}
	go func() {
		defer close(z.done)
		_, err := dec.WriteTo(pw)
		pw.CloseWithError(err) // nil: io.EOF for the reader
	}()
	return z, nil
}

func (z *zstdStream) Read(p []byte) (int, error) { return z.pr.Read(p) }

// Close stops the decoder and waits for its goroutine.
func (z *zstdStream) Close() error {
	z.pr.CloseWithError(errors.New("capture: closed"))
	<-z.done
	z.dec.Close()
	return nil
}
