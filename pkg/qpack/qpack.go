// Package qpack decodes HTTP/3 header compression (QPACK, RFC 9204) as a
// passive observer: it replays the peer's encoder stream into a dynamic
// table of bounded capacity and decodes field sections against the static
// and dynamic tables. Field sections that reference entries not inserted
// yet are held (bounded) and decoded when the encoder stream catches up.
//
// Huffman-coded strings use the HPACK code (RFC 7541 appendix B), decoded
// by golang.org/x/net/http2/hpack.
package qpack

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2/hpack"
)

// Field is one decoded header field.
type Field struct {
	Name, Value string
}

// Errors. Decoding errors wrap ErrMalformed; ErrBlocked reports a field
// section that waits for encoder stream instructions.
var (
	ErrMalformed = errors.New("qpack: malformed")
	ErrBlocked   = errors.New("qpack: field section blocked on the encoder stream")
	ErrLimit     = errors.New("qpack: limit reached")
)

// Limits bound a Decoder.
type Limits struct {
	MaxTableCapacity  uint64 // the decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY, capped at 1 MiB (default 4096)
	MaxBlockedStreams int    // field sections held while blocked (default 16)
	MaxBlockedBytes   int    // bytes of held field sections (default 256 KiB)
	MaxFieldSection   int    // decoded size of one section: names + values + 32 per field (default 64 KiB)
	MaxFields         int    // fields per section (default 512)
	MaxInstruction    int    // bytes of one encoder instruction (default 64 KiB)
}

// DefaultLimits suit HTTP/3 clients and servers seen in practice.
func DefaultLimits() Limits {
	return Limits{MaxTableCapacity: 4096, MaxBlockedStreams: 16, MaxBlockedBytes: 256 << 10, MaxFieldSection: 64 << 10, MaxFields: 512, MaxInstruction: 64 << 10}
}

const hardMaxCapacity = 1 << 20

// Section is a field section that was blocked and is now decoded (or
// failed).
type Section struct {
	Stream uint64
	Fields []Field
	Err    error
}

// Decoder holds the dynamic table of one direction of an HTTP/3
// connection (the encoder stream of the peer that sends the headers).
type Decoder struct {
	lim      Limits
	maxCap   uint64
	cap      uint64
	size     uint64
	entries  []Field // entries[0] has absolute index dropped
	dropped  uint64  // entries evicted
	pending  []byte  // partial encoder instruction
	blocked  []blockedSection
	blockedN int
}

type blockedSection struct {
	stream   uint64
	required uint64
	block    []byte
}

// NewDecoder returns a Decoder for a table of at most lim.MaxTableCapacity
// bytes (the decoding peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY; 0 means no
// dynamic table).
func NewDecoder(lim Limits) *Decoder {
	def := DefaultLimits()
	if lim.MaxBlockedStreams <= 0 {
		lim.MaxBlockedStreams = def.MaxBlockedStreams
	}
	if lim.MaxBlockedBytes <= 0 {
		lim.MaxBlockedBytes = def.MaxBlockedBytes
	}
	if lim.MaxFieldSection <= 0 {
		lim.MaxFieldSection = def.MaxFieldSection
	}
	if lim.MaxFields <= 0 {
		lim.MaxFields = def.MaxFields
	}
	if lim.MaxInstruction <= 0 {
		lim.MaxInstruction = def.MaxInstruction
	}
	return &Decoder{lim: lim, maxCap: min(lim.MaxTableCapacity, hardMaxCapacity)}
}

// InsertCount is the number of entries ever inserted.
func (d *Decoder) InsertCount() uint64 { return d.dropped + uint64(len(d.entries)) }

// TableSize is the dynamic table's current size in RFC 9204 terms.
func (d *Decoder) TableSize() uint64 { return d.size }

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// errShort means the bytes end inside an instruction.
var errShort = errors.New("short")

// readInt reads an integer with an n-bit prefix (RFC 7541 section 5.1).
func readInt(b []byte, n uint) (v uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, nil, errShort
	}
	max := uint64(1)<<n - 1
	v = uint64(b[0]) & max
	b = b[1:]
	if v < max {
		return v, b, nil
	}
	var shift uint
	for i := 0; ; i++ {
		if len(b) == 0 {
			return 0, nil, errShort
		}
		if i >= 9 {
			return 0, nil, malformed("integer too long")
		}
		c := b[0]
		b = b[1:]
		v += uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			break
		}
	}
	if v >= 1<<62 {
		return 0, nil, malformed("integer too large")
	}
	return v, b, nil
}

// readString reads a string literal whose H bit is at bit n of the first
// byte and whose length has an n-bit prefix.
func (d *Decoder) readString(b []byte, n uint) (string, []byte, error) {
	if len(b) == 0 {
		return "", nil, errShort
	}
	huff := b[0]&(1<<n) != 0
	l, b, err := readInt(b, n)
	if err != nil {
		return "", nil, err
	}
	if l > uint64(d.lim.MaxFieldSection) {
		return "", nil, fmt.Errorf("%w: %d-byte string", ErrLimit, l)
	}
	if uint64(len(b)) < l {
		return "", nil, errShort
	}
	raw := b[:l]
	b = b[l:]
	if !huff {
		return string(raw), b, nil
	}
	s, err := hpack.HuffmanDecodeToString(raw)
	if err != nil {
		return "", nil, malformed("huffman: %v", err)
	}
	if len(s) > d.lim.MaxFieldSection {
		return "", nil, fmt.Errorf("%w: %d-byte string", ErrLimit, len(s))
	}
	return s, b, nil
}

// EncoderStream feeds bytes of the peer's encoder stream. It returns the
// blocked sections that became decodable. An error is an encoder stream
// error: the table can no longer be trusted and later sections will fail.
func (d *Decoder) EncoderStream(b []byte) ([]Section, error) {
	if len(d.pending) > 0 {
		d.pending = append(d.pending, b...)
		b = d.pending
	}
	for len(b) > 0 {
		rest, err := d.instruction(b)
		if err == errShort {
			if len(b) > d.lim.MaxInstruction {
				return nil, fmt.Errorf("%w: %d-byte encoder instruction", ErrLimit, len(b))
			}
			d.pending = append(d.pending[:0:0], b...)
			return d.unblock(), nil
		}
		if err != nil {
			d.pending = nil
			return d.unblock(), err
		}
		b = rest
	}
	d.pending = d.pending[:0]
	return d.unblock(), nil
}

// instruction applies one encoder instruction (RFC 9204 section 4.3).
func (d *Decoder) instruction(b []byte) ([]byte, error) {
	switch c := b[0]; {
	case c&0x80 != 0: // Insert with Name Reference: 1 T index(6) value
		idx, rest, err := readInt(b, 6)
		if err != nil {
			return nil, err
		}
		val, rest, err := d.readString(rest, 7)
		if err != nil {
			return nil, err
		}
		var name string
		if c&0x40 != 0 {
			if idx >= uint64(len(staticTable)) {
				return nil, malformed("static index %d", idx)
			}
			name = staticTable[idx].Name
		} else {
			f, err := d.relative(idx, d.InsertCount())
			if err != nil {
				return nil, err
			}
			name = f.Name
		}
		return rest, d.insert(Field{name, val})
	case c&0x40 != 0: // Insert with Literal Name: 01 H len(5) name value
		name, rest, err := d.readString(b, 5)
		if err != nil {
			return nil, err
		}
		val, rest, err := d.readString(rest, 7)
		if err != nil {
			return nil, err
		}
		return rest, d.insert(Field{name, val})
	case c&0x20 != 0: // Set Dynamic Table Capacity: 001 capacity(5)
		v, rest, err := readInt(b, 5)
		if err != nil {
			return nil, err
		}
		if v > d.maxCap {
			return nil, malformed("capacity %d above the maximum %d", v, d.maxCap)
		}
		d.cap = v
		d.evict(0)
		return rest, nil
	default: // Duplicate: 000 index(5)
		idx, rest, err := readInt(b, 5)
		if err != nil {
			return nil, err
		}
		f, err := d.relative(idx, d.InsertCount())
		if err != nil {
			return nil, err
		}
		return rest, d.insert(f)
	}
}

// relative returns the entry at relative index idx from base (encoder
// stream: base is the insert count).
func (d *Decoder) relative(idx, base uint64) (Field, error) {
	if idx >= base {
		return Field{}, malformed("relative index %d from base %d", idx, base)
	}
	return d.absolute(base - 1 - idx)
}

func (d *Decoder) absolute(abs uint64) (Field, error) {
	if abs < d.dropped {
		return Field{}, malformed("entry %d was evicted", abs)
	}
	if abs-d.dropped >= uint64(len(d.entries)) {
		return Field{}, malformed("entry %d not inserted", abs)
	}
	return d.entries[abs-d.dropped], nil
}

func entrySize(f Field) uint64 { return uint64(len(f.Name)+len(f.Value)) + 32 }

func (d *Decoder) insert(f Field) error {
	n := entrySize(f)
	if n > d.cap {
		return malformed("entry of %d bytes in a table of %d", n, d.cap)
	}
	d.evict(n)
	d.entries = append(d.entries, f)
	d.size += n
	return nil
}

// evict drops the oldest entries until room bytes fit.
func (d *Decoder) evict(room uint64) {
	i := 0
	for i < len(d.entries) && d.size+room > d.cap {
		d.size -= entrySize(d.entries[i])
		i++
	}
	if i > 0 {
		d.dropped += uint64(i)
		d.entries = append(d.entries[:0], d.entries[i:]...)
	}
}

// Decode decodes one field section (the payload of an HTTP/3 HEADERS
// frame) of stream. A section that needs entries not inserted yet is held
// and ErrBlocked returned; it comes back from a later EncoderStream call.
// When the hold is full, the error wraps ErrLimit.
func (d *Decoder) Decode(stream uint64, block []byte) ([]Field, error) {
	fields, required, err := d.decode(block)
	if err != ErrBlocked {
		return fields, err
	}
	if len(d.blocked) >= d.lim.MaxBlockedStreams || d.blockedN+len(block) > d.lim.MaxBlockedBytes {
		return nil, fmt.Errorf("%w: too many blocked field sections (%v)", ErrLimit, ErrBlocked)
	}
	d.blocked = append(d.blocked, blockedSection{stream, required, append([]byte(nil), block...)})
	d.blockedN += len(block)
	return nil, ErrBlocked
}

// Blocked is the number of field sections held.
func (d *Decoder) Blocked() int { return len(d.blocked) }

func (d *Decoder) unblock() []Section {
	var out []Section
	keep := d.blocked[:0]
	for _, b := range d.blocked {
		if b.required > d.InsertCount() {
			keep = append(keep, b)
			continue
		}
		d.blockedN -= len(b.block)
		f, _, err := d.decode(b.block)
		out = append(out, Section{Stream: b.stream, Fields: f, Err: err})
	}
	d.blocked = keep
	return out
}

// decode decodes a section or reports ErrBlocked with the Required Insert
// Count.
func (d *Decoder) decode(b []byte) ([]Field, uint64, error) {
	enc, b, err := readInt(b, 8)
	if err != nil {
		return nil, 0, short(err)
	}
	required, err := d.requiredInsertCount(enc)
	if err != nil {
		return nil, 0, err
	}
	if len(b) == 0 {
		return nil, 0, malformed("no base")
	}
	sign := b[0]&0x80 != 0
	delta, b, err := readInt(b, 7)
	if err != nil {
		return nil, 0, short(err)
	}
	var base uint64
	if sign {
		if delta+1 > required {
			return nil, 0, malformed("negative base")
		}
		base = required - delta - 1
	} else {
		base = required + delta
	}
	if required > d.InsertCount() {
		return nil, required, ErrBlocked
	}
	dyn := func(abs uint64) (Field, error) {
		if abs >= required {
			return Field{}, malformed("reference to entry %d beyond the required insert count %d", abs, required)
		}
		return d.absolute(abs)
	}
	var out []Field
	total := 0
	for len(b) > 0 {
		if len(out) >= d.lim.MaxFields {
			return nil, 0, fmt.Errorf("%w: more than %d fields", ErrLimit, d.lim.MaxFields)
		}
		var f Field
		c := b[0]
		switch {
		case c&0x80 != 0: // Indexed Field Line: 1 T index(6)
			var idx uint64
			if idx, b, err = readInt(b, 6); err != nil {
				return nil, 0, short(err)
			}
			if c&0x40 != 0 {
				if idx >= uint64(len(staticTable)) {
					return nil, 0, malformed("static index %d", idx)
				}
				f = staticTable[idx]
			} else {
				if idx >= base {
					return nil, 0, malformed("relative index %d from base %d", idx, base)
				}
				if f, err = dyn(base - 1 - idx); err != nil {
					return nil, 0, err
				}
			}
		case c&0x40 != 0: // Literal with Name Reference: 01 N T index(4)
			var idx uint64
			if idx, b, err = readInt(b, 4); err != nil {
				return nil, 0, short(err)
			}
			if c&0x10 != 0 {
				if idx >= uint64(len(staticTable)) {
					return nil, 0, malformed("static index %d", idx)
				}
				f.Name = staticTable[idx].Name
			} else {
				if idx >= base {
					return nil, 0, malformed("relative index %d from base %d", idx, base)
				}
				e, err := dyn(base - 1 - idx)
				if err != nil {
					return nil, 0, err
				}
				f.Name = e.Name
			}
			if f.Value, b, err = d.readString(b, 7); err != nil {
				return nil, 0, short(err)
			}
		case c&0x20 != 0: // Literal with Literal Name: 001 N H len(3)
			if f.Name, b, err = d.readString(b, 3); err != nil {
				return nil, 0, short(err)
			}
			if f.Value, b, err = d.readString(b, 7); err != nil {
				return nil, 0, short(err)
			}
		case c&0x10 != 0: // Indexed Field Line with Post-Base Index: 0001 index(4)
			var idx uint64
			if idx, b, err = readInt(b, 4); err != nil {
				return nil, 0, short(err)
			}
			if f, err = dyn(base + idx); err != nil {
				return nil, 0, err
			}
		default: // Literal with Post-Base Name Reference: 0000 N index(3)
			var idx uint64
			if idx, b, err = readInt(b, 3); err != nil {
				return nil, 0, short(err)
			}
			e, err := dyn(base + idx)
			if err != nil {
				return nil, 0, err
			}
			f.Name = e.Name
			if f.Value, b, err = d.readString(b, 7); err != nil {
				return nil, 0, short(err)
			}
		}
		total += int(entrySize(f))
		if total > d.lim.MaxFieldSection {
			return nil, 0, fmt.Errorf("%w: field section over %d bytes", ErrLimit, d.lim.MaxFieldSection)
		}
		out = append(out, f)
	}
	return out, 0, nil
}

// short turns a truncation inside a field section into a malformed error.
func short(err error) error {
	if err == errShort {
		return malformed("truncated field section")
	}
	return err
}

// requiredInsertCount decodes the Required Insert Count (RFC 9204 section
// 4.5.1.1).
func (d *Decoder) requiredInsertCount(enc uint64) (uint64, error) {
	if enc == 0 {
		return 0, nil
	}
	maxEntries := d.maxCap / 32
	full := 2 * maxEntries
	if enc > full {
		return 0, malformed("required insert count %d above %d", enc, full)
	}
	maxValue := d.InsertCount() + maxEntries
	maxWrapped := maxValue / full * full
	ric := maxWrapped + enc - 1
	if ric > maxValue {
		if ric <= full {
			return 0, malformed("required insert count")
		}
		ric -= full
	}
	if ric == 0 {
		return 0, malformed("required insert count 0 encoded as non-zero")
	}
	return ric, nil
}
