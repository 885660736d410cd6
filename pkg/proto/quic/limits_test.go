package quic

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

func TestCryptoBufLimits(t *testing.T) {
	lim := Limits{MaxCrypto: 64, MaxFragments: 3, MaxConns: 1}
	tests := []struct {
		name string
		adds []struct {
			off int
			n   int
		}
		wantOK  bool // last add accepted
		wantMsg bool
	}{
		{"beyond cap", []struct {
			off int
			n   int
		}{{100, 4}}, false, false},
		{"clipped", []struct {
			off int
			n   int
		}{{60, 10}}, false, false},
		{"too many fragments", []struct {
			off int
			n   int
		}{{10, 1}, {20, 1}, {30, 1}, {40, 1}}, false, false},
		{"merged", []struct {
			off int
			n   int
		}{{4, 4}, {0, 4}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cb cryptoBuf
			ok := true
			for _, a := range tt.adds {
				data := make([]byte, a.n)
				if a.off == 0 {
					copy(data, []byte{1, 0, 0, 4}) // ClientHello header, 4-byte body
				}
				ok = cb.add(uint64(a.off), data, lim)
			}
			if ok != tt.wantOK {
				t.Errorf("add ok = %v", ok)
			}
			msg, done := cb.message(lim)
			if (done && msg != nil) != tt.wantMsg {
				t.Errorf("message %x %v", msg, done)
			}
		})
	}
	var cb cryptoBuf
	cb.add(0, []byte{1, 0xff, 0xff, 0xff}, lim)
	if msg, done := cb.message(lim); !done || msg != nil {
		t.Error("an over-cap message must be given up")
	}
}

func TestHostileDatagrams(t *testing.T) {
	sc := scenarios(t)
	good := sc["v1-simple"][0].data
	tests := []struct {
		name string
		b    []byte
	}{
		{"truncated header", good[:10]},
		{"truncated payload", good[:60]},
		{"length past end", append(append([]byte{}, good[:20]...), 0x7f, 0xff)},
		{"flipped byte", func() []byte { b := append([]byte{}, good...); b[100] ^= 1; return b }()},
		{"dcid too long", append([]byte{0xc0, 0, 0, 0, 1, 21}, make([]byte, 40)...)},
		{"vn odd", []byte{0x80, 0, 0, 0, 0, 0, 0, 1, 2}},
		{"gquic chlo garbage", append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8}, []byte("Q043CHLO\xff\xff\x00\x00")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(nil)
			p.Datagram(proto.ToServer, tt.b, proto.Meta{Frame: 1})
			p.Datagram(proto.ToClient, tt.b, proto.Meta{Frame: 2})
			if p.SNI() != "" {
				t.Errorf("SNI %q from damaged input", p.SNI())
			}
			p.End(proto.Meta{})
		})
	}
}
