package capture

import (
	"encoding/binary"
	"io"
)

// ngFilter passes a pcapng stream through block by block, dropping Name
// Resolution Blocks: phonehome does not use them, and pcapgo fails on some
// valid ones (big-endian NRBs with options), which would end the file
// early. Blocks it cannot make sense of are passed on unchanged so that
// pcapgo reports the damage.
type ngFilter struct {
	r       io.Reader
	order   binary.ByteOrder
	pending []byte // bytes of the current block still to pass on
	remain  int64  // body bytes of the current block still to read from r
	skip    bool   // current block is dropped
	hdr     [12]byte
	err     error
}

func newNgFilter(r io.Reader) *ngFilter { return &ngFilter{r: r, order: binary.LittleEndian} }

func (f *ngFilter) Read(p []byte) (int, error) {
	for {
		if len(f.pending) > 0 {
			n := copy(p, f.pending)
			f.pending = f.pending[n:]
			return n, nil
		}
		if f.remain > 0 {
			if f.skip {
				n, err := io.CopyN(io.Discard, f.r, f.remain)
				f.remain -= n
				if err != nil {
					return 0, err
				}
				continue
			}
			lim := int64(len(p))
			if lim > f.remain {
				lim = f.remain
			}
			n, err := f.r.Read(p[:lim])
			f.remain -= int64(n)
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if f.err != nil {
			return 0, f.err
		}
		// Next block header: type, length (and the SHB byte-order magic).
		n, err := io.ReadFull(f.r, f.hdr[:8])
		if err != nil {
			if n == 0 {
				return 0, io.EOF
			}
			f.pending = append([]byte(nil), f.hdr[:n]...)
			f.err = io.ErrUnexpectedEOF
			continue
		}
		typ := binary.LittleEndian.Uint32(f.hdr[:4])
		if typ == 0x0a0d0d0a {
			m, err := io.ReadFull(f.r, f.hdr[8:12])
			if err != nil {
				f.pending = append([]byte(nil), f.hdr[:8+m]...)
				f.err = io.ErrUnexpectedEOF
				continue
			}
			if binary.BigEndian.Uint32(f.hdr[8:12]) == 0x1a2b3c4d {
				f.order = binary.BigEndian
			} else {
				f.order = binary.LittleEndian
			}
			length := int64(f.order.Uint32(f.hdr[4:8]))
			f.pending = append([]byte(nil), f.hdr[:12]...)
			f.skip = false
			f.remain = max(length-12, 0)
			continue
		}
		typ = f.order.Uint32(f.hdr[:4])
		length := int64(f.order.Uint32(f.hdr[4:8]))
		if typ == 4 && length >= 12 && length%4 == 0 {
			f.skip, f.remain = true, length-8
			continue
		}
		f.skip = false
		f.pending = append(f.pending[:0], f.hdr[:8]...)
		f.remain = max(length-8, 0)
	}
}
