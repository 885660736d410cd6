package dns

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/golden"
)

const (
	qr = 0x8000
	aa = 0x0400
	rd = 0x0100
	ra = 0x0080
)

type parseCase struct {
	name    string
	variant string
	msg     []byte
	err     error // wanted (errors.Is); nil for success
}

// parseCases are hand-made messages; their decoded events are compared with
// testdata/golden/<name>.json.
func parseCases() []parseCase {
	return []parseCase{
		{name: "query-a", variant: "dns", msg: header(0x1234, rd, 1, 0, 0, 0).
			question("www.example.com", TypeA, 1).b},
		{name: "response-cname-chain", variant: "dns", msg: header(0x1234, qr|rd|ra, 1, 4, 0, 0).
			question("www.example.com", TypeA, 1).
			// "www.example.com" is at offset 12, "example.com" at 16.
			rr("@12", TypeCNAME, 1, 300, nameData("www.cdn.@16")).
			rr("www.cdn.@16", TypeCNAME, 1, 60, nameData("edge.example.net")).
			rr("edge.example.net", TypeA, 1, 20, rawData(192, 0, 2, 1)).
			rr("edge.example.net", TypeA, 1, 20, rawData(192, 0, 2, 2)).b},
		{name: "response-aaaa", variant: "dns", msg: header(7, qr|rd|ra, 1, 1, 0, 0).
			question("ipv6.example.org", TypeAAAA, 1).
			rr("@12", TypeAAAA, 1, 3600, rawData(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)).b},
		{name: "mdns-announce", variant: "mdns", msg: header(0, qr|aa, 0, 5, 0, 1).
			rr("_services._dns-sd._udp.local", TypePTR, 1, 4500, nameData("_airplay._tcp.local")).
			rr("Living Room TV._airplay._tcp.local", TypeSRV, 0x8001, 120,
				func(w *builder) { w.u16(0).u16(0).u16(7000).name("Living-Room.local") }).
			rr("Living Room TV._airplay._tcp.local", TypeTXT, 0x8001, 4500, txt("deviceid=AA:BB:CC:DD:EE:FF", "model=AppleTV5,3")).
			rr("Living-Room.local", TypeA, 0x8001, 120, rawData(192, 168, 1, 20)).
			rr("Living-Room.local", TypeHINFO, 0x8001, 120, txt("ARM", "tvOS")).
			rr("Living-Room.local", TypeAAAA, 0x8001, 120, rawData(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20)).b},
		{name: "mdns-query-qu", variant: "mdns", msg: header(0, 0, 1, 0, 0, 0).
			question("_googlecast._tcp.local", TypePTR, 0x8001).b},
		{name: "https-svcb", variant: "dns", msg: header(0xc964, qr|rd|ra, 1, 1, 0, 0).
			question("example.com", TypeHTTPS, 1).
			rr("@12", TypeHTTPS, 1, 600, func(w *builder) {
				w.u16(1).name(".")
				w.u16(1).u16(6).raw(2, 'h', '2', 2, 'h', '3') // alpn
				w.u16(3).u16(2).u16(8443)                     // port
				w.u16(4).u16(8).raw(192, 0, 2, 7, 192, 0, 2, 8)
				w.u16(5).u16(3).raw(1, 2, 3) // ech
				w.u16(6).u16(16).raw(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7)
			}).b},
		{name: "svcb-alias", variant: "dns", msg: header(0xc964, qr|rd|ra, 1, 1, 0, 0).
			question("example.com", TypeSVCB, 1).
			rr("example.com", TypeSVCB, 1, 600, func(w *builder) { w.u16(0).name("foo.example.com") }).b},
		{name: "nxdomain-soa-ecs", variant: "dns", msg: header(9, qr|rd|ra|3, 1, 0, 1, 1).
			question("nope.example", TypeA, 1).
			rr("example", TypeSOA, 1, 900, func(w *builder) {
				w.name("ns.@30").name("hostmaster.@30").u32(1).u32(2).u32(3).u32(4).u32(5)
			}).
			rr(".", TypeOPT, 1232, 0x00008000, func(w *builder) {
				w.u16(8).u16(7).u16(1).raw(24, 0, 198, 51, 100) // ECS 198.51.100.0/24
			}).b},
		{name: "llmnr-query", variant: "llmnr", msg: header(0x4242, 0, 1, 0, 0, 0).
			question("DESKTOP-1234", TypeA, 1).b},
		{name: "mx-srv-unknown", variant: "dns", msg: header(1, qr, 1, 3, 0, 0).
			question("example.com", TypeANY, 1).
			rr("@12", TypeMX, 1, 60, func(w *builder) { w.u16(10).name("mail.@12") }).
			rr("_sip._udp.@12", TypeSRV, 1, 60, func(w *builder) { w.u16(1).u16(2).u16(5060).name("sip.@12") }).
			rr("@12", TypeCAA, 1, 60, rawData(0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a')).b},
		{name: "escaped-labels", variant: "dns", msg: header(2, 0, 1, 0, 0, 0).
			raw(3, 'a', '.', 'b', 2, 0xff, 0x01, 5, 'J', 0xc3, 0xbc, 'r', 'g', 0).u16(1).u16(1).b},
		{name: "chaos-txt", variant: "dns", msg: header(3, qr, 1, 1, 0, 0).
			question("version.bind", TypeTXT, 3).
			rr("@12", TypeTXT, 3, 0, txt("9.18.1", "", "a\\b")).b},

		// Malformed: what was read before the bad part is kept.
		{name: "truncated-answer", variant: "dns", err: ErrShort, msg: header(5, qr, 1, 2, 0, 0).
			question("a.example", TypeA, 1).
			rr("@12", TypeA, 1, 5, rawData(10, 0, 0, 1)).
			name("@12").u16(1).u16(1).u32(5).u16(4).raw(10, 0).b},
		{name: "pointer-loop", variant: "dns", err: ErrPointer, msg: header(6, 0, 1, 0, 0, 0).
			u16(0xC00C).u16(1).u16(1).b},
		{name: "pointer-loop-two", variant: "dns", err: ErrPointer, msg: header(6, qr, 1, 1, 0, 0).
			question("a.example", TypeA, 1).
			// label "x" at 27 then a pointer to 27: loops through itself.
			raw(1, 'x', 0xC0, 27).u16(1).u16(1).u32(1).u16(4).raw(1, 2, 3, 4).b},
		{name: "pointer-forward", variant: "dns", err: ErrPointer, msg: header(6, 0, 1, 0, 0, 0).
			u16(0xC00E).raw(0).u16(1).u16(1).b},
		{name: "name-too-long", variant: "dns", err: ErrNameTooLong, msg: header(8, 0, 1, 0, 0, 0).
			name(strings.Repeat(strings.Repeat("a", 63)+".", 4) + "b").u16(1).u16(1).b},
		{name: "label-type", variant: "dns", err: ErrLabel, msg: header(8, 0, 1, 0, 0, 0).
			raw(0x41, 0).u16(1).u16(1).b},
		{name: "bad-a-length", variant: "dns", err: ErrRecord, msg: header(8, qr, 1, 1, 0, 0).
			question("a.example", TypeA, 1).rr("@12", TypeA, 1, 1, rawData(1, 2, 3)).b},
		{name: "bad-txt", variant: "dns", err: ErrRecord, msg: header(8, qr, 1, 1, 0, 0).
			question("a.example", TypeTXT, 1).rr("@12", TypeTXT, 1, 1, rawData(5, 'a')).b},
		{name: "cname-pointer-past-rdata", variant: "dns", err: ErrRecord, msg: header(8, qr, 1, 1, 0, 0).
			question("a.example", TypeCNAME, 1).rr("@12", TypeCNAME, 1, 1, rawData(1, 'b')).u16(0).b},
		{name: "short-header", variant: "dns", err: ErrShort, msg: []byte{1, 2, 3}},
	}
}

func TestParseGolden(t *testing.T) {
	var m Message
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := Parse(tc.msg, &m)
			if tc.err == nil && err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Parse error = %v, want %v", err, tc.err)
			}
			if m.Partial != (err != nil) {
				t.Errorf("Partial = %v with err %v", m.Partial, err)
			}
			checkAddressRecords(t, &m, NewEvent(&m, tc.variant, err))
			got, jerr := json.MarshalIndent(NewEvent(&m, tc.variant, err), "", "  ")
			if jerr != nil {
				t.Fatal(jerr)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".json"), append(got, '\n'))
		})
	}
}

// checkAddressRecords: AddressRecords yields the A and AAAA records of
// the answer and additional sections of ev, in order, as the engine read
// them from the event before.
func checkAddressRecords(t *testing.T, m *Message, ev Event) {
	t.Helper()
	var want, got []string
	for _, rr := range append(slices.Clip(ev.Answers), ev.Additional...) {
		if rr.Type != "A" && rr.Type != "AAAA" {
			continue
		}
		if ip, err := netip.ParseAddr(rr.Data); err == nil {
			want = append(want, rr.Name+" "+ip.String())
		}
	}
	m.AddressRecords(func(name []byte, ip netip.Addr) { got = append(got, string(name)+" "+ip.String()) })
	if !slices.Equal(got, want) {
		t.Fatalf("AddressRecords %q, event %q", got, want)
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}

func TestParseFields(t *testing.T) {
	var m Message
	cases := parseCases()
	get := func(name string) []byte {
		for _, c := range cases {
			if c.name == name {
				return c.msg
			}
		}
		t.Fatalf("no case %s", name)
		return nil
	}
	if err := Parse(get("response-cname-chain"), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 4 || string(m.Answers[1].Name) != "www.cdn.example.com" ||
		string(m.Answers[1].Target) != "edge.example.net" || m.Answers[3].Addr != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("answers = %+v", m.Answers)
	}
	if err := Parse(get("https-svcb"), &m); err != nil {
		t.Fatal(err)
	}
	rr := m.Answers[0]
	if rr.Priority != 1 || string(rr.Target) != "." || rr.Port != 8443 || !rr.ECH || len(rr.ALPN) != 2 ||
		string(rr.ALPN[1]) != "h3" || len(rr.Hints) != 3 || rr.Hints[2] != netip.MustParseAddr("2001:db8::7") {
		t.Errorf("https = %+v", rr)
	}
	if err := Parse(get("nxdomain-soa-ecs"), &m); err != nil {
		t.Fatal(err)
	}
	if m.Rcode != 3 || !m.EDNS.Present || m.EDNS.UDPSize != 1232 || !m.EDNS.DO ||
		m.EDNS.ClientSubnet != netip.MustParsePrefix("198.51.100.0/24") {
		t.Errorf("rcode %d edns %+v", m.Rcode, m.EDNS)
	}
	// Malformed: the question and first answer survive.
	if err := Parse(get("truncated-answer"), &m); err == nil || len(m.Questions) != 1 || len(m.Answers) != 1 {
		t.Errorf("truncated: err %v, %d questions, %d answers", err, len(m.Questions), len(m.Answers))
	}
}

func TestExtendedRcode(t *testing.T) {
	b := header(1, qr|0x1, 0, 0, 0, 1).rr(".", TypeOPT, 512, 0x01000000, rawData()).b
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Rcode != 17 || m.EDNS.Version != 0 {
		t.Errorf("rcode = %d", m.Rcode)
	}
}

func TestReadName(t *testing.T) {
	msg := header(0, 0, 0, 0, 0, 0).name("example.com").name("www.@12").name("a.b.@25").b
	cases := []struct {
		off      int
		want     string
		next     int
		wantErr  error
		dstStart string
	}{
		{off: 12, want: "example.com", next: 25},
		{off: 25, want: "www.example.com", next: 31},
		{off: 31, want: "a.b.www.example.com", next: 37},
		{off: 24, want: ".", next: 25},
		{off: 37, wantErr: ErrShort},
		{off: 12, want: "example.com", next: 25, dstStart: "keep|"},
	}
	for _, c := range cases {
		got, next, err := ReadName([]byte(c.dstStart), msg, c.off)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("off %d: err %v, want %v", c.off, err, c.wantErr)
			continue
		}
		if err != nil {
			if string(got) != c.dstStart {
				t.Errorf("off %d: dst changed on error: %q", c.off, got)
			}
			continue
		}
		if string(got) != c.dstStart+c.want || next != c.next {
			t.Errorf("off %d: got %q next %d, want %q %d", c.off, got, next, c.dstStart+c.want, c.next)
		}
	}
}

// A chain of backward pointers, each to the previous one, must terminate
// and respect the length limit.
func TestReadNamePointerChain(t *testing.T) {
	w := header(0, 0, 0, 0, 0, 0)
	w.raw(1, 'a', 0)
	prev := 12
	for i := 0; i < 300; i++ {
		at := len(w.b)
		w.raw(1, 'a').u16(0xC000 | uint16(prev))
		prev = at
	}
	_, _, err := ReadName(nil, w.b, prev)
	if !errors.Is(err, ErrNameTooLong) {
		t.Errorf("err = %v, want ErrNameTooLong", err)
	}
}

func TestParseAllocs(t *testing.T) {
	var m Message
	for _, tc := range parseCases() {
		Parse(tc.msg, &m)
	}
	msg := parseCases()[1].msg
	if n := testing.AllocsPerRun(100, func() { Parse(msg, &m) }); n > 0 {
		t.Errorf("Parse allocates %v times per message with a reused Message", n)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"query-a", "response-cname-chain", "mdns-announce", "https-svcb"} {
		var msg []byte
		for _, c := range parseCases() {
			if c.name == name {
				msg = c.msg
			}
		}
		b.Run(name, func(b *testing.B) {
			var m Message
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
