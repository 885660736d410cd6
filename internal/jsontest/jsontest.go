// Package jsontest checks hand-written JSON encoders against
// encoding/json: Fill sets every exported field of a value from a stream
// of bytes (a fuzzer's input, or random bytes), so that an encoder and
// json.Marshal can be compared on values no table lists.
package jsontest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// Bytes is the stream Fill reads; past its end it reads zeros.
type Bytes struct{ b []byte }

// NewBytes returns a stream over b.
func NewBytes(b []byte) *Bytes { return &Bytes{b} }

func (s *Bytes) next(n int) []byte {
	out := make([]byte, n)
	k := copy(out, s.b)
	s.b = s.b[k:]
	return out
}

func (s *Bytes) byte() byte { return s.next(1)[0] }

func (s *Bytes) u64() uint64 { return binary.LittleEndian.Uint64(s.next(8)) }

// strings mixes plain text with what encoding/json escapes.
var strings = []string{"", "a", "plain text", `q"uote\`, "<&>", "\u2028\u2029", "\xff\xfe", "é中😀", "\t\n\x00\x1f\x7f", "0x1f"}

// floats has the edges of encoding/json's float format.
var floats = []float64{0, 1, -1, 0.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e21, 5e-324, math.MaxFloat64, 123.456, 0.01107788, 2.2134, -0.0}

func (s *Bytes) string() string {
	c := s.byte()
	if c < 128 {
		return strings[int(c)%len(strings)]
	}
	return string(s.next(int(c - 128)))
}

func (s *Bytes) float() float64 {
	c := s.byte()
	if c < 128 {
		return floats[int(c)%len(floats)]
	}
	f := math.Float64frombits(s.u64())
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// Fill sets every exported field of *v (and of the structs, slices and
// pointers in it) from s.
func Fill(s *Bytes, v any) { fill(s, reflect.ValueOf(v).Elem(), 0) }

func fill(s *Bytes, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s.string())
	case reflect.Bool:
		v.SetBool(s.byte()&1 == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if c := s.byte(); c < 64 {
			v.SetInt(0)
		} else {
			v.SetInt(int64(s.u64()) >> (c % 64)) // truncated to the field's size
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if c := s.byte(); c < 64 {
			v.SetUint(0)
		} else {
			v.SetUint(s.u64() >> (c % 64))
		}
	case reflect.Float32, reflect.Float64:
		v.SetFloat(s.float())
	case reflect.Pointer:
		if depth > 4 || s.byte()&1 == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(s, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		c := s.byte()
		if c&3 == 0 || depth > 4 {
			v.SetZero() // nil
			return
		}
		n := int(c>>2) % 5
		sl := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(s, sl.Index(i), depth+1)
		}
		v.Set(sl)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(s, v.Field(i), depth+1)
			}
		}
	}
}

// Same fails t unless got and err are what json.Marshal(v) returns: the
// same bytes, or an error where Marshal fails.
func Same(t testing.TB, v any, got []byte, err error) {
	t.Helper()
	want, werr := json.Marshal(v)
	switch {
	case werr != nil && err == nil:
		t.Errorf("%T: encoding/json fails (%v), the appender wrote %s", v, werr, got)
	case werr == nil && err != nil:
		t.Errorf("%T: the appender fails (%v), encoding/json writes %s", v, err, want)
	case werr == nil && !bytes.Equal(got, want):
		t.Errorf("%T:\n got %s\nwant %s", v, got, want)
	}
}
