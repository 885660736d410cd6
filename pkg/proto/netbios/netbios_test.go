package netbios

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto/dns"
)

// enc returns the first-level encoding of name padded to 15 bytes plus the
// suffix, as a length-prefixed label followed by the root (scope "").
func enc(name string, suffix byte) []byte {
	var raw [16]byte
	copy(raw[:], fmt.Sprintf("%-15s", name))
	raw[15] = suffix
	out := []byte{32}
	for _, c := range raw {
		out = append(out, 'A'+c>>4, 'A'+c&15)
	}
	return append(out, 0)
}

func u16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

func cat(p ...[]byte) []byte { return bytes.Join(p, nil) }

type nbCase struct {
	name string
	msg  []byte
	err  error
}

func cases() []nbCase {
	nbstat := cat(u16(0x8201, 0x8400, 0, 1, 0, 0), enc("*", 0), u16(TypeNBSTAT, 1, 0, 0),
		func() []byte {
			d := []byte{3}
			for _, n := range []struct {
				s   string
				suf byte
				f   uint16
			}{{"NAS-01", 0x00, 0x0400}, {"NAS-01", 0x20, 0x0400}, {"WORKGROUP", 0x00, 0x8400}} {
				var raw [16]byte
				copy(raw[:], fmt.Sprintf("%-15s", n.s))
				raw[15] = n.suf
				d = append(d, raw[:]...)
				d = append(d, u16(n.f)...)
			}
			d = append(d, 0x00, 0x11, 0x32, 0xaa, 0xbb, 0xcc)
			return append(u16(uint16(len(d)+40)), append(d, make([]byte, 40)...)...)
		}())
	return []nbCase{
		{name: "query-broadcast", msg: cat(u16(0x1234, 0x0110, 1, 0, 0, 0), enc("WORKGROUP", 0x1d), u16(TypeNB, 1))},
		{name: "registration", msg: cat(u16(0x5678, 0x2910, 1, 0, 0, 1), enc("DESKTOP-7QK2", 0x20), u16(TypeNB, 1),
			[]byte{0xc0, 12}, u16(TypeNB, 1), u16(300000>>16, 300000&0xffff), u16(6), u16(0x0000), []byte{192, 168, 1, 33})},
		{name: "positive-response", msg: cat(u16(0x1234, 0x8500, 0, 1, 0, 0), enc("PRINTER", 0x00), u16(TypeNB, 1), u16(0, 300), u16(12),
			u16(0), []byte{10, 0, 0, 5}, u16(0x8000), []byte{10, 0, 0, 6})},
		{name: "nbstat-response", msg: nbstat},
		{name: "scope", msg: cat(u16(1, 0x0100, 1, 0, 0, 0), enc("HOST", 0)[:33], []byte{4, 'c', 'o', 'r', 'p', 0}, u16(TypeNB, 1))},
		{name: "bad-name", err: ErrName, msg: cat(u16(1, 0, 1, 0, 0, 0), []byte{3, 'a', 'b', 'c', 0}, u16(TypeNB, 1))},
		{name: "truncated-record", err: ErrShort, msg: cat(u16(1, 0x8500, 0, 1, 0, 0), enc("X", 0), u16(TypeNB, 1), u16(0, 1), u16(6), u16(0))},
		{name: "short", err: ErrShort, msg: []byte{1, 2, 3}},
	}
}

func TestParseGolden(t *testing.T) {
	var m Message
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			err := Parse(c.msg, &m)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if m.Partial != (err != nil) {
				t.Errorf("Partial = %v", m.Partial)
			}
			matchGolden(t, c.name, NewEvent(&m, err))
		})
	}
}

func matchGolden(t *testing.T, name string, v any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

func dgmPacket() []byte {
	return cat([]byte{0x11, 0x02}, u16(0x8001), []byte{192, 168, 1, 33}, u16(138), u16(0), u16(0),
		enc("DESKTOP-7QK2", 0x00), enc("WORKGROUP", 0x1e), []byte("\xffSMB%browser"))
}

func TestDatagram(t *testing.T) {
	var d Datagram
	if err := ParseDatagram(dgmPacket(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Source.String() != "DESKTOP-7QK2<00>" || d.Destination.String() != "WORKGROUP<1e>" || string(d.Data) != "\xffSMB%browser" {
		t.Errorf("datagram = %+v", d)
	}
	matchGolden(t, "datagram", NewDatagramEvent(&d, nil))
	if err := ParseDatagram(dgmPacket()[:20], &d); !errors.Is(err, dns.ErrShort) {
		t.Errorf("short datagram: %v", err)
	}
}

func TestDecodeName(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"FHEPFCELEHFCEPFFFACACACACACACABN", "WORKGROUP<1d>", true},
		{"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "*<00>", true},
		{"EIEPFDFE" + "CACACACACACACACACACACACA" + ".corp", "HOST<20>.corp", true},
		{"FHEPFCELEHFCEPFFFACACACACACACAB", "", false},
		{"ZZEPFCELEHFCEPFFFACACACACACACABN", "", false},
	}
	for _, c := range cases {
		n, ok := DecodeName([]byte(c.in))
		if ok != c.ok || (ok && n.String() != c.want) {
			t.Errorf("%s = %v %v, want %s", c.in, n, ok, c.want)
		}
	}
}

func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range cases() {
		fuzzseed.Write(t, "FuzzParse", c.name, c.msg)
	}
	fuzzseed.Write(t, "FuzzParse", "datagram", dgmPacket())
}

// FuzzParse feeds the same bytes to the name and datagram parsers.
func FuzzParse(f *testing.F) {
	for _, c := range cases() {
		f.Add(c.msg)
	}
	f.Add(dgmPacket())
	var m Message
	var d Datagram
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if len(m.Questions)+len(m.Records) > maxRecords+1 {
			t.Fatalf("%d records", len(m.Questions)+len(m.Records))
		}
		if _, err := json.Marshal(NewEvent(&m, err)); err != nil {
			t.Fatal(err)
		}
		err = ParseDatagram(b, &d)
		if _, err := json.Marshal(NewDatagramEvent(&d, err)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	msg := cases()[3].msg
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
