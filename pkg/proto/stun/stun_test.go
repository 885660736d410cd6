package stun

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
)

var tid = [12]byte{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae}

// msg builds a STUN message with the cookie (or without, classic) and the
// given attributes (type, value pairs); values are padded to 4 bytes.
func msg(typ uint16, classic bool, attrs ...any) []byte {
	var body []byte
	for i := 0; i+1 < len(attrs); i += 2 {
		v := attrs[i+1].([]byte)
		body = binary.BigEndian.AppendUint16(body, uint16(attrs[i].(int)))
		body = binary.BigEndian.AppendUint16(body, uint16(len(v)))
		body = append(body, v...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	if classic {
		b = append(b, 0x11, 0x22, 0x33, 0x44)
	} else {
		b = binary.BigEndian.AppendUint32(b, MagicCookie)
	}
	b = append(b, tid[:]...)
	return append(b, body...)
}

// addr encodes ap as a (XOR-)MAPPED-ADDRESS value.
func addr(ap string, xor bool) []byte {
	a := netip.MustParseAddrPort(ap)
	key := binary.BigEndian.AppendUint32(nil, MagicCookie)
	key = append(key, tid[:]...)
	ip, port := a.Addr().AsSlice(), a.Port()
	if xor {
		port ^= MagicCookie >> 16
		for i := range ip {
			ip[i] ^= key[i]
		}
	}
	fam := byte(1)
	if a.Addr().Is6() {
		fam = 2
	}
	b := []byte{0, fam}
	b = binary.BigEndian.AppendUint16(b, port)
	return append(b, ip...)
}

type stunCase struct {
	name   string
	msg    []byte
	err    error
	detect bool
}

func cases() []stunCase {
	return []stunCase{
		{name: "binding-request", detect: true, msg: msg(0x0001, false, AttrSoftware, []byte("STUN test client"),
			AttrUsername, []byte("evtj:h6vY"), AttrMessageIntegrity, make([]byte, 20), AttrFingerprint, make([]byte, 4))},
		{name: "binding-success-v4", detect: true, msg: msg(0x0101, false, AttrXORMappedAddress, addr("192.0.2.1:32853", true),
			AttrSoftware, []byte("test vector"), AttrFingerprint, make([]byte, 4))},
		{name: "binding-success-v6", detect: true, msg: msg(0x0101, false, AttrXORMappedAddress, addr("[2001:db8:1234:5678:11:2233:4455:6677]:32853", true),
			AttrResponseOrigin, addr("198.51.100.2:3478", false), AttrOtherAddress, addr("198.51.100.3:3479", false))},
		{name: "turn-allocate-success", detect: true, msg: msg(0x0103, false, AttrXORRelayedAddress, addr("203.0.113.9:49152", true),
			AttrXORMappedAddress, addr("198.51.100.77:61000", true), AttrLifetime, []byte{0, 0, 0x02, 0x58})},
		{name: "turn-send-indication", detect: true, msg: msg(0x0016, false, AttrXORPeerAddress, addr("192.0.2.150:50000", true),
			0x0013, []byte("media"))},
		{name: "error-401", detect: true, msg: msg(0x0113, false, AttrErrorCode, append([]byte{0, 0, 4, 1}, "Unauthorized"...),
			AttrRealm, []byte("example.org"), AttrNonce, []byte("f//499k954d6OL34oL9FSTvy64sA"))},
		{name: "classic-3489-response", msg: msg(0x0101, true, AttrMappedAddress, addr("198.51.100.20:4500", false),
			AttrSourceAddress, addr("192.0.2.3:3478", false), AttrChangedAddress, addr("192.0.2.4:3479", false))},
		{name: "bad-family", err: ErrAttribute, detect: true, msg: msg(0x0101, false, AttrXORMappedAddress, []byte{0, 3, 0, 0, 1, 2, 3, 4})},
		{name: "attr-overrun", err: ErrShort, detect: true, msg: func() []byte {
			b := msg(0x0001, false, AttrSoftware, []byte("abcd"))
			binary.BigEndian.PutUint16(b[22:], 40)
			return b
		}()},
		{name: "not-stun", err: ErrNotSTUN, msg: append([]byte{0x80}, make([]byte, 19)...)},
		{name: "short", err: ErrShort, msg: []byte{0, 1, 0, 0}},
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
			if got := Detect(c.msg); got != c.detect {
				t.Errorf("Detect = %v", got)
			}
			got, _ := json.MarshalIndent(NewEvent(&m, err), "", "  ")
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", c.name+".json")
			golden.Check(t, path, got)
		})
	}
}

func TestXORMapped(t *testing.T) {
	var m Message
	for _, c := range []struct {
		i    int
		want string
	}{{1, "192.0.2.1:32853"}, {2, "[2001:db8:1234:5678:11:2233:4455:6677]:32853"}} {
		if err := Parse(cases()[c.i].msg, &m); err != nil || m.Addrs[0].Addr.String() != c.want || m.Method != 1 || m.Class != 2 {
			t.Errorf("%d: %v %+v", c.i, err, m.Addrs)
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
}

func FuzzParse(f *testing.F) {
	for _, c := range cases() {
		f.Add(c.msg)
	}
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if m.Partial != (err != nil) || len(m.Addrs) > maxAddrs {
			t.Fatalf("Partial %v err %v addrs %d", m.Partial, err, len(m.Addrs))
		}
		if _, err := json.Marshal(NewEvent(&m, err)); err != nil {
			t.Fatal(err)
		}
		Detect(b)
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
