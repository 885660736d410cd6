package geodata

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// magic starts every uncompressed table.
const magic = "PHGEO\x02"

// Marshal writes t in the uncompressed column format.
func Marshal(t *Table) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var w writer
	w.b = append(w.b, magic...)
	m := t.Meta
	for _, s := range []string{m.Version, m.Date, m.CountrySource, m.CountryLicense, m.ASNSource, m.ASNLicense,
		m.CountryDate, m.RegisteredSource, m.RegisteredLicense} {
		w.str(s)
	}
	w.uv(uint64(len(t.Countries)))
	for _, c := range t.Countries[1:] {
		w.str(c.Code)
		w.str(c.Name)
	}
	w.uv(uint64(len(t.ASNum)))
	for i := 1; i < len(t.ASNum); i++ {
		w.uv(uint64(t.ASNum[i]))
	}
	for i := 1; i < len(t.ASNum); i++ {
		w.uv(uint64(len(t.Org(uint32(i)))))
	}
	for i := 1; i < len(t.ASNum); i++ {
		w.b = append(w.b, t.Org(uint32(i))...)
	}
	w.uv(uint64(len(t.V4Start)))
	prev := uint32(0)
	for i, s := range t.V4Start {
		if i == 0 {
			w.uv(uint64(s))
		} else {
			w.uv(uint64(s - prev))
		}
		prev = s
	}
	w.vals(t.V4Val)
	w.b = append(w.b, t.V4Reg...)
	w.uv(uint64(len(t.V6Hi)))
	var ph, pl uint64
	for i := range t.V6Hi {
		h, l := t.V6Hi[i], t.V6Lo.At(i)
		switch {
		case i == 0:
			w.uv(h)
			w.uv(l)
		case h == ph:
			w.uv(0)
			w.uv(l - pl)
		default:
			w.uv(h - ph)
			w.uv(l)
		}
		ph, pl = h, l
	}
	w.vals(t.V6Val)
	w.b = append(w.b, t.V6Reg...)
	return w.b, nil
}

// Encode marshals t and compresses it with zstd.
func Encode(t *Table) ([]byte, error) {
	raw, err := Marshal(t)
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("geodata: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil), nil
}

// Decode decompresses and unmarshals data written by Encode.
func Decode(data []byte) (*Table, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxDecoded))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrFormat, err)
	}
	if len(raw) > MaxDecoded {
		return nil, fmt.Errorf("%w: decompressed size over %d bytes", ErrFormat, MaxDecoded)
	}
	return Unmarshal(raw)
}

// Unmarshal parses the uncompressed format. It never panics; counts are
// checked against the remaining input before anything is allocated.
func Unmarshal(b []byte) (*Table, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	r := reader{b: b, off: len(magic)}
	t := &Table{}
	m := &t.Meta
	for _, p := range []*string{&m.Version, &m.Date, &m.CountrySource, &m.CountryLicense, &m.ASNSource, &m.ASNLicense,
		&m.CountryDate, &m.RegisteredSource, &m.RegisteredLicense} {
		*p = r.str()
	}
	nc := r.count(MaxCountries, 2)
	if r.err == nil && nc == 0 {
		r.fail("no country rows")
	}
	if r.err == nil {
		t.Countries = make([]Country, nc)
		for i := 1; i < nc && r.err == nil; i++ {
			t.Countries[i] = Country{Code: r.str(), Name: r.str()}
		}
	}
	na := r.count(MaxASes, 2)
	if r.err == nil && na == 0 {
		r.fail("no AS rows")
	}
	if r.err == nil {
		t.ASNum = make([]uint32, na)
		for i := 1; i < na && r.err == nil; i++ {
			t.ASNum[i] = r.u32()
		}
		// Organisation names: a column of lengths, then one blob that
		// becomes a single string sliced by offsets.
		t.ASOrgOff = make([]uint32, na+1)
		total := 0
		for i := 1; i < na && r.err == nil; i++ {
			n := r.uv()
			if n > MaxString {
				r.fail("AS name too long")
			}
			total += int(n)
			t.ASOrgOff[i+1] = uint32(total)
		}
		if r.err == nil && total > len(r.b)-r.off {
			r.fail("AS names truncated")
		}
		if r.err == nil {
			t.ASOrgs = string(r.b[r.off : r.off+total])
			r.off += total
		}
	}
	n4 := r.count(MaxRows, 6)
	if r.err == nil {
		t.V4Start = make([]uint32, n4)
		var prev uint64
		for i := 0; i < n4 && r.err == nil; i++ {
			d := r.uv()
			if i > 0 && d == 0 {
				r.fail("IPv4 rows out of order")
			}
			prev += d
			if prev > 0xffffffff {
				r.fail("IPv4 start overflows")
			}
			t.V4Start[i] = uint32(prev)
		}
		t.V4Val = r.vals(n4, len(t.Countries), len(t.ASNum))
		t.V4Reg = r.regs(n4, len(t.Countries))
	}
	n6 := r.count(MaxRows, 7)
	if r.err == nil {
		t.V6Hi = make([]uint64, n6)
		lo := newWordsBuilder(n6)
		var ph, pl uint64
		for i := 0; i < n6 && r.err == nil; i++ {
			dh, l := r.uv(), r.uv()
			switch {
			case i == 0:
				ph, pl = dh, l
			case dh == 0:
				if l == 0 || pl+l < pl {
					r.fail("IPv6 rows out of order")
				}
				pl += l
			default:
				if ph+dh < ph {
					r.fail("IPv6 start overflows")
				}
				ph, pl = ph+dh, l
			}
			t.V6Hi[i] = ph
			lo.put(i, pl)
		}
		t.V6Lo = lo.done()
		t.V6Val = r.vals(n6, len(t.Countries), len(t.ASNum))
		t.V6Reg = r.regs(n6, len(t.Countries))
	}
	if r.err == nil && r.off != len(b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	// Row order and value indexes were checked while reading.
	if err := t.validateTables(); err != nil {
		return nil, err
	}
	return t, nil
}

type writer struct{ b []byte }

func (w *writer) uv(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) str(s string) {
	w.uv(uint64(len(s)))
	w.b = append(w.b, s...)
}

// vals writes the country column (one byte a row) then the AS column
// (three bytes a row, little endian).
func (w *writer) vals(v []uint32) {
	for _, x := range v {
		c, _ := Unpack(x)
		w.b = append(w.b, byte(c))
	}
	for _, x := range v {
		_, a := Unpack(x)
		w.b = append(w.b, byte(a), byte(a>>8), byte(a>>16))
	}
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", ErrFormat, msg, r.off)
	}
}

// uv reads a uvarint; the one-byte case is inlined.
func (r *reader) uv() uint64 {
	if r.off < len(r.b) && r.b[r.off] < 0x80 {
		v := r.b[r.off]
		r.off++
		return uint64(v)
	}
	return r.uvSlow()
}

func (r *reader) uvSlow() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) u32() uint32 {
	v := r.uv()
	if v > 0xffffffff {
		r.fail("value over 32 bits")
		return 0
	}
	return uint32(v)
}

func (r *reader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n := r.uv()
	if r.err != nil {
		return nil
	}
	if n > MaxString || n > uint64(len(r.b)-r.off) {
		r.fail("bad string length")
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) str() string { return string(r.bytes()) }

// count reads a row count, bounded by max and by the bytes left (each row
// takes at least minBytes bytes), so a short input cannot make us allocate.
func (r *reader) count(max int, minBytes int) int {
	v := r.uv()
	if r.err != nil {
		return 0
	}
	if v > uint64(max) || v*uint64(minBytes) > uint64(len(r.b)-r.off)+uint64(minBytes) {
		r.fail("row count too large")
		return 0
	}
	return int(v)
}

// vals reads the value columns of n rows, checking each index against the
// number of countries nc and ASes na.
func (r *reader) vals(n, nc, na int) []uint32 {
	if r.err != nil {
		return nil
	}
	if 4*n > len(r.b)-r.off {
		r.fail("value columns truncated")
		return nil
	}
	v := make([]uint32, n)
	cs := r.b[r.off : r.off+n]
	as := r.b[r.off+n : r.off+4*n]
	for i, c := range cs {
		a := uint32(as[3*i]) | uint32(as[3*i+1])<<8 | uint32(as[3*i+2])<<16
		if int(c) >= nc || int(a) >= na {
			r.fail("value index out of range")
			return nil
		}
		v[i] = uint32(c)<<24 | a
	}
	r.off += 4 * n
	return v
}

// regs reads the registered-country column of n rows (one byte a row),
// checking each index against the number of countries nc.
func (r *reader) regs(n, nc int) []uint8 {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail("registered country column truncated")
		return nil
	}
	v := make([]uint8, n)
	copy(v, r.b[r.off:r.off+n])
	for _, c := range v {
		if int(c) >= nc {
			r.fail("registered country index out of range")
			return nil
		}
	}
	r.off += n
	return v
}
