package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads classic pcap records. It is ours rather than pcapgo's
// because pcapgo refuses files of version 2.1–2.3 (written by old tools,
// which tshark reads) and allocates whatever a record header claims; here
// a record longer than max is cut to its first max bytes and the rest is
// skipped, so the file goes on and memory stays bounded.
type pcapReader struct {
	r       io.Reader
	br      *bufio.Reader // r, when it is one: records are read in place
	order   binary.ByteOrder
	le      bool // order is little-endian
	nano    bool
	swapped int // 0: caplen, len; 1: len, caplen (before 2.3); 2: 2.3, either
	link    layers.LinkType
	snaplen uint32
	max     int
	hdr     [16]byte
	buf     []byte
	cut     recordCut
}

// recordCut counts records longer than the record cap.
type recordCut struct {
	records uint64 // records cut to the cap
	skipped uint64 // bytes skipped after the cap
	largest uint64 // the longest record length claimed
}

func (c *recordCut) note(claimed, kept uint64) {
	c.records++
	c.skipped += claimed - kept
	c.largest = max(c.largest, claimed)
}

func newPcapReader(r io.Reader, maxRecord int) (*pcapReader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("file header: %w", err)
	}
	p := &pcapReader{r: r, max: maxRecord}
	p.br, _ = r.(*bufio.Reader)
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case 0xd4c3b2a1:
		p.order = binary.BigEndian
	case 0xa1b23c4d:
		p.order, p.nano = binary.LittleEndian, true
	case 0x4d3cb2a1:
		p.order, p.nano = binary.BigEndian, true
	}
	major, minor := p.order.Uint16(h[4:6]), p.order.Uint16(h[6:8])
	if major != 2 {
		return nil, fmt.Errorf("unknown pcap version %d.%d", major, minor)
	}
	// libpcap (sf-pcap.c) and Wireshark (wiretap/libpcap.c): before 2.3
	// the two length fields of a record came the other way round; some
	// 2.3 files have either order, told apart by which one is larger.
	switch {
	case minor < 3:
		p.swapped = 1
	case minor == 3:
		p.swapped = 2
	}
	p.le = p.order == binary.LittleEndian
	p.snaplen = p.order.Uint32(h[16:20])
	// The upper bits of the link-type field hold the FCS length (LINKTYPE
	// FCS bits); the link type is the low 16 bits.
	p.link = layers.LinkType(p.order.Uint32(h[20:24]) & 0xffff)
	return p, nil
}

func (p *pcapReader) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if data, ci, ok := p.inPlace(); ok {
		return data, ci, nil
	}
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		return nil, gopacket.CaptureInfo{}, err // io.EOF between records: the clean end
	}
	return p.record()
}

// inPlace reads a whole record that sits in the bufio.Reader's buffer
// without copying it: the data is the buffer itself, valid until the next
// read, as ZeroCopyReadPacketData's always was. It reads nothing and
// returns false for anything else (the end, a record cut to the cap or
// longer than the buffer), which the copying path then reads.
func (p *pcapReader) inPlace() ([]byte, gopacket.CaptureInfo, bool) {
	var f Frame
	if !p.inPlaceFrame(&f) {
		return nil, gopacket.CaptureInfo{}, false
	}
	return f.Data, f.CI, true
}

// inPlaceFrame is inPlace into f's Data and CI (Reader.Next's fast path:
// the record's fields go to the frame directly, not through copies of a
// CaptureInfo).
func (p *pcapReader) inPlaceFrame(f *Frame) bool {
	if p.br == nil {
		return false
	}
	hdr, err := p.br.Peek(len(p.hdr))
	if err != nil {
		return false
	}
	incl, orig := p.u32(hdr[8:12]), p.u32(hdr[12:16])
	if p.swapped == 1 || p.swapped == 2 && incl > orig {
		incl, orig = orig, incl
	}
	if uint64(incl) > uint64(p.max) {
		return false
	}
	rec, err := p.br.Peek(len(p.hdr) + int(incl))
	if err != nil {
		return false
	}
	f.Data = rec[len(p.hdr):]
	// Field by field: a CaptureInfo literal is built on the stack and
	// copied over, in 16-byte loads of its 8-byte stores (which stall)
	// or, while a collection marks, through the write barrier's bulk copy.
	ci := &f.CI
	ci.Timestamp = p.time(rec)
	ci.CaptureLength, ci.Length, ci.InterfaceIndex = int(incl), int(max(orig, incl)), 0
	if ci.AncillaryData != nil {
		ci.AncillaryData = nil
	}
	p.br.Discard(len(rec))
	return true
}

// u32 is p.order.Uint32 without the interface call.
func (p *pcapReader) u32(b []byte) uint32 {
	if p.le {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

// time decodes the time of a record header.
func (p *pcapReader) time(hdr []byte) time.Time {
	sec, frac := p.u32(hdr[0:4]), p.u32(hdr[4:8])
	ns := int64(frac)
	if !p.nano {
		ns *= 1000
	}
	return time.Unix(int64(sec), ns).UTC()
}

// header decodes p.hdr's time.
func (p *pcapReader) header() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: p.time(p.hdr[:])}
}

// record reads the record whose header is in p.hdr into p.buf.
func (p *pcapReader) record() ([]byte, gopacket.CaptureInfo, error) {
	ci := p.header()
	incl, orig := p.order.Uint32(p.hdr[8:12]), p.order.Uint32(p.hdr[12:16])
	if p.swapped == 1 || p.swapped == 2 && incl > orig {
		incl, orig = orig, incl
	}
	keep := uint64(incl)
	if keep > uint64(p.max) {
		keep = uint64(p.max)
	}
	if cap(p.buf) < int(keep) {
		// Grow to what the bytes need, never beyond the cap.
		p.buf = make([]byte, keep, max(keep, min(uint64(p.max), 64<<10)))
	}
	data := p.buf[:keep]
	if _, err := io.ReadFull(p.r, data); err != nil {
		return nil, ci, short(err)
	}
	if rest := int64(incl) - int64(keep); rest > 0 {
		if _, err := io.CopyN(io.Discard, p.r, rest); err != nil {
			return nil, ci, short(err)
		}
		p.cut.note(uint64(incl), keep)
	}
	ci.CaptureLength = int(keep)
	ci.Length = int(max(orig, incl))
	return data, ci, nil
}

// snoopReader reads Solaris snoop records (RFC 1761) with the same record
// cap; pcapgo reads the file header and maps the link type, but refuses
// records over 4096 bytes (jumbo frames) and allocates what a record
// claims.
type snoopReader struct {
	r   io.Reader
	max int
	hdr [24]byte
	buf []byte
	cut recordCut
}

func (s *snoopReader) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
		return nil, ci, err // io.EOF between records: the clean end
	}
	be := binary.BigEndian
	orig, incl, reclen := be.Uint32(s.hdr[0:4]), be.Uint32(s.hdr[4:8]), be.Uint32(s.hdr[8:12])
	if uint64(reclen) < 24+uint64(incl) {
		return nil, ci, fmt.Errorf("snoop record length %d is shorter than its header and %d captured bytes", reclen, incl)
	}
	ci.Timestamp = time.Unix(int64(be.Uint32(s.hdr[16:20])), int64(be.Uint32(s.hdr[20:24]))*1000).UTC()
	keep := min(uint64(incl), uint64(s.max))
	if cap(s.buf) < int(keep) {
		s.buf = make([]byte, keep, max(keep, min(uint64(s.max), 64<<10)))
	}
	data := s.buf[:keep]
	if _, err := io.ReadFull(s.r, data); err != nil {
		return nil, ci, short(err)
	}
	if rest := int64(reclen) - 24 - int64(keep); rest > 0 {
		if _, err := io.CopyN(io.Discard, s.r, rest); err != nil {
			return nil, ci, short(err)
		}
	}
	if uint64(incl) > keep {
		s.cut.note(uint64(incl), keep)
	}
	ci.CaptureLength = int(keep)
	ci.Length = int(max(orig, incl))
	return data, ci, nil
}
