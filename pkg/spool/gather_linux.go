package spool

import (
	"encoding/binary"
	"io"
	"os"
	"slices"
	"syscall"
	"unsafe"
)

// gatherMax is the most slices one writev(2) takes (IOV_MAX).
const gatherMax = 1024

// gather is what writeGathered reuses from run to run.
type gather struct {
	heads []byte // each record's lengths and key
	iov   []syscall.Iovec
}

// writeGathered writes the sorted records to the file as writeBuffered
// does, with writev(2): each record's lengths and key, copied together,
// then its value from where it is, so that the values (nearly all of the
// bytes) are not copied on their way to the kernel. ok is false when the
// file is not one of the system's (tests' failing files): the caller
// writes through its buffer.
func (w *Writer) writeGathered() (n int64, ok bool, err error) {
	f, ok := w.f.(*os.File)
	if !ok {
		return 0, false, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	g := &w.gather
	for recs := w.recs; len(recs) > 0; {
		batch := recs[:min(len(recs), gatherMax/2)]
		recs = recs[len(batch):]
		need := 0
		for _, r := range batch {
			need += 2*binary.MaxVarintLen64 + len(r.key)
		}
		// Room for all the batch's heads at once: the slices taken of
		// heads stay where they point.
		g.heads, g.iov = slices.Grow(g.heads[:0], need), g.iov[:0]
		for _, r := range batch {
			at := len(g.heads)
			g.heads = binary.AppendUvarint(g.heads, uint64(len(r.key)))
			g.heads = binary.AppendUvarint(g.heads, uint64(len(r.val)))
			g.heads = append(g.heads, r.key...)
			g.iov = appendIovec(g.iov, g.heads[at:])
			if len(r.val) > 0 {
				g.iov = appendIovec(g.iov, r.val)
			}
		}
		m, err := writevAll(rc, g.iov)
		n += m
		if err != nil {
			return n, true, err
		}
	}
	return n, true, nil
}

func appendIovec(iov []syscall.Iovec, b []byte) []syscall.Iovec {
	v := syscall.Iovec{Base: &b[0]}
	v.SetLen(len(b))
	return append(iov, v)
}

// writevAll writes all of iov, again after a short write.
func writevAll(rc syscall.RawConn, iov []syscall.Iovec) (int64, error) {
	var n int64
	for len(iov) > 0 {
		var m uintptr
		var errno syscall.Errno
		if err := rc.Write(func(fd uintptr) bool {
			m, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			return true
		}); err != nil {
			return n, err
		}
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return n, os.NewSyscallError("writev", errno)
		case m == 0:
			return n, io.ErrShortWrite
		}
		n += int64(m)
		iov = skipWritten(iov, uint64(m))
	}
	return n, nil
}

// skipWritten is what is left of iov after its first m bytes.
func skipWritten(iov []syscall.Iovec, m uint64) []syscall.Iovec {
	for len(iov) > 0 && m >= iov[0].Len {
		m -= iov[0].Len
		iov = iov[1:]
	}
	if m > 0 {
		iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iov[0].Base), m))
		iov[0].SetLen(int(iov[0].Len - m))
	}
	return iov
}
