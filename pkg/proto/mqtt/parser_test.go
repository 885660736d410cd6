package mqtt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/fuzzseed"
	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/proto"
)

// Packet builders for hand-made streams.

func str(s string) []byte { return binary.BigEndian.AppendUint16(nil, uint16(len(s))) }

func s16(s string) []byte { return append(str(s), s...) }

func varint(n int) []byte {
	var b []byte
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func pkt(first byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(append([]byte{first}, varint(len(body))...), body...)
}

func u16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }

type connectOpts struct {
	name       string
	level      byte
	id         string
	user, pass *string
	willTopic  string
	willMsg    string
	props      []byte // v5 properties (raw, without length)
}

func connect(o connectOpts) []byte {
	var cf byte = 0x02
	if o.user != nil {
		cf |= 0x80
	}
	if o.pass != nil {
		cf |= 0x40
	}
	if o.willTopic != "" {
		cf |= 0x04 | 0x08 | 0x20 // will, QoS 1, retain
	}
	parts := [][]byte{s16(o.name), {o.level, cf}, u16(60)}
	if o.level == 5 {
		parts = append(parts, varint(len(o.props)), o.props)
	}
	parts = append(parts, s16(o.id))
	if o.willTopic != "" {
		if o.level == 5 {
			parts = append(parts, []byte{0})
		}
		parts = append(parts, s16(o.willTopic), s16(o.willMsg))
	}
	if o.user != nil {
		parts = append(parts, s16(*o.user))
	}
	if o.pass != nil {
		parts = append(parts, s16(*o.pass))
	}
	return pkt(0x10, parts...)
}

func publish(v5 bool, qos byte, id int, topic, payload string) []byte {
	parts := [][]byte{s16(topic)}
	if qos > 0 {
		parts = append(parts, u16(id))
	}
	if v5 {
		parts = append(parts, []byte{2, 0x01, 0x01}) // payload format indicator = 1
	}
	parts = append(parts, []byte(payload))
	return pkt(0x30|qos<<1, parts...)
}

func ptr(s string) *string { return &s }

// op is one call on the parser: data in a direction, or a gap.
type op = fuzzseed.Op

func up(b ...[]byte) op   { return op{Dir: proto.ToServer, Data: bytes.Join(b, nil)} }
func down(b ...[]byte) op { return op{Dir: proto.ToClient, Data: bytes.Join(b, nil)} }

type testCase struct {
	name string
	lim  Limits
	ops  []op
}

func cases() []testCase {
	big := strings.Repeat("x", 3000)
	return []testCase{
		{name: "v311-session", ops: []op{
			up(connect(connectOpts{name: "MQTT", level: 4, id: "sensor-42", user: ptr("alice"), pass: ptr("hunter2"), willTopic: "dev/42/status", willMsg: "offline"})),
			down(pkt(0x20, []byte{0, 0})),
			up(pkt(0x82, u16(1), s16("cmd/42/#"), []byte{1}, s16("fw/+"), []byte{0})),
			down(pkt(0x90, u16(1), []byte{1, 0})),
			up(publish(false, 0, 0, "dev/42/gps", `{"lat":52.52,"lon":13.40}`), publish(false, 1, 7, "dev/42/imei", "490154203237518")),
			down(pkt(0x40, u16(7))),
			up(pkt(0xc0)), down(pkt(0xd0)),
			up(pkt(0xa2, u16(2), s16("fw/+"))),
			down(pkt(0xb0, u16(2))),
			up(pkt(0xe0)),
		}},
		{name: "v5-session", ops: []op{
			up(connect(connectOpts{name: "MQTT", level: 5, id: "myvoiceismypassport", user: ptr("user"), pass: ptr("pass"), props: []byte{0x11, 0, 0, 0, 10}})),
			down(pkt(0x20, []byte{0, 0}, varint(3), []byte{0x21, 0, 10})),
			up(pkt(0x82, u16(1), varint(0), s16("topicX"), []byte{0x01})),
			up(publish(true, 1, 5, "topicX", "payload five")),
			down(pkt(0x40, u16(5), []byte{0x10}, varint(0))),
			up(pkt(0xe0, []byte{0x00}, varint(0))),
		}},
		{name: "v31-mqisdp", ops: []op{
			up(connect(connectOpts{name: "MQIsdp", level: 3, id: "old-client", user: ptr("user")})),
			down(pkt(0x20, []byte{0, 5})),
		}},
		{name: "midstream", ops: []op{
			up([]byte("ayload tail\x00\x01"), publish(false, 0, 0, "a/b", "first whole"), pkt(0xc0)),
			down([]byte{0x07, 0xff}, pkt(0xd0)),
		}},
		{name: "gaps", ops: []op{
			up(publish(false, 0, 0, "t/one", "0123456789")[:12]),
			{Dir: proto.ToServer, Gap: 4},
			up(publish(false, 0, 0, "t/one", "0123456789")[16:], publish(false, 0, 0, "t/two", "ok")),
			up(publish(false, 0, 0, "t/three", "lost end")[:5]),
			{Dir: proto.ToServer, Gap: 50},
			up([]byte("junk"), publish(false, 1, 9, "t/four", "after resync"), pkt(0xc0)),
		}},
		{name: "limits", lim: Limits{MaxPacket: 1024, MaxPayload: 16}, ops: []op{
			up(publish(false, 0, 0, "big/one", big), publish(false, 0, 0, "t/next", "0123456789abcdefXYZ")),
			up(connect(connectOpts{name: "MQTT", level: 4, id: "c", pass: ptr("p")})),
		}},
		{name: "malformed", ops: []op{
			up([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, publish(false, 0, 0, "ok/after", "x")),
			up(pkt(0x10, s16("HTTP"), []byte{4, 2}, u16(1), s16("x"))),
			up(pkt(0x30, s16("bad\x00topic"), []byte("p")), pkt(0xc0)),
		}},
	}
}

func run(tc testCase, split func(int) int) []*Event {
	var evs []*Event
	p := New(tc.lim, func(e *Event) { evs = append(evs, e) })
	fuzzseed.Feed(p, tc.ops, 1, split)
	return evs
}

func render(evs []*Event) string {
	var b strings.Builder
	for _, e := range evs {
		j, err := json.Marshal(e)
		if err != nil {
			fmt.Fprintf(&b, "marshal: %v\n", err)
		}
		fmt.Fprintf(&b, "frame=%d %s\n", e.Frame, j)
		if e.Password != nil {
			fmt.Fprintf(&b, "  password %q\n", e.Password)
		}
		if e.WillPayload != nil {
			fmt.Fprintf(&b, "  will payload %q\n", e.WillPayload)
		}
		if e.Payload != nil {
			fmt.Fprintf(&b, "  payload (%d bytes) %q\n", len(e.Payload), e.Payload[:min(len(e.Payload), 64)])
		}
	}
	return b.String()
}

func TestParserGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := render(run(tc, nil))
			goldenPath := filepath.Join("testdata", tc.name+".golden")
			golden.Check(t, goldenPath, []byte(got))
			for name, split := range map[string]func(int) int{
				"bytewise": func(int) int { return 1 },
				"random":   func(n int) int { return 1 + rand.IntN(n) },
			} {
				if g := render(run(tc, split)); g != got {
					t.Errorf("%s split differs:\n%s", name, g)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"mqtt311", connect(connectOpts{name: "MQTT", level: 4, id: "x"}), true},
		{"mqisdp", connect(connectOpts{name: "MQIsdp", level: 3, id: "x"}), true},
		{"prefix", connect(connectOpts{name: "MQTT", level: 4, id: "x"})[:8], true},
		{"short", []byte{0x10, 0x0c, 0x00}, false},
		{"publish", publish(false, 0, 0, "a", "b"), false},
		{"http", []byte("GET / HTTP/1.1\r\n"), false},
		{"other-name", pkt(0x10, s16("AMQP"), []byte{4, 2}, u16(1)), false},
		{"bad-varint", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x00}, false},
	} {
		if got := Detect(tc.in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}
