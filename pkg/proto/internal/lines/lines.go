// Package lines splits one direction of a text protocol (SMTP, POP3,
// IMAP, FTP) into CRLF- or LF-terminated lines, bounded, without copying a
// line that arrives whole, and resynchronising after a gap by dropping the
// partial line that follows it.
package lines

import (
	"bytes"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Reader splits bytes into lines. The zero value is not usable: set Max.
type Reader struct {
	// Max bounds a line; the bytes past it are dropped and the line is
	// reported as Long.
	Max  int
	buf  []byte
	meta proto.Meta
	long bool
	n    int  // bytes of the partial line, kept or not
	cr   bool // the last byte added was CR
	has  bool // a partial line is buffered (buf may be empty if it was all dropped)
	skip bool // drop bytes up to the next line end (after a gap)
	gap  bool // the next line follows a gap
}

// Line is one line without its terminator. Data is valid until the next
// call on the Reader.
type Line struct {
	Data []byte
	Meta proto.Meta // of the line's first byte
	Long bool       // cut at Max
	Len  int        // length of the line as sent, without its terminator
	// AfterGap says bytes were lost just before this line.
	AfterGap bool
}

// Next consumes data up to the end of the next line and returns it with
// the bytes after it; ok is false when data ended inside a line (it is
// kept for the next call).
func (r *Reader) Next(data []byte, m proto.Meta) (l Line, rest []byte, ok bool) {
	for {
		i := bytes.IndexByte(data, '\n')
		if r.skip {
			if i < 0 {
				return Line{}, nil, false
			}
			r.skip, r.gap = false, true
			data = data[i+1:]
			continue
		}
		if i < 0 {
			if !r.has {
				r.has, r.meta, r.long, r.n, r.buf = true, m, false, 0, r.buf[:0]
			}
			r.add(data)
			return Line{}, nil, false
		}
		l.AfterGap, r.gap = r.gap, false
		if !r.has && i <= r.Max {
			l.Data, l.Meta = trimCR(data[:i]), m
			l.Len = len(l.Data)
			return l, data[i+1:], true
		}
		if !r.has {
			r.meta, r.long, r.n, r.buf = m, false, 0, r.buf[:0]
		}
		r.add(data[:i])
		r.has = false
		l.Data, l.Meta, l.Long, l.Len = trimCR(r.buf), r.meta, r.long, r.n
		if !r.long {
			l.Len = len(l.Data)
		} else if r.cr {
			l.Len--
		}
		return l, data[i+1:], true
	}
}

func (r *Reader) add(b []byte) {
	r.n += len(b)
	if len(b) > 0 {
		r.cr = b[len(b)-1] == '\r'
	}
	if len(r.buf)+len(b) > r.Max {
		r.long = true
	}
	if keep := min(len(b), r.Max-len(r.buf)); keep > 0 {
		r.buf = append(r.buf, b[:keep]...)
	}
}

// Gap drops the partial line and the bytes up to the next line end.
func (r *Reader) Gap() {
	r.has, r.skip, r.gap, r.buf = false, true, true, r.buf[:0]
}

// Pending returns the bytes of a partial line and forgets them (for a
// hand-over to another protocol).
func (r *Reader) Pending() []byte {
	if !r.has {
		return nil
	}
	r.has = false
	return append([]byte(nil), r.buf...)
}

// Reset forgets any partial line.
func (r *Reader) Reset() { r.has, r.skip, r.buf = false, false, r.buf[:0] }

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
