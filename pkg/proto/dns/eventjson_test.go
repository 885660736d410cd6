package dns

import (
	"bytes"
	"encoding/json"
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
