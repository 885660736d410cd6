package ouidata

import (
	"errors"
	"reflect"
	"testing"
)

func sample() *Table {
	return &Table{
		Meta:  Meta{Source: "test", Version: "2026-01-02", License: "x"},
		Names: []string{"", "Google, Inc.", "KYTRONICS", "ADE Technology Inc."},
		Blocks: [3]Block{
			{Prefix: []uint64{0x100648, 0xf4f5e8}, Name: []uint32{1, 1}},
			{Prefix: []uint64{0x1006481}, Name: []uint32{2}},
			{Prefix: []uint64{0x70b3d5f30}, Name: []uint32{3}},
		},
	}
}

// raw returns the uncompressed form of t.
func raw(t testing.TB, tb *Table) []byte {
	t.Helper()
	b, err := Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	in := sample()
	enc, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: got %+v", out)
	}
}

func TestInvalid(t *testing.T) {
	good := raw(t, sample())
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"magic", []byte("PHOUI\x02")},
		{"truncated", good[:len(good)-3]},
		{"trailing", append(append([]byte{}, good...), 1)},
		{"huge count", append([]byte(magic), 0, 0, 0, 0xff, 0xff, 0xff, 0x7f)},
		{"no names", append([]byte(magic), 0, 0, 0, 0)},
	}
	for _, tc := range tests {
		if _, err := Unmarshal(tc.in); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	bad := []func(*Table){
		func(t *Table) { t.Blocks[0].Prefix[1] = t.Blocks[0].Prefix[0] },
		func(t *Table) { t.Blocks[1].Prefix[0] = 1 << 28 },
		func(t *Table) { t.Blocks[2].Name[0] = 9 },
		func(t *Table) { t.Names[0] = "x" },
		func(t *Table) { t.Blocks[0].Name = nil },
	}
	for i, f := range bad {
		tb := sample()
		f(tb)
		if _, err := Marshal(tb); !errors.Is(err, ErrFormat) {
			t.Errorf("bad table %d accepted: %v", i, err)
		}
	}
	if _, err := Decode([]byte("nope")); !errors.Is(err, ErrFormat) {
		t.Errorf("Decode(garbage) = %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	good := raw(f, sample())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not wrapping ErrFormat: %v", err)
			}
			return
		}
		if err := tb.Validate(); err != nil {
			t.Fatalf("Unmarshal returned an invalid table: %v", err)
		}
		re, err := Marshal(tb)
		if err != nil {
			t.Fatal(err)
		}
		tb2, err := Unmarshal(re)
		if err != nil || !reflect.DeepEqual(tb, tb2) {
			t.Fatalf("round trip differs: %v", err)
		}
	})
}
