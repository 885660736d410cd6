// Package geodata is the compact range-table format behind phonehome's
// embedded geo-IP/ASN data: how it is built from inclusive address ranges,
// written (varint columns, then zstd) and read back with every count and
// index checked, so a damaged or hostile file is an error, never a panic.
//
// One table merges country and ASN ranges: each row starts at an address
// and runs to the next row's start; its value packs the located country
// index (top 8 bits) and an AS index (low 24 bits), and a parallel column
// holds the registered country index. Index 0 means "no data".
package geodata

import (
	"errors"
	"fmt"
	"strings"
)

// ErrFormat is wrapped by every decoding error.
var ErrFormat = errors.New("geodata: invalid data")

// Caps that bound the memory a decoder may allocate.
const (
	MaxCountries = 1 << 8  // country index is 8 bits
	MaxASes      = 1 << 24 // AS index is 24 bits
	MaxRows      = 1 << 24 // per address family
	MaxString    = 4096    // any single string
	// MaxDecoded bounds the decompressed size accepted by Decode.
	MaxDecoded = 64 << 20
)

// Meta describes where the data came from.
type Meta struct {
	Version        string // e.g. "2.3.2026061719"
	Date           string // data date of the registration and ASN data, YYYY-MM-DD
	CountrySource  string // located (geolocation) country data
	CountryLicense string
	ASNSource      string
	ASNLicense     string
	// CountryDate is the data date of the located country data.
	CountryDate string
	// RegisteredSource describes the registration country data.
	RegisteredSource  string
	RegisteredLicense string
}

// Country is one country row: ISO 3166-1 alpha-2 code and English name.
type Country struct {
	Code string
	Name string
}

// AS is one autonomous system with its organisation name.
type AS struct {
	Number uint32
	Org    string
}

// Table is the decoded data. Country[0] and AS[0] are the empty "no data"
// rows. V4Start is strictly increasing; row i covers [V4Start[i],
// V4Start[i+1]) and the last row runs to the end of the address space. The
// same holds for V6 with 128-bit starts split into V6Hi/V6Lo (the low
// words, almost all zero, stored sparsely).
type Table struct {
	Meta      Meta
	Countries []Country
	ASNum     []uint32
	ASOrgs    string   // all organisation names concatenated
	ASOrgOff  []uint32 // len(ASNum)+1 offsets into ASOrgs
	V4Start   []uint32
	V4Val     []uint32
	V4Reg     []uint8 // registered country index per row
	V6Hi      []uint64
	V6Lo      Words
	V6Val     []uint32
	V6Reg     []uint8
}

// Pack combines a country index and an AS index into a row value.
func Pack(country, as uint32) uint32 { return country<<24 | as&(1<<24-1) }

// Unpack splits a row value.
func Unpack(v uint32) (country, as uint32) { return v >> 24, v & (1<<24 - 1) }

// Org returns the organisation of AS index i.
func (t *Table) Org(i uint32) string {
	return t.ASOrgs[t.ASOrgOff[i]:t.ASOrgOff[i+1]]
}

// NumAS is the number of AS rows, including row 0.
func (t *Table) NumAS() int { return len(t.ASNum) }

// SetASes fills the AS columns from a list whose first entry must be the
// empty row.
func (t *Table) SetASes(as []AS) {
	var b strings.Builder
	t.ASNum = make([]uint32, len(as))
	t.ASOrgOff = make([]uint32, len(as)+1)
	for i, a := range as {
		t.ASNum[i] = a.Number
		b.WriteString(a.Org)
		t.ASOrgOff[i+1] = uint32(b.Len())
	}
	t.ASOrgs = b.String()
}

// Validate checks the invariants that lookups rely on.
func (t *Table) Validate() error {
	if err := t.validateTables(); err != nil {
		return err
	}
	return t.validateRows()
}

// validateTables checks everything but the rows.
func (t *Table) validateTables() error {
	if len(t.Countries) == 0 || t.Countries[0] != (Country{}) {
		return fmt.Errorf("%w: country row 0 must be empty", ErrFormat)
	}
	if len(t.Countries) > MaxCountries {
		return fmt.Errorf("%w: %d countries", ErrFormat, len(t.Countries))
	}
	if len(t.ASNum) == 0 || t.ASNum[0] != 0 || len(t.ASOrgOff) != len(t.ASNum)+1 || len(t.ASNum) > MaxASes {
		return fmt.Errorf("%w: bad AS table", ErrFormat)
	}
	for i := 1; i < len(t.ASOrgOff); i++ {
		if t.ASOrgOff[i] < t.ASOrgOff[i-1] || int(t.ASOrgOff[i]) > len(t.ASOrgs) {
			return fmt.Errorf("%w: bad AS name offsets", ErrFormat)
		}
	}
	if t.ASOrgOff[0] != 0 {
		return fmt.Errorf("%w: bad AS name offsets", ErrFormat)
	}
	if len(t.V4Start) != len(t.V4Val) || len(t.V4Reg) != len(t.V4Val) || len(t.V6Hi) != t.V6Lo.Len() ||
		len(t.V6Hi) != len(t.V6Val) || len(t.V6Reg) != len(t.V6Val) {
		return fmt.Errorf("%w: column lengths differ", ErrFormat)
	}
	return nil
}

// validateRows checks row order and value indexes.
func (t *Table) validateRows() error {
	for i := 1; i < len(t.V4Start); i++ {
		if t.V4Start[i] <= t.V4Start[i-1] {
			return fmt.Errorf("%w: IPv4 row %d out of order", ErrFormat, i)
		}
	}
	for i := 1; i < len(t.V6Hi); i++ {
		if t.V6Hi[i] < t.V6Hi[i-1] || t.V6Hi[i] == t.V6Hi[i-1] && t.V6Lo.At(i) <= t.V6Lo.At(i-1) {
			return fmt.Errorf("%w: IPv6 row %d out of order", ErrFormat, i)
		}
	}
	check := func(fam string, vals []uint32) error {
		for i, v := range vals {
			c, a := Unpack(v)
			if int(c) >= len(t.Countries) || int(a) >= len(t.ASNum) {
				return fmt.Errorf("%w: %s row %d: index out of range", ErrFormat, fam, i)
			}
		}
		return nil
	}
	if err := check("IPv4", t.V4Val); err != nil {
		return err
	}
	if err := check("IPv6", t.V6Val); err != nil {
		return err
	}
	for _, col := range [][]uint8{t.V4Reg, t.V6Reg} {
		for i, c := range col {
			if int(c) >= len(t.Countries) {
				return fmt.Errorf("%w: registered country of row %d out of range", ErrFormat, i)
			}
		}
	}
	return nil
}
