// Package capture opens capture files and yields numbered frames. It reads
// classic pcap (µs or ns, either byte order), pcapng (several sections and
// interfaces, mixed link types) and Solaris snoop through gopacket's pure-Go
// pcapgo readers, after undoing gzip or zstd compression detected by content.
// Damage (a truncated last record, a bad block) ends the file with a
// *DamageError that says where; every frame before it has been delivered.
// A record longer than Options.MaxRecord is cut to that many bytes and the
// file goes on (Reader.Cut counts them), so no record can make the reader
// allocate what its header claims.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned by Open and NewReader when the input is not a
// capture file in a supported format.
var ErrNotCapture = errors.New("not a pcap, pcapng or snoop capture")

// Frame is one captured packet. Data is valid until the next call to Next.
type Frame struct {
	N    uint64 // 1-based frame number within its file, as Wireshark numbers it
	CI   gopacket.CaptureInfo
	Link layers.LinkType
	Data []byte
}

// DamageError reports input that stopped being readable part-way.
type DamageError struct {
	File   string
	Offset int64  // byte offset in the (decompressed) capture where reading failed
	Frame  uint64 // frames successfully read before the damage
	Err    error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: damaged after frame %d at byte offset %d: %v", e.File, e.Frame, e.Offset, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }

// DefaultMaxRecord is the longest record kept, in bytes: libpcap's
// MAXIMUM_SNAPLEN and Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD (256 KiB).
const DefaultMaxRecord = 256 << 10

// DefaultMaxZstdWindow is the largest zstd window accepted: 1 GiB, what
// `zstd --long=30` writes (zstd's own default limit is 128 MiB, --long=27).
// The decoder reserves the window a frame declares when it starts decoding;
// the pages are touched (and so resident) only as far as the decoded data
// reaches, but Go counts the whole reservation in its heap.
const DefaultMaxZstdWindow = 1 << 30

// Options tune a Reader; zero fields take the defaults.
type Options struct {
	MaxRecord     int    // longest record kept (DefaultMaxRecord); longer ones are cut
	MaxZstdWindow uint64 // largest zstd window decoded (DefaultMaxZstdWindow)
	// DecryptionSecrets, when set, is given the body of each pcapng
	// Decryption Secrets Block (after the block type and length, before
	// the trailing length) with the section's byte order, as the reader
	// meets it: before the packets that follow it (keylog.Log.AddDSB reads it).
	DecryptionSecrets func(body []byte, order binary.ByteOrder)
}

// Cut counts the records longer than the record cap.
type Cut struct {
	Records uint64 // records cut to the cap
	Skipped uint64 // bytes skipped after the cap
	Largest uint64 // the longest record length a header claimed
}

type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader reads frames from one capture file.
type Reader struct {
	name       string
	format     string
	src        packetSource
	pcap       *pcapReader // src, for classic pcap (Next's fast path)
	ng         *pcapgo.NgReader
	filter     *ngFilter
	cut        *recordCut
	maxRecord  int
	link       layers.LinkType
	counter    *countingReader
	buf        *bufio.Reader
	ngbuf      *bufio.Reader
	closer     io.Closer
	decompress io.Closer
	frames     uint64
	linkTypes  []layers.LinkType
	resolution gopacket.TimestampResolution
	done       bool
	last       stamp  // the last frame's timestamp that was not the zero time
	Backwards  uint64 // frames whose timestamp went backwards
	// Timeless counts frames whose timestamp lies after the year 9999
	// (a corrupt pcapng timestamp or resolution); they are given the zero
	// time, like frames without one, since no report format can write it.
	Timeless uint64
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a capture file by path with the default options; "-" reads
// standard input.
func Open(path string) (*Reader, error) { return OpenWith(path, Options{}) }

// NotCapture says why the file at path is not read as a capture: "" for a
// capture, "not a capture (...)" when its content is no capture format,
// else the error opening it. Directory walkers use it to skip files
// (engine.ExpandInputs, batch.Find).
func NotCapture(path string) string {
	r, err := Open(path)
	if err != nil {
		if errors.Is(err, ErrNotCapture) {
			return "not a capture (" + strings.TrimPrefix(err.Error(), path+": ") + ")"
		}
		return err.Error()
	}
	r.Close()
	return ""
}

// OpenWith opens a capture file by path; "-" reads standard input.
func OpenWith(path string, opt Options) (*Reader, error) {
	if path == "-" {
		r, err := NewReaderWith(os.Stdin, "<stdin>", opt)
		return r, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReaderWith(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

const bufSize = 256 << 10

// NewReader sniffs the format of r and prepares to read frames from it,
// with the default options. name is used in errors.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return NewReaderWith(r, name, Options{})
}

// NewReaderWith is NewReader with options.
func NewReaderWith(r io.Reader, name string, opt Options) (*Reader, error) {
	if opt.MaxRecord <= 0 {
		opt.MaxRecord = DefaultMaxRecord
	}
	if opt.MaxZstdWindow == 0 {
		opt.MaxZstdWindow = DefaultMaxZstdWindow
	}
	rd := &Reader{name: name, maxRecord: opt.MaxRecord}
	rd.counter = &countingReader{r: r}
	rd.buf = bufio.NewReaderSize(rd.counter, bufSize)
	magic, _ := rd.buf.Peek(4)
	var compression string
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(rd.buf)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		compression, rd.decompress = "+gzip", zr
		rd.counter = &countingReader{r: &decompressed{r: zr, codec: "gzip"}}
	case len(magic) >= 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := newZstdStream(rd.buf, opt.MaxZstdWindow)
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", name, err)
		}
		compression, rd.decompress = "+zstd", zr
		rd.counter = &countingReader{r: &decompressed{r: zr, codec: "zstd", window: opt.MaxZstdWindow}}
	}
	if compression != "" {
		// Count decompressed bytes so offsets point into the capture itself.
		rd.buf = bufio.NewReaderSize(rd.counter, bufSize)
	}
	magic, err := rd.buf.Peek(4)
	if err != nil || len(magic) < 4 {
		if compression != "" && err != nil && err != io.EOF {
			// The decompressor failed before a whole capture header came
			// out: say why rather than "empty file".
			return nil, fmt.Errorf("%s: %v before a capture header came out: %w", name, err, ErrNotCapture)
		}
		if len(magic) == 0 {
			return nil, fmt.Errorf("%s: empty file: %w", name, ErrNotCapture)
		}
		return nil, fmt.Errorf("%s: %d bytes, too short for a capture header: %w", name, len(magic), ErrNotCapture)
	}
	le := uint32(magic[0]) | uint32(magic[1])<<8 | uint32(magic[2])<<16 | uint32(magic[3])<<24
	switch le {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr, err := newPcapReader(rd.buf, opt.MaxRecord)
		if err != nil {
			return nil, fmt.Errorf("%s: pcap header: %v: %w", name, err, ErrNotCapture)
		}
		rd.src, rd.pcap, rd.link, rd.format, rd.cut = pr, pr, pr.link, "pcap", &pr.cut
		rd.resolution = gopacket.TimestampResolutionMicrosecond
		if pr.nano {
			rd.resolution = gopacket.TimestampResolutionNanosecond
		}
		rd.linkTypes = []layers.LinkType{pr.link}
	case 0x0a0d0d0a:
		// pcapgo reads through the block filter; offsets stay those of
		// the unfiltered stream (rd.buf) minus what the filter holds.
		rd.filter = newNgFilter(rd.buf, opt.MaxRecord, opt.DecryptionSecrets)
		rd.cut = &rd.filter.cut
		rd.ngbuf = bufio.NewReaderSize(rd.filter, bufSize)
		ng, err := pcapgo.NewNgReader(rd.ngbuf, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: pcapng section header: %v: %w", name, err, ErrNotCapture)
		}
		rd.src, rd.ng, rd.format = ng, ng, "pcapng"
	default:
		if bytes.HasPrefix(magic, []byte("snoo")) {
			// pcapgo reads the 16-byte file header and maps the link
			// type; the records are read by snoopReader.
			sr, err := pcapgo.NewSnoopReader(io.LimitReader(rd.buf, 16))
			if err != nil {
				return nil, fmt.Errorf("%s: snoop header: %v: %w", name, err, ErrNotCapture)
			}
			lt, err := sr.LinkType()
			if err != nil {
				return nil, fmt.Errorf("%s: snoop: %v: %w", name, err, ErrNotCapture)
			}
			s := &snoopReader{r: rd.buf, max: opt.MaxRecord}
			rd.src, rd.link, rd.format, rd.cut = s, *lt, "snoop", &s.cut
			rd.linkTypes = []layers.LinkType{*lt}
			break
		}
		return nil, fmt.Errorf("%s: unknown file magic %02x%02x%02x%02x: %w", name, magic[0], magic[1], magic[2], magic[3], ErrNotCapture)
	}
	rd.format += compression
	return rd, nil
}

// Name is the name given to NewReader (the path for Open).
func (r *Reader) Name() string { return r.name }

// Format is "pcap", "pcapng" or "snoop", with "+gzip" or "+zstd" appended
// when the file was compressed.
func (r *Reader) Format() string { return r.format }

// LinkTypes lists the link types seen so far, in order of first appearance.
func (r *Reader) LinkTypes() []layers.LinkType { return r.linkTypes }

// Offset is the number of capture bytes consumed so far.
// For pcapng it is approximate (within the block being read).
func (r *Reader) Offset() int64 {
	off := r.counter.n - int64(r.buf.Buffered())
	if r.ngbuf != nil {
		off -= int64(r.ngbuf.Buffered())
	}
	return off
}

// Frames is the number of frames delivered so far.
func (r *Reader) Frames() uint64 { return r.frames }

// MaxRecord is the record cap in force.
func (r *Reader) MaxRecord() int { return r.maxRecord }

// Cut counts the records cut to the record cap so far.
func (r *Reader) Cut() Cut {
	if r.cut == nil {
		return Cut{}
	}
	return Cut{Records: r.cut.records, Skipped: r.cut.skipped, Largest: r.cut.largest}
}

// stamp is a timestamp as Unix seconds and nanoseconds: stored without the
// write barrier that a time.Time's location pointer takes (during a
// collection's marking, once a frame).
type stamp struct {
	sec  int64
	nsec int32
	set  bool // false: no timestamp yet
}

// The timestamps RFC 3339 (and so JSON) can write: years 0 to 9999.
var (
	minUnix = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// Next reads the next frame into f. It returns io.EOF at the clean end of
// the input and a *DamageError when the input is damaged; in both cases no
// further frames follow.
func (r *Reader) Next(f *Frame) error {
	if !r.done && r.pcap != nil && r.pcap.inPlaceFrame(f) {
		// A classic pcap record read in place: its link type is the
		// file's, noted when it was opened, and its lengths are those
		// of its data.
		r.frames++
		r.stamp(&f.CI)
		f.N, f.Link = r.frames, r.link
		return nil
	}
	return r.next(f)
}

// stamp counts a frame's timestamp (Backwards, Timeless) and gives a
// timestamp past what can be written the zero time.
func (r *Reader) stamp(ci *gopacket.CaptureInfo) {
	if s := ci.Timestamp.Unix(); s > maxUnix || s < minUnix {
		ci.Timestamp = time.Time{}
		r.Timeless++
	}
	if !ci.Timestamp.IsZero() {
		t := stamp{ci.Timestamp.Unix(), int32(ci.Timestamp.Nanosecond()), true}
		if r.last.set && (t.sec < r.last.sec || t.sec == r.last.sec && t.nsec < r.last.nsec) {
			r.Backwards++
		}
		r.last = t
	}
}

// next is Next for every other frame, through the packet source.
func (r *Reader) next(f *Frame) (err error) {
	if r.done {
		return io.EOF
	}
	defer func() {
		if p := recover(); p != nil {
			r.done = true
			err = &DamageError{File: r.name, Offset: r.Offset(), Frame: r.frames, Err: fmt.Errorf("reader panic: %v", p)}
		}
	}()
	start := r.Offset()
	data, ci, err := r.src.ZeroCopyReadPacketData()
	if err != nil {
		r.done = true
		if err == io.EOF && (r.ng != nil || r.Offset() == start) {
			// pcapgo's pcapng reader returns io.EOF only at a block
			// boundary; the pcap reader also when a record header is
			// followed by nothing, which the offset shows.
			return io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		var be *BlockError
		if errors.As(err, &be) {
			start = be.Offset
		}
		return &DamageError{File: r.name, Offset: start, Frame: r.frames, Err: describe(err)}
	}
	r.frames++
	link := r.link
	if r.ng != nil && len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = lt
		}
	}
	r.noteLink(link)
	r.stamp(&ci)
	if ci.CaptureLength > len(data) {
		ci.CaptureLength = len(data)
	}
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	f.N = r.frames
	f.CI = ci
	f.Link = link
	f.Data = data
	return nil
}

func describe(err error) error {
	var de *decompressError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated record (file ends inside it)")
	}
	return err
}

func (r *Reader) noteLink(lt layers.LinkType) {
	for _, l := range r.linkTypes {
		if l == lt {
			return
		}
	}
	r.linkTypes = append(r.linkTypes, lt)
}

// Close releases the file and any decompressor.
func (r *Reader) Close() error {
	if r.decompress != nil {
		r.decompress.Close()
	}
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}
