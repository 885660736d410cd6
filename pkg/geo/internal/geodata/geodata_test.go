package geodata

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

var (
	max4 = U128{Lo: 0xffffffff}
	max6 = U128{^uint64(0), ^uint64(0)}
)

func v4(lo uint64) U128 { return U128{Lo: lo} }

func TestFlatten(t *testing.T) {
	tests := []struct {
		name     string
		in, want []Range
		overlaps int
	}{
		{"disjoint unsorted",
			[]Range{{v4(20), v4(29), 2}, {v4(0), v4(9), 1}},
			[]Range{{v4(0), v4(9), 1}, {v4(20), v4(29), 2}}, 0},
		{"nested narrow wins",
			[]Range{{v4(0), v4(99), 1}, {v4(10), v4(10), 2}},
			[]Range{{v4(0), v4(9), 1}, {v4(10), v4(10), 2}, {v4(11), v4(99), 1}}, 1},
		{"same start narrow wins",
			[]Range{{v4(0), v4(99), 1}, {v4(0), v4(49), 2}},
			[]Range{{v4(0), v4(49), 2}, {v4(50), v4(99), 1}}, 1},
		{"partial overlap",
			[]Range{{v4(0), v4(59), 1}, {v4(40), v4(79), 2}},
			// widths 60 and 40: the second is narrower
			[]Range{{v4(0), v4(39), 1}, {v4(40), v4(79), 2}}, 1},
		{"equal width first wins",
			[]Range{{v4(0), v4(9), 3}, {v4(0), v4(9), 4}},
			[]Range{{v4(0), v4(9), 3}}, 1},
		{"adjacent equal coalesce",
			[]Range{{v4(0), v4(9), 1}, {v4(10), v4(19), 1}},
			[]Range{{v4(0), v4(19), 1}}, 0},
		{"inverted and zero dropped",
			[]Range{{v4(9), v4(0), 1}, {v4(0), v4(9), 0}, {v4(5), v4(6), 7}},
			[]Range{{v4(5), v4(6), 7}}, 0},
		{"up to max",
			[]Range{{v4(0xfffffff0), max4, 5}},
			[]Range{{v4(0xfffffff0), max4, 5}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n := Flatten(tc.in, max4)
			if !reflect.DeepEqual(got, tc.want) || n != tc.overlaps {
				t.Errorf("got %v (%d overlaps), want %v (%d)", got, n, tc.want, tc.overlaps)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	country := []Range{{v4(10), v4(19), 1}, {v4(20), v4(39), 2}}
	as := []Range{{v4(15), v4(24), 7}, {v4(50), max4, 8}}
	want := []Row{
		{v4(10), Pack(1, 0), 0},
		{v4(15), Pack(1, 7), 0},
		{v4(20), Pack(2, 7), 0},
		{v4(25), Pack(2, 0), 0},
		{v4(40), 0, 0},
		{v4(50), Pack(0, 8), 0},
	}
	if got := Merge(country, as, max4); !reflect.DeepEqual(got, want) {
		t.Errorf("Merge = %v\nwant %v", got, want)
	}
}

// TestMerge3 checks that the registered country splits rows on its own
// boundaries and is carried beside the packed value.
func TestMerge3(t *testing.T) {
	located := []Range{{v4(10), v4(39), 1}}
	registered := []Range{{v4(0), v4(29), 3}}
	as := []Range{{v4(10), v4(39), 7}}
	want := []Row{
		{v4(0), 0, 3},
		{v4(10), Pack(1, 7), 3},
		{v4(30), Pack(1, 7), 0},
		{v4(40), 0, 0},
	}
	if got := Merge3(located, registered, as, max4); !reflect.DeepEqual(got, want) {
		t.Errorf("Merge3 = %v\nwant %v", got, want)
	}
}

// sample builds a random but valid table and the ranges it came from.
func sample(seed uint64, n int) *Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &Table{
		Meta: Meta{Version: "1.2.3", Date: "2026-01-02", CountrySource: "test", ASNSource: "test-asn", ASNLicense: "CC-BY-4.0",
			CountryDate: "2026-01-01", RegisteredSource: "test-reg", RegisteredLicense: "CC0-1.0"},
		Countries: []Country{{}, {"AU", "Australia"}, {"SG", "Singapore"}, {"US", "United States"}},
	}
	t.SetASes([]AS{{}, {13335, "Cloudflare, Inc."}, {45102, "Alibaba (US) Technology Co., Ltd."}, {4294967295, ""}})
	var c4, a4, c6, a6, r4, r6 []Range
	for range n {
		s0 := rng.Uint64N(1 << 32)
		r4 = append(r4, Range{v4(s0), v4(min(s0+rng.Uint64N(1<<22), 0xffffffff)), uint32(rng.IntN(4))})
		h0 := 0x2000<<48 | rng.Uint64N(1<<50)
		r6 = append(r6, Range{U128{h0, 0}, U128{h0 + rng.Uint64N(1<<32), 0}, uint32(rng.IntN(4))})
		s := rng.Uint64N(1 << 32)
		e := min(s+rng.Uint64N(1<<20), 0xffffffff)
		c4 = append(c4, Range{v4(s), v4(e), uint32(rng.IntN(4))})
		s = rng.Uint64N(1 << 32)
		a4 = append(a4, Range{v4(s), v4(min(s+rng.Uint64N(1<<16), 0xffffffff)), uint32(rng.IntN(4))})
		h := 0x2000<<48 | rng.Uint64N(1<<50)
		c6 = append(c6, Range{U128{h, 0}, U128{h + rng.Uint64N(1<<30), rng.Uint64()}, uint32(rng.IntN(4))})
		h = 0x2400<<48 | rng.Uint64N(1<<40)
		a6 = append(a6, Range{U128{h, rng.Uint64()}, U128{h, ^uint64(0)}, uint32(rng.IntN(4))})
	}
	c4, _ = Flatten(c4, max4)
	a4, _ = Flatten(a4, max4)
	c6, _ = Flatten(c6, max6)
	a6, _ = Flatten(a6, max6)
	r4, _ = Flatten(r4, max4)
	r6, _ = Flatten(r6, max6)
	t.SetV4(Merge3(c4, r4, a4, max4))
	t.SetV6(Merge3(c6, r6, a6, max6))
	return t
}

func TestRoundTripAndFind(t *testing.T) {
	for seed := range uint64(5) {
		in := sample(seed, 200)
		// Compression at the best level is slow: exercise it once.
		enc, dec := Marshal, Unmarshal
		if seed == 0 {
			enc, dec = Encode, Decode
		}
		b, err := enc(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("seed %d: round trip differs", seed)
		}
		x := NewIndex(out)
		rng := rand.New(rand.NewPCG(seed, 2))
		for range 1000 {
			ip := uint32(rng.Uint64())
			if rng.IntN(4) == 0 && len(out.V4Start) > 0 { // hit boundaries too
				ip = out.V4Start[rng.IntN(len(out.V4Start))] - uint32(rng.IntN(2))
			}
			if got, want := x.Find4(ip), linear4(out, ip); got != want {
				t.Fatalf("Find4(%#x) = %#x, want %#x", ip, got, want)
			}
			if i := x.Row4(ip); i >= 0 && (out.V4Start[i] > ip || i+1 < len(out.V4Start) && out.V4Start[i+1] <= ip) {
				t.Fatalf("Row4(%#x) = %d, not the row holding it", ip, i)
			}
			h, l := 0x2000<<48|rng.Uint64N(1<<51), rng.Uint64()
			if rng.IntN(4) == 0 && len(out.V6Hi) > 0 {
				i := rng.IntN(len(out.V6Hi))
				h, l = out.V6Hi[i], out.V6Lo.At(i)
			}
			if got, want := x.Find6(h, l), linear6(out, h, l); got != want {
				t.Fatalf("Find6(%#x:%#x) = %#x, want %#x", h, l, got, want)
			}
		}
	}
}

func linear4(t *Table, ip uint32) uint32 {
	v := uint32(0)
	for i, s := range t.V4Start {
		if s <= ip {
			v = t.V4Val[i]
		}
	}
	return v
}

func linear6(t *Table, h, l uint64) uint32 {
	v := uint32(0)
	for i := range t.V6Hi {
		if (U128{t.V6Hi[i], t.V6Lo.At(i)}).Cmp(U128{h, l}) <= 0 {
			v = t.V6Val[i]
		}
	}
	return v
}

func TestEmptyTable(t *testing.T) {
	in := &Table{Countries: []Country{{}}}
	in.SetASes([]AS{{}})
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(out)
	if x.Find4(0x08080808) != 0 || x.Find6(1, 2) != 0 || x.Find4(0xffffffff) != 0 {
		t.Error("empty table found data")
	}
}

// badReg is a marshalled table whose last IPv6 row names a registered
// country past the country table.
func badReg(t *testing.T) []byte {
	t.Helper()
	tb := sample(3, 20)
	b, err := Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = byte(len(tb.Countries))
	return b
}

func TestUnmarshalErrors(t *testing.T) {
	good, err := Marshal(sample(1, 20))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("PHGEO\x03"), good[6:]...)},
		{"old format", append([]byte("PHGEO\x01"), good[6:]...)},
		{"truncated", good[:len(good)/2]},
		{"truncated by one", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"huge count", append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"no countries", append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"registered index out of range", badReg(t)},
		{"bad varint", append([]byte(magic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"string past end", append([]byte(magic), 100, 'a')},
	}
	// A table whose value points past the AS table, built by hand.
	bad := sample(2, 5)
	bad.V4Val[0] = Pack(0, uint32(len(bad.ASNum)))
	if _, err := Marshal(bad); err == nil {
		t.Error("Marshal accepted an out-of-range AS index")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Unmarshal(tc.in); !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
	if _, err := Decode([]byte("not zstd")); !errors.Is(err, ErrFormat) {
		t.Errorf("Decode(garbage) = %v, want ErrFormat", err)
	}
}

func TestValidateOrder(t *testing.T) {
	tb := sample(3, 20)
	if len(tb.V4Start) < 2 || len(tb.V6Hi) < 2 {
		t.Fatal("sample too small")
	}
	tb.V4Start[1] = tb.V4Start[0]
	if err := tb.Validate(); !errors.Is(err, ErrFormat) {
		t.Errorf("IPv4 order: %v", err)
	}
	tb = sample(3, 20)
	lo := tb.V6Lo.Slice()
	tb.V6Hi[1], lo[1] = tb.V6Hi[0], lo[0]
	tb.V6Lo = NewWords(lo)
	if err := tb.Validate(); !errors.Is(err, ErrFormat) {
		t.Errorf("IPv6 order: %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for seed := range uint64(3) {
		b, err := Marshal(sample(seed, 8))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not wrapping ErrFormat: %v", err)
			}
			return
		}
		if err := tb.Validate(); err != nil {
			t.Fatalf("Unmarshal accepted an invalid table: %v", err)
		}
		x := NewIndex(tb)
		for _, ip := range []uint32{0, 1, 0x08080808, 0xffffffff} {
			c, a := Unpack(x.Find4(ip))
			_ = tb.Countries[c]
			_ = tb.Org(a)
			if i := x.Row4(ip); i >= 0 {
				_ = tb.Countries[tb.V4Reg[i]]
			}
		}
		for _, h := range []uint64{0, 0x2001 << 48, ^uint64(0)} {
			c, a := Unpack(x.Find6(h, h))
			_ = tb.Countries[c]
			_ = tb.Org(a)
			if i := x.Row6(h, h); i >= 0 {
				_ = tb.Countries[tb.V6Reg[i]]
			}
		}
		re, err := Marshal(tb)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		tb2, err := Unmarshal(re)
		if err != nil || !reflect.DeepEqual(tb, tb2) {
			t.Fatalf("re-unmarshal differs: %v", err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	b, err := Encode(sample(7, 4))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Decode(b); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error not wrapping ErrFormat: %v", err)
		}
	})
}

func TestFill(t *testing.T) {
	primary := []Range{{v4(10), v4(19), 1}, {v4(30), v4(39), 2}}
	fallback := []Range{{v4(0), v4(12), 5}, {v4(15), v4(35), 6}, {v4(38), v4(50), 7}, {v4(60), v4(60), 8}}
	want := []Range{
		{v4(0), v4(9), 5},
		{v4(10), v4(19), 1},
		{v4(20), v4(29), 6},
		{v4(30), v4(39), 2},
		{v4(40), v4(50), 7},
		{v4(60), v4(60), 8},
	}
	if got := Fill(primary, fallback, max4); !reflect.DeepEqual(got, want) {
		t.Errorf("Fill = %v\nwant %v", got, want)
	}
	if got := Fill(nil, fallback, max4); !reflect.DeepEqual(got, fallback) {
		t.Errorf("Fill(nil) = %v", got)
	}
	// A primary range reaching the end of the address space.
	if got := Fill([]Range{{v4(5), max4, 1}}, []Range{{v4(0), max4, 2}}, max4); len(got) != 2 || got[0].End != v4(4) {
		t.Errorf("Fill to max = %v", got)
	}
}

func TestWithin(t *testing.T) {
	list := []Range{{v4(0), v4(9), 1}, {v4(10), v4(29), 2}, {v4(40), v4(49), 3}}
	cover := []Range{{v4(5), v4(12), 9}, {v4(20), v4(45), 9}}
	want := []Range{{v4(5), v4(9), 1}, {v4(10), v4(12), 2}, {v4(20), v4(29), 2}, {v4(40), v4(45), 3}}
	if got := Within(list, cover, max4); !reflect.DeepEqual(got, want) {
		t.Errorf("Within = %v\nwant %v", got, want)
	}
	if got := Within(list, nil, max4); len(got) != 0 {
		t.Errorf("Within(nil cover) = %v", got)
	}
}
