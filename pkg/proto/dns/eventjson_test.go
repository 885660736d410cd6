package dns

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
)

// plainEvent is Event without its MarshalJSON: encoding/json's reflective
// encoding from the struct tags, which MarshalJSON must reproduce.
type plainEvent Event

func checkEventJSON(t *testing.T, e Event) {
	t.Helper()
	want, err := json.Marshal(plainEvent(e))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON differs from encoding/json:\ngot  %s\nwant %s", got, want)
	}
	if viaMarshal, _ := json.Marshal(e); !bytes.Equal(viaMarshal, want) {
		t.Fatalf("json.Marshal differs:\ngot  %s\nwant %s", viaMarshal, want)
	}
}

func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range parseCases() {
		var m Message
		err := Parse(c.msg, &m)
		checkEventJSON(t, NewEvent(&m, "mdns", err))
	}
	odd := []string{"", "a\"b\\c", "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f", "\u2028\u2029",
		"\xff\xfe broken \xc3", "é, 中文, 😀", "\\x00"}
	for _, s := range odd {
		checkEventJSON(t, Event{Variant: s, Opcode: s, Rcode: s, Flags: []string{s, s}, Error: s,
			Questions: []QuestionEvent{{Name: s, Type: s, Class: s, UnicastResponse: true}},
			Answers: []RecordEvent{{Name: s, Type: s, Class: s, CacheFlush: true, TTL: 4294967295, Data: s,
				Strings: []string{s}, ALPN: []string{s}, Hints: []string{s}, Port: 65535, ECH: true, Length: 9}},
			Authority:  []RecordEvent{{}},
			Additional: []RecordEvent{{Name: s}, {Type: s}},
			EDNS:       &EDNSEvent{UDPSize: 1232, Version: 255, DO: true, ClientSubnet: s}})
	}
	checkEventJSON(t, Event{})
}

func BenchmarkEventJSON(b *testing.B) {
	var m Message
	var msg []byte
	for _, c := range parseCases() {
		if len(c.msg) > len(msg) {
			msg = c.msg
		}
	}
	err := Parse(msg, &m)
	e := NewEvent(&m, "dns", err)
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(plainEvent(e))
		}
	})
	b.Run("json.Marshal", func(b *testing.B) { // MarshalJSON and encoding/json's check of its output
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(any(e))
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.MarshalJSON()
		}
	})
}

// checkRecordJSON: a Record's TransientFields write what its Event does.
func checkRecordJSON(t *testing.T, m *Message, variant string, err error) {
	t.Helper()
	want, _ := NewEvent(m, variant, err).AppendJSON([]byte("prefix"))
	r := &Record{Msg: m, Variant: variant, Err: err}
	got, gerr := r.TransientFields().(interface {
		AppendJSON([]byte) ([]byte, error)
	}).AppendJSON([]byte("prefix"))
	if gerr != nil || !bytes.Equal(got, want) {
		t.Fatalf("TransientFields differ from the Event (%v):\ngot  %s\nwant %s", gerr, got, want)
	}
	r.Event() // built: written from the Event
	if again, _ := r.TransientFields().(interface {
		AppendJSON([]byte) ([]byte, error)
	}).AppendJSON([]byte("prefix")); !bytes.Equal(again, want) {
		t.Fatalf("TransientFields of a built Record differ:\ngot  %s\nwant %s", again, want)
	}
}

func TestRecordJSON(t *testing.T) {
	for _, c := range parseCases() {
		var m Message
		err := Parse(c.msg, &m)
		for _, v := range []string{"dns", "mdns", "x\"<y>"} {
			checkRecordJSON(t, &m, v, err)
		}
	}
	s := []byte("a\"b\\c<script>&amp;\t\n\x00\x1f\x7f\u2028 é 中文 😀 \xff\xfe broken \xc3")
	m := Message{ID: 65535, Response: true, Opcode: 15, AA: true, TC: true, RD: true, RA: true, AD: true, CD: true, Rcode: 4095,
		Questions: []Question{{Name: s, Type: 65535, Class: 3, UnicastResponse: true}, {Name: []byte("x.example"), Type: TypeA, Class: 1}},
		Answers: []RR{
			{Name: s, Type: TypeA, Class: 1, TTL: 4294967295, Data: []byte{1, 2, 3, 4}, Addr: netip.MustParseAddr("192.0.2.1")},
			{Name: s, Type: TypeAAAA, Class: 255, CacheFlush: true, Addr: netip.MustParseAddr("::ffff:192.0.2.1")},
			{Name: s, Type: TypeA}, // no address: "invalid IP"
			{Name: s, Type: TypeCNAME, Target: s},
			{Name: s, Type: TypePTR},
			{Name: s, Type: TypeMX, Priority: 10, Target: []byte("mx.example")},
			{Name: s, Type: TypeSRV, Priority: 1, Weight: 2, Port: 443, Target: s},
			{Name: s, Type: TypeHTTPS, Priority: 1, Port: 8443, ECH: true, ALPN: [][]byte{[]byte("h2"), s},
				Hints: []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")}},
			{Name: s, Type: TypeTXT, Strings: [][]byte{s, nil, []byte("k=v")}},
			{Name: s, Type: TypeHINFO, Strings: [][]byte{[]byte("cpu"), []byte("os")}},
			{Name: s, Type: TypeOPT},
			{Name: s, Type: 999, Class: 4, Data: s},
		},
		Authority:  []RR{{Type: TypeOPT}},
		Additional: []RR{{Name: s, Type: TypeNS, Target: []byte("ns.example"), Class: 254}},
		EDNS:       EDNS{Present: true, UDPSize: 1232, Version: 255, DO: true, ClientSubnet: netip.MustParsePrefix("198.51.100.0/24")},
	}
	for _, err := range []error{nil, errors.New("a \"bad\" <message>")} {
		checkRecordJSON(t, &m, "mdns", err)
		checkRecordJSON(t, &Message{}, "dns", err)
		checkRecordJSON(t, &Message{Response: true, EDNS: EDNS{Present: true}}, "dns", err)
	}
	for _, s := range [][]byte{nil, []byte("plain"), []byte("\\x00"), []byte("\xff\\ok"), []byte("é\x01")} {
		if got := string(appendPrintable([]byte("p"), s)); got != "p"+printable(s) {
			t.Errorf("appendPrintable(%q) = %q, want %q", s, got, "p"+printable(s))
		}
	}
}

func BenchmarkRecordJSON(b *testing.B) {
	var m Message
	for _, c := range parseCases() {
		var mm Message
		if Parse(c.msg, &mm); len(mm.Answers) > len(m.Answers) {
			Parse(c.msg, &m)
		}
	}
	buf := make([]byte, 0, 4096)
	b.Run("Event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := Record{Msg: &m, Variant: "dns"}
			buf, _ = r.Event().AppendJSON(buf[:0])
		}
	})
	b.Run("TransientFields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := Record{Msg: &m, Variant: "dns"}
			buf, _ = (*recordJSON)(&r).AppendJSON(buf[:0])
		}
	})
}
