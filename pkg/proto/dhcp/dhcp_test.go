package dhcp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
)

// v4 builds a DHCPv4 message: BOOTP header then the magic cookie and opts
// (already encoded as code, length, value...).
func v4(op uint8, xid uint32, mac []byte, ciaddr, yiaddr string, opts ...byte) []byte {
	b := make([]byte, fixedLen)
	b[0], b[1], b[2] = op, 1, byte(len(mac))
	binary.BigEndian.PutUint32(b[4:], xid)
	a := netip.MustParseAddr(ciaddr).As4()
	copy(b[12:], a[:])
	a = netip.MustParseAddr(yiaddr).As4()
	copy(b[16:], a[:])
	copy(b[28:], mac)
	b = append(b, Magic[:]...)
	return append(b, opts...)
}

func op(code uint8, v ...byte) []byte { return append([]byte{code, byte(len(v))}, v...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var mac = []byte{0x90, 0xb1, 0x1c, 0x99, 0x49, 0x29}

type v4Case struct {
	name string
	msg  []byte
	err  error
}

func v4Cases() []v4Case {
	discover := cat(op(53, 1), op(61, append([]byte{1}, mac...)...), op(50, 192, 168, 1, 50),
		op(12, []byte("kitchen-plug")...), op(60, []byte("udhcp 1.24.2")...),
		op(55, 1, 3, 6, 15, 28, 42), op(57, 2, 64), []byte{0, 0, 255})
	ack := cat(op(53, 5), op(54, 192, 168, 1, 1), op(51, 0, 1, 81, 128), op(1, 255, 255, 255, 0),
		op(3, 192, 168, 1, 1), op(6, 1, 1, 1, 1, 8, 8, 8, 8), op(15, []byte("lan")...), []byte{255})
	fqdn := cat(op(53, 3), op(81, append([]byte{0x05, 0, 0}, 6, 'l', 'a', 'p', 't', 'o', 'p', 4, 'c', 'o', 'r', 'p', 0)...),
		op(77, []byte("iPXE")...), []byte{255})
	overload := v4(1, 3, mac, "0.0.0.0", "0.0.0.0", cat(op(53, 8), op(52, 1), []byte{255})...)
	copy(overload[108:], cat(op(12, 'f', 'i', 'l', 'e', 'h', 'o', 's', 't'), []byte{255}))
	bootp := v4(2, 4, mac, "0.0.0.0", "10.0.0.9")[:fixedLen]
	copy(bootp[108:], "pxelinux.0")
	return []v4Case{
		{name: "discover", msg: v4(1, 0x3903f326, mac, "0.0.0.0", "0.0.0.0", discover...)},
		{name: "ack", msg: v4(2, 0x3903f326, mac, "0.0.0.0", "192.168.1.50", ack...)},
		{name: "request-fqdn", msg: v4(1, 7, mac, "192.168.1.50", "0.0.0.0", fqdn...)},
		{name: "overload-file", msg: overload},
		{name: "bootp", msg: bootp},
		{name: "no-end-option", msg: v4(1, 9, mac, "0.0.0.0", "0.0.0.0", op(53, 7)...)},
		{name: "hw-type0", msg: func() []byte {
			b := v4(1, 10, nil, "0.0.0.0", "0.0.0.0", cat(op(53, 1), []byte{255})...)
			b[1] = 0
			return b
		}()},
		{name: "option-overrun", err: ErrOption, msg: v4(1, 11, mac, "0.0.0.0", "0.0.0.0", cat(op(53, 1), op(12, 'a', 'b'))[:6]...)},
		{name: "bad-type-length", err: ErrOption, msg: v4(1, 12, mac, "0.0.0.0", "0.0.0.0", cat(op(12, 'h'), op(53, 1, 2))...)},
		{name: "bootp-vendor-area", msg: append(v4(1, 13, mac, "0.0.0.0", "0.0.0.0")[:fixedLen], 1, 2, 3, 4, 53, 1, 1)},
		{name: "short", err: ErrShort, msg: make([]byte, 100)},
	}
}

func TestParseGolden(t *testing.T) {
	var m Message
	for _, c := range v4Cases() {
		t.Run(c.name, func(t *testing.T) {
			err := Parse(c.msg, &m)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if m.Partial != (err != nil) {
				t.Errorf("Partial = %v", m.Partial)
			}
			matchGolden(t, "v4-"+c.name, NewEvent(&m, err))
		})
	}
}

func TestParseFields(t *testing.T) {
	var m Message
	if err := Parse(v4Cases()[0].msg, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != 1 || m.MAC() != "90:b1:1c:99:49:29" || string(m.Hostname) != "kitchen-plug" ||
		m.Fingerprint() != "1,3,6,15,28,42" || m.RequestedIP != netip.MustParseAddr("192.168.1.50") ||
		string(m.VendorClass) != "udhcp 1.24.2" || m.MaxSize != 576 || len(m.Options) != 7 {
		t.Errorf("discover = %+v", m)
	}
	if !Detect(v4Cases()[0].msg) || Detect(v4Cases()[4].msg) || Detect([]byte("GET / HTTP/1.1\r\n")) {
		t.Error("Detect")
	}
	if err := Parse(v4Cases()[3].msg, &m); err != nil || string(m.Hostname) != "filehost" || m.File != nil {
		t.Errorf("overload: %v %q %q", err, m.Hostname, m.File)
	}
}

func matchGolden(t *testing.T, name string, v any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

func o6(code uint16, v ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

type v6Case struct {
	name string
	msg  []byte
	err  error
}

func v6Cases() []v6Case {
	duidLLT := []byte{0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 0x00, 0x0c, 0x29, 0x5e, 0x77, 0x44}
	duidLL := []byte{0, 3, 0, 1, 0x00, 0x0c, 0x29, 0x1f, 0xa7, 0x55}
	solicit := cat([]byte{1, 0x10, 0x08, 0x74}, o6(1, duidLLT...), o6(8, 0, 0),
		o6(6, 0, 23, 0, 24, 0, 39), o6(39, 0, 6, 'l', 'a', 'p', 't', 'o', 'p'),
		o6(16, append([]byte{0, 0, 1, 0x37, 0, 8}, "MSFT 5.0"...)...),
		o6(3, append(make([]byte, 12), o6(5, append(netip.MustParseAddr("2001:db8::10").AsSlice(), make([]byte, 8)...)...)...)...))
	reply := cat([]byte{7, 0x10, 0x08, 0x74}, o6(1, duidLLT...), o6(2, duidLL...))
	relay := cat([]byte{12, 0}, netip.MustParseAddr("2001:db8::1").AsSlice(), netip.MustParseAddr("fe80::20c:29ff:fe5e:7744").AsSlice(),
		o6(9, solicit...))
	deep := solicit
	for i := 0; i < 10; i++ {
		deep = cat([]byte{12, 0}, make([]byte, 32), o6(9, deep...))
	}
	return []v6Case{
		{name: "solicit", msg: solicit},
		{name: "reply", msg: reply},
		{name: "relay-forw", msg: relay},
		{name: "relay-too-deep", msg: deep, err: ErrOption},
		{name: "option-overrun", msg: solicit[:len(solicit)-3], err: ErrOption},
		{name: "short", msg: []byte{1, 2}, err: ErrShort},
	}
}

func TestParse6Golden(t *testing.T) {
	var m Message6
	for _, c := range v6Cases() {
		t.Run(c.name, func(t *testing.T) {
			err := Parse6(c.msg, &m)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			matchGolden(t, "v6-"+c.name, NewEvent6(&m, err))
		})
	}
	if err := Parse6(v6Cases()[2].msg, &m); err != nil || m.Type != 1 || m.Relays != 1 ||
		DUIDLinkLayer(m.ClientDUID) != "00:0c:29:5e:77:44" || string(m.FQDN) != "laptop" || len(m.Addrs) != 1 {
		t.Errorf("relay: %v %+v", err, m)
	}
}

func TestFuzzSeeds(t *testing.T) {
	if !golden.Update() {
		t.Skip("run with -update to rewrite testdata/fuzz seeds")
	}
	for _, c := range v4Cases() {
		fuzzseed.Write(t, "FuzzParse", c.name, c.msg)
	}
	for _, c := range v6Cases() {
		fuzzseed.Write(t, "FuzzParse6", c.name, c.msg)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range v4Cases() {
		f.Add(c.msg)
	}
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if m.Partial != (err != nil) {
			t.Fatalf("Partial %v err %v", m.Partial, err)
		}
		if len(m.CHAddr) > 16 {
			t.Fatal("chaddr too long")
		}
		if _, err := json.Marshal(NewEvent(&m, err)); err != nil {
			t.Fatal(err)
		}
		Detect(b)
	})
}

func FuzzParse6(f *testing.F) {
	for _, c := range v6Cases() {
		f.Add(c.msg)
	}
	var m Message6
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse6(b, &m)
		if m.Partial != (err != nil) {
			t.Fatalf("Partial %v err %v", m.Partial, err)
		}
		if _, err := json.Marshal(NewEvent6(&m, err)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	msg := v4Cases()[0].msg
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}
