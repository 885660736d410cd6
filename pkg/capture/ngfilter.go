package capture

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ngFilter passes a pcapng stream through block by block to pcapgo's
// reader, and does what that reader does not:
//   - it drops Name Resolution Blocks: phonehome does not use them, and
//     pcapgo fails on some valid ones (big-endian NRBs with options), which
//     would end the file early;
//   - it rejects a block whose length is not a multiple of 4 or is shorter
//     than a block header, and a packet block whose captured length does
//     not fit in it, as damage at the block's offset (pcapgo would read a
//     garbage packet from the bytes that follow, or underflow a length);
//   - it cuts a packet (Enhanced, Simple or obsolete Packet Block) longer
//     than max to its first max bytes, skipping the rest of the block, so
//     one block cannot make the reader allocate what it claims;
//   - it hands the body of each Decryption Secrets Block to secrets (when
//     set) and drops the block: pcapgo would keep the secrets in an
//     unexported field nobody can read.
//
// Other blocks are passed on unchanged.
type ngFilter struct {
	r       io.Reader
	order   binary.ByteOrder
	max     int
	off     int64  // bytes read from r
	pending []byte // bytes of the current block still to pass on
	remain  int64  // body bytes of the current block still to pass on from r
	skip    int64  // bytes of the current block to discard from r after remain
	tail    []byte // bytes to pass on after skip (a rewritten block's end)
	snap0   uint32 // snap length of the section's first interface (SPB)
	ifaces  int    // interfaces seen in this section
	hdr     [32]byte
	err     error
	cut     recordCut
	secrets func(body []byte, order binary.ByteOrder)
}

func newNgFilter(r io.Reader, maxRecord int, secrets func([]byte, binary.ByteOrder)) *ngFilter {
	return &ngFilter{r: r, order: binary.LittleEndian, max: maxRecord, secrets: secrets}
}

// maxSecretsBlock bounds the Decryption Secrets Block read whole: a key
// log of a day of browsing is a few MiB.
const maxSecretsBlock = 64 << 20

// BlockError is damage to one pcapng block, at the block's offset.
type BlockError struct {
	Offset int64
	Msg    string
}

func (e *BlockError) Error() string {
	return fmt.Sprintf("pcapng block at offset %d: %s", e.Offset, e.Msg)
}

func (f *ngFilter) read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	f.off += int64(n)
	return n, err
}

func (f *ngFilter) Read(p []byte) (int, error) {
	for {
		if len(f.pending) > 0 {
			n := copy(p, f.pending)
			f.pending = f.pending[n:]
			return n, nil
		}
		if f.remain > 0 {
			lim := min(int64(len(p)), f.remain)
			n, err := f.r.Read(p[:lim])
			f.off += int64(n)
			f.remain -= int64(n)
			if n > 0 {
				return n, nil
			}
			return 0, short(err)
		}
		if f.skip > 0 {
			n, err := io.CopyN(io.Discard, f.r, f.skip)
			f.off += n
			f.skip -= n
			if err != nil {
				return 0, short(err)
			}
			continue
		}
		if len(f.tail) > 0 {
			f.pending, f.tail = f.tail, nil
			continue
		}
		if f.err != nil {
			return 0, f.err
		}
		f.err = f.next()
	}
}

// short is err for a block cut short: io.EOF inside a block is
// io.ErrUnexpectedEOF.
func short(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// trailer is pad zero bytes and the trailing block length.
func (f *ngFilter) trailer(pad, length int64) []byte {
	b := make([]byte, pad+4)
	f.order.PutUint32(b[pad:], uint32(length))
	return b
}

// next reads the header of the next block and sets up how it is passed on.
// An error is returned after the bytes already queued.
func (f *ngFilter) next() error {
	start := f.off
	n, err := f.read(f.hdr[:8])
	if err != nil {
		// A clean end (io.EOF), a block header cut short, or the
		// decompressor's error, after the bytes that did arrive.
		f.pending = append([]byte(nil), f.hdr[:n]...)
		return err
	}
	damaged := func(format string, a ...any) error {
		return &BlockError{Offset: start, Msg: fmt.Sprintf(format, a...)}
	}
	if binary.LittleEndian.Uint32(f.hdr[:4]) == 0x0a0d0d0a {
		m, err := f.read(f.hdr[8:12])
		if err != nil {
			f.pending = append([]byte(nil), f.hdr[:8+m]...)
			return short(err)
		}
		switch {
		case binary.BigEndian.Uint32(f.hdr[8:12]) == 0x1a2b3c4d:
			f.order = binary.BigEndian
		case binary.LittleEndian.Uint32(f.hdr[8:12]) == 0x1a2b3c4d:
			f.order = binary.LittleEndian
		default:
			return damaged("section header with an unknown byte-order magic %x", f.hdr[8:12])
		}
		length := int64(f.order.Uint32(f.hdr[4:8]))
		if length < 28 || length%4 != 0 {
			return damaged("section header block length %d (want a multiple of 4, at least 28)", length)
		}
		f.pending = append(f.pending[:0], f.hdr[:12]...)
		f.remain = length - 12
		f.snap0, f.ifaces = 0, 0
		return nil
	}
	typ := f.order.Uint32(f.hdr[:4])
	length := int64(f.order.Uint32(f.hdr[4:8]))
	if length < 12 || length%4 != 0 {
		return damaged("block type 0x%x with length %d (want a multiple of 4, at least 12)", typ, length)
	}
	switch typ {
	case 4: // Name Resolution Block: dropped
		f.skip = length - 8
		return nil
	case 10: // Decryption Secrets Block: handed over, dropped
		if f.secrets == nil {
			f.skip = length - 8
			return nil
		}
		if length > maxSecretsBlock {
			return damaged("decryption secrets block of %d bytes (at most %d read)", length, maxSecretsBlock)
		}
		// Read what is there rather than allocating what the header claims.
		body, err := io.ReadAll(io.LimitReader(f.r, length-8))
		f.off += int64(len(body))
		if err != nil {
			return err
		}
		if int64(len(body)) < length-8 {
			return damaged("decryption secrets block cut short: %d of %d bytes", 8+len(body), length)
		}
		f.secrets(body[:len(body)-4], f.order)
		return nil
	case 1: // Interface Description Block: note the first one's snap length
		if length >= 20 && f.ifaces == 0 {
			if _, err := f.read(f.hdr[8:16]); err != nil {
				return short(err)
			}
			f.snap0 = f.order.Uint32(f.hdr[12:16])
			f.pending = append(f.pending[:0], f.hdr[:16]...)
			f.remain = length - 16
			f.ifaces++
			return nil
		}
		f.ifaces++
	case 6, 2: // Enhanced Packet Block, obsolete Packet Block
		if length < 32 {
			return damaged("packet block length %d is shorter than its fixed fields (32)", length)
		}
		if _, err := f.read(f.hdr[8:28]); err != nil {
			return short(err)
		}
		caplen := int64(f.order.Uint32(f.hdr[20:24]))
		if room := length - 32; caplen > room {
			return damaged("captured length %d does not fit in a packet block of %d bytes", caplen, length)
		}
		if caplen <= int64(f.max) {
			f.pending = append(f.pending[:0], f.hdr[:28]...)
			f.remain = length - 28
			return nil
		}
		// Keep the first max bytes; options go with the rest.
		keep := int64(f.max)
		pad := (4 - keep%4) % 4
		newLen := 32 + keep + pad
		f.order.PutUint32(f.hdr[4:8], uint32(newLen))
		f.order.PutUint32(f.hdr[20:24], uint32(keep))
		f.pending = append(f.pending[:0], f.hdr[:28]...)
		f.remain = keep
		f.skip = length - 28 - keep
		f.tail = f.trailer(pad, newLen)
		f.cut.note(uint64(caplen), uint64(keep))
		return nil
	case 3: // Simple Packet Block: captured length is min(original, snap)
		if _, err := f.read(f.hdr[8:12]); err != nil {
			return short(err)
		}
		orig := int64(f.order.Uint32(f.hdr[8:12]))
		caplen := orig
		if f.snap0 != 0 {
			caplen = min(caplen, int64(f.snap0))
		}
		if room := length - 16; caplen > room {
			return damaged("simple packet block of %d bytes cannot hold %d captured bytes", length, caplen)
		}
		if caplen <= int64(f.max) {
			f.pending = append(f.pending[:0], f.hdr[:12]...)
			f.remain = length - 12
			return nil
		}
		// pcapgo takes the captured length from the original one, so
		// the block says max: the original length is lost.
		keep := int64(f.max)
		pad := (4 - keep%4) % 4
		newLen := 16 + keep + pad
		f.order.PutUint32(f.hdr[4:8], uint32(newLen))
		f.order.PutUint32(f.hdr[8:12], uint32(keep))
		f.pending = append(f.pending[:0], f.hdr[:12]...)
		f.remain = keep
		f.skip = length - 12 - keep
		f.tail = f.trailer(pad, newLen)
		f.cut.note(uint64(caplen), uint64(keep))
		return nil
	}
	f.pending = append(f.pending[:0], f.hdr[:8]...)
	f.remain = length - 8
	return nil
}
