package qpack

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func fieldsString(f []Field) string { return fmt.Sprint(f) }

// RFC 9204 appendix B, in order, with a table of capacity 220.
func TestRFC9204AppendixB(t *testing.T) {
	d := NewDecoder(Limits{MaxTableCapacity: 220})
	steps := []struct {
		name    string
		encoder string
		stream  uint64
		section string
		want    string
		size    uint64
		inserts uint64
	}{
		{name: "B.1 literal with static name", stream: 0, section: "0000510b2f696e6465782e68746d6c", want: "[{:path /index.html}]"},
		{name: "B.2 dynamic table, post-base", encoder: "3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468", stream: 4, section: "03811011",
			want: "[{:authority www.example.com} {:path /sample/path}]", size: 106, inserts: 2},
		{name: "B.3 speculative insert", encoder: "4a637573746f6d2d6b65790c637573746f6d2d76616c7565", size: 160, inserts: 3},
		{name: "B.4 duplicate", encoder: "02", stream: 8, section: "050080c181",
			want: "[{:authority www.example.com} {:path /} {custom-key custom-value}]", size: 217, inserts: 4},
		{name: "B.5 dynamic name, eviction", encoder: "810d637573746f6d2d76616c756532", size: 215, inserts: 5},
	}
	for _, s := range steps {
		if s.encoder != "" {
			if un, err := d.EncoderStream(unhex(s.encoder)); err != nil || len(un) != 0 {
				t.Fatalf("%s: encoder stream: %v %v", s.name, un, err)
			}
		}
		if s.section != "" {
			got, err := d.Decode(s.stream, unhex(s.section))
			if err != nil || fieldsString(got) != s.want {
				t.Errorf("%s: %v %v, want %s", s.name, got, err, s.want)
			}
		}
		if s.inserts > 0 && (d.TableSize() != s.size || d.InsertCount() != s.inserts) {
			t.Errorf("%s: size %d inserts %d, want %d %d", s.name, d.TableSize(), d.InsertCount(), s.size, s.inserts)
		}
	}
	// After B.5 the first entry (:authority) is evicted: referencing it fails.
	if _, err := d.Decode(12, unhex("0500"+"84")); !errors.Is(err, ErrMalformed) {
		t.Errorf("evicted entry: %v", err)
	}
}

// A section that arrives before the instructions it needs is held, then
// decoded when the encoder stream catches up, even byte by byte.
func TestBlocked(t *testing.T) {
	d := NewDecoder(Limits{MaxTableCapacity: 220, MaxBlockedStreams: 1})
	if _, err := d.Decode(4, unhex("03811011")); err != ErrBlocked {
		t.Fatalf("got %v, want ErrBlocked", err)
	}
	if _, err := d.Decode(8, unhex("03811011")); !errors.Is(err, ErrLimit) {
		t.Fatalf("second blocked section: %v, want ErrLimit", err)
	}
	var got []Section
	for _, b := range unhex("3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468") {
		s, err := d.EncoderStream([]byte{b})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s...)
	}
	if len(got) != 1 || got[0].Stream != 4 || got[0].Err != nil || fieldsString(got[0].Fields) != "[{:authority www.example.com} {:path /sample/path}]" || d.Blocked() != 0 {
		t.Fatalf("unblocked %+v", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, encoder, section string
		capacity               uint64
		want                   error
	}{
		{name: "capacity above maximum", encoder: "3fbd01", capacity: 100, want: ErrMalformed},
		{name: "entry larger than table", encoder: "3f0d" + "c00f7777772e6578616d706c652e636f6d", capacity: 220, want: ErrMalformed},
		{name: "static index out of range", section: "0000ff64", capacity: 220, want: ErrMalformed},
		{name: "dynamic reference without table", section: "0200" + "80", capacity: 0, want: ErrMalformed},
		{name: "truncated literal", section: "0000510b2f696e", capacity: 220, want: ErrMalformed},
		{name: "empty huffman value", section: "00005180", capacity: 220, want: nil},
		{name: "duplicate of nothing", encoder: "3fbd0100", capacity: 220, want: ErrMalformed},
		{name: "integer too long", section: "00" + "00" + "5f" + "ffffffffffffffffffff01", capacity: 220, want: ErrMalformed},
	}
	for _, tc := range tests {
		d := NewDecoder(Limits{MaxTableCapacity: tc.capacity})
		var err error
		if tc.encoder != "" {
			_, err = d.EncoderStream(unhex(tc.encoder))
		} else {
			_, err = d.Decode(0, unhex(tc.section))
		}
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestLimits(t *testing.T) {
	// 600 indexed static fields against MaxFields 512.
	b := []byte{0, 0}
	for i := 0; i < 600; i++ {
		b = append(b, 0xc0|17) // :method GET
	}
	d := NewDecoder(Limits{})
	if _, err := d.Decode(0, b); !errors.Is(err, ErrLimit) {
		t.Errorf("fields: %v", err)
	}
	// A partial encoder instruction longer than MaxInstruction.
	d = NewDecoder(Limits{MaxTableCapacity: 4096, MaxInstruction: 64})
	long := append(unhex("3fe11f"), 0x4a)
	long = append(long, []byte("custom-key")...)
	long = append(long, 0x7f, 0xff, 0x01) // value length 255, not there
	long = append(long, make([]byte, 80)...)
	if _, err := d.EncoderStream(long); !errors.Is(err, ErrLimit) {
		t.Errorf("instruction: %v", err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(unhex("3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468"), unhex("03811011"))
	f.Add(unhex("4a637573746f6d2d6b65790c637573746f6d2d76616c756502810d637573746f6d2d76616c756532"), unhex("050080c181"))
	f.Add([]byte{}, unhex("0000510b2f696e6465782e68746d6c"))
	f.Add(unhex("3fbd01"), unhex("0000d1d7508b089d5c0b8170dc780f03"))
	f.Fuzz(func(t *testing.T, enc, section []byte) {
		d := NewDecoder(Limits{MaxTableCapacity: 256, MaxBlockedStreams: 2, MaxBlockedBytes: 1024, MaxFieldSection: 4096, MaxFields: 64, MaxInstruction: 512})
		// Section first (may block), then the encoder stream in two parts.
		_, _ = d.Decode(0, section)
		half := len(enc) / 2
		_, _ = d.EncoderStream(enc[:half])
		_, _ = d.EncoderStream(enc[half:])
		fields, err := d.Decode(4, section)
		if d.TableSize() > 256 {
			t.Fatalf("table %d bytes over capacity", d.TableSize())
		}
		if err == nil {
			n := 0
			for _, f := range fields {
				n += len(f.Name) + len(f.Value) + 32
			}
			if n > 4096 || len(fields) > 64 {
				t.Fatalf("limits not held: %d bytes, %d fields", n, len(fields))
			}
		}
	})
}
