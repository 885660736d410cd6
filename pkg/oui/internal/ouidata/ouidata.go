// Package ouidata is the compact format of phonehome's embedded IEEE MAC
// address block registry (MA-L, MA-M, MA-S): sorted prefixes per block size
// with an index into a deduplicated list of organisation names, varint
// columns compressed with zstd. Decoding checks every count and index, so
// damaged input is an error, never a panic.
package ouidata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ErrFormat is wrapped by every decoding error.
var ErrFormat = errors.New("ouidata: invalid data")

// Caps bounding what a decoder allocates.
const (
	MaxNames   = 1 << 20
	MaxEntries = 1 << 20 // per block size
	MaxString  = 1024
	MaxDecoded = 16 << 20
)

const magic = "PHOUI\x01"

// Block sizes: prefix lengths in bits.
const (
	BitsMAL = 24 // MA-L (OUI)
	BitsMAM = 28 // MA-M
	BitsMAS = 36 // MA-S (and the older IAB)
)

// Meta describes the data's origin.
type Meta struct {
	Source  string // e.g. "npm oui-data 2.1.9"
	Version string // data date, YYYY-MM-DD
	License string
}

// Block is one registry: sorted, unique prefixes (right-aligned: a 28-bit
// prefix is the top 28 bits of the MAC) and their name indexes.
type Block struct {
	Prefix []uint64
	Name   []uint32
}

// Table is the whole registry. Names are deduplicated organisation names;
// Names[0] is "".
type Table struct {
	Meta   Meta
	Names  []string
	Blocks [3]Block // MA-L, MA-M, MA-S
}

// Bits returns the prefix length of block i.
func Bits(i int) int { return [3]int{BitsMAL, BitsMAM, BitsMAS}[i] }

// Validate checks the invariants lookups rely on.
func (t *Table) Validate() error {
	if len(t.Names) == 0 || t.Names[0] != "" || len(t.Names) > MaxNames {
		return fmt.Errorf("%w: bad name table", ErrFormat)
	}
	for bi, b := range t.Blocks {
		if len(b.Prefix) != len(b.Name) || len(b.Prefix) > MaxEntries {
			return fmt.Errorf("%w: block %d: bad lengths", ErrFormat, bi)
		}
		for i, p := range b.Prefix {
			if p>>Bits(bi) != 0 || i > 0 && p <= b.Prefix[i-1] {
				return fmt.Errorf("%w: block %d row %d: prefix out of order or range", ErrFormat, bi, i)
			}
			if int(b.Name[i]) >= len(t.Names) {
				return fmt.Errorf("%w: block %d row %d: name index out of range", ErrFormat, bi, i)
			}
		}
	}
	return nil
}

// Encode marshals t and compresses it with zstd.
func Encode(t *Table) ([]byte, error) {
	b, err := Marshal(t)
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("ouidata: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil), nil
}

// Marshal validates t and writes the uncompressed format.
func Marshal(t *Table) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	b := []byte(magic)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(t.Meta.Source)
	str(t.Meta.Version)
	str(t.Meta.License)
	b = binary.AppendUvarint(b, uint64(len(t.Names)))
	for _, n := range t.Names[1:] {
		str(n)
	}
	for _, bl := range t.Blocks {
		b = binary.AppendUvarint(b, uint64(len(bl.Prefix)))
		prev := uint64(0)
		for _, p := range bl.Prefix {
			b = binary.AppendUvarint(b, p-prev)
			prev = p
		}
		for _, n := range bl.Name {
			b = binary.AppendUvarint(b, uint64(n))
		}
	}
	return b, nil
}

// Decode decompresses and parses data written by Encode.
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
	return Unmarshal(raw)
}

// Unmarshal parses the uncompressed format.
func Unmarshal(b []byte) (*Table, error) {
	if !strings.HasPrefix(string(b), magic) {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	off := len(magic)
	var ferr error
	fail := func(msg string) {
		if ferr == nil {
			ferr = fmt.Errorf("%w: %s at offset %d", ErrFormat, msg, off)
		}
	}
	uv := func() uint64 {
		if ferr != nil {
			return 0
		}
		v, n := binary.Uvarint(b[off:])
		if n <= 0 {
			fail("bad varint")
			return 0
		}
		off += n
		return v
	}
	str := func() string {
		n := uv()
		if ferr != nil {
			return ""
		}
		if n > MaxString || n > uint64(len(b)-off) {
			fail("bad string length")
			return ""
		}
		s := string(b[off : off+int(n)])
		off += int(n)
		return s
	}
	count := func(max int, minBytes int) int {
		v := uv()
		if ferr == nil && (v > uint64(max) || v*uint64(minBytes) > uint64(len(b)-off)+uint64(minBytes)) {
			fail("count too large")
		}
		if ferr != nil {
			return 0
		}
		return int(v)
	}
	t := &Table{}
	t.Meta.Source, t.Meta.Version, t.Meta.License = str(), str(), str()
	nn := count(MaxNames, 1)
	if ferr == nil && nn == 0 {
		fail("no names")
	}
	if ferr == nil {
		t.Names = make([]string, nn)
		for i := 1; i < nn && ferr == nil; i++ {
			t.Names[i] = str()
		}
	}
	for bi := range t.Blocks {
		n := count(MaxEntries, 2)
		bl := &t.Blocks[bi]
		if ferr != nil {
			break
		}
		bl.Prefix, bl.Name = make([]uint64, n), make([]uint32, n)
		prev := uint64(0)
		for i := 0; i < n && ferr == nil; i++ {
			d := uv()
			if i > 0 && d == 0 || prev+d < prev {
				fail("prefixes out of order")
			}
			prev += d
			bl.Prefix[i] = prev
		}
		for i := 0; i < n && ferr == nil; i++ {
			v := uv()
			if v >= uint64(len(t.Names)) {
				fail("name index out of range")
			}
			bl.Name[i] = uint32(v)
		}
	}
	if ferr == nil && off != len(b) {
		fail("trailing bytes")
	}
	if ferr != nil {
		return nil, ferr
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}
