package jsonw

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Object appends the members of a JSON object as encoding/json writes the
// fields of a struct: in order, comma-separated, the Opt methods leaving
// out what `omitempty` leaves out. Keys are written as given (plain
// ASCII, no escapes needed). Start with Open, end with Close.
type Object struct {
	B   []byte
	n   int
	err error
}

// Open starts an object at the end of b.
func Open(b []byte) Object { return Object{B: append(b, '{')} }

// Close ends the object and returns the bytes, or the first error (a
// float encoding/json cannot write).
func (o *Object) Close() ([]byte, error) {
	return append(o.B, '}'), o.err
}

// Key appends the key of the next member; its value is to follow.
func (o *Object) Key(k string) {
	if o.n > 0 {
		o.B = append(o.B, ',')
	}
	o.n++
	o.B = append(o.B, '"')
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':')
}

func (o *Object) String(k, v string) {
	o.Key(k)
	o.B = String(o.B, v)
}

func (o *Object) OptString(k, v string) {
	if v != "" {
		o.String(k, v)
	}
}

func (o *Object) Int(k string, v int64) {
	o.Key(k)
	o.B = strconv.AppendInt(o.B, v, 10)
}

func (o *Object) OptInt(k string, v int64) {
	if v != 0 {
		o.Int(k, v)
	}
}

func (o *Object) Uint(k string, v uint64) {
	o.Key(k)
	o.B = strconv.AppendUint(o.B, v, 10)
}

func (o *Object) OptUint(k string, v uint64) {
	if v != 0 {
		o.Uint(k, v)
	}
}

func (o *Object) Bool(k string, v bool) {
	o.Key(k)
	o.B = strconv.AppendBool(o.B, v)
}

func (o *Object) OptBool(k string, v bool) {
	if v {
		o.Bool(k, v)
	}
}

func (o *Object) Float(k string, v float64) {
	o.Key(k)
	var err error
	if o.B, err = Float(o.B, v); err != nil && o.err == nil {
		o.err = err
	}
}

func (o *Object) OptFloat(k string, v float64) {
	if v != 0 {
		o.Float(k, v)
	}
}

// Strings writes a []string: null when nil, as encoding/json does.
func (o *Object) Strings(k string, v []string) {
	o.Key(k)
	if v == nil {
		o.B = append(o.B, "null"...)
		return
	}
	o.B = Strings(o.B, v)
}

func (o *Object) OptStrings(k string, v []string) {
	if len(v) > 0 {
		o.Strings(k, v)
	}
}

// ErrFloat is the error for a NaN or an infinity, which JSON cannot hold
// (encoding/json fails on them too).
var ErrFloat = errors.New("jsonw: unsupported float value")

// Float appends a float64 as encoding/json writes it: the shortest
// decimal that reads back the same, in exponent form below 1e-6 and from
// 1e21 on, with a one-digit negative exponent written without its 0.
func Float(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, ErrFloat
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 as e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// Uints writes a list of unsigned numbers ([]uint16 and the like, not
// []byte, which encoding/json writes as base64): null when nil.
func Uints[T uint16 | uint32 | uint64](o *Object, k string, v []T) {
	o.Key(k)
	if v == nil {
		o.B = append(o.B, "null"...)
		return
	}
	o.B = appendUints(o.B, v)
}

// OptUints is Uints left out when empty.
func OptUints[T uint16 | uint32 | uint64](o *Object, k string, v []T) {
	if len(v) > 0 {
		Uints(o, k, v)
	}
}

// Bytes writes a list of 8-bit numbers as [1,2,3] (a type whose
// MarshalJSON does so; never null).
func (o *Object) Bytes(k string, v []byte) {
	o.Key(k)
	o.B = appendUints(o.B, v)
}

// OptBytes is Bytes left out when empty.
func (o *Object) OptBytes(k string, v []byte) {
	if len(v) > 0 {
		o.Bytes(k, v)
	}
}

// Pair writes a [2]uint64 array.
func (o *Object) Pair(k string, v [2]uint64) {
	o.Key(k)
	o.B = append(o.B, '[')
	o.B = strconv.AppendUint(o.B, v[0], 10)
	o.B = append(o.B, ',')
	o.B = strconv.AppendUint(o.B, v[1], 10)
	o.B = append(o.B, ']')
}

// Raw writes v, a JSON value made by another appender, as the value of k
// (the appender appends to the object's bytes).
func (o *Object) Raw(k string, appendValue func([]byte) ([]byte, error)) {
	o.Key(k)
	var err error
	if o.B, err = appendValue(o.B); err != nil && o.err == nil {
		o.err = err
	}
}

// Time writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds; an error for years outside 0–9999).
func (o *Object) Time(k string, t time.Time) {
	o.Key(k)
	o.B = append(o.B, '"')
	b, err := t.AppendText(o.B)
	if err != nil {
		if o.err == nil {
			o.err = err
		}
		return
	}
	o.B = append(b, '"')
}

func appendUints[T uint8 | uint16 | uint32 | uint64](b []byte, v []T) []byte {
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(x), 10)
	}
	return append(b, ']')
}
