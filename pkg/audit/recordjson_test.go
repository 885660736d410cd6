package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// oddStrings need every escape encoding/json makes.
var oddStrings = []string{"", "tcp", "192.168.1.10:443", "[fe80::1]:5353", "a<b>&c", `q"uote\back`, "tab\there\r\n",
	"\x00\x1f\x7f", "caf\xc3\xa9", "bad\xffutf8", "line\u2028sep\u2029", "\u202eevil", "emoji 😀", "x\xed\xa0\x80y",
	"pair:mac:02:00:00:00:00:01/10.0.0.2>ip:1.2.3.4/1.2.3.4", "<", ">>&&<<", "&x<", "<é>", "a>\"b"}

func flowCases() []Flow {
	base := Flow{ID: 7, Transport: "tcp", Client: "10.0.0.2:5000", Server: "1.2.3.4:443", PacketsUp: 1, PacketsDown: 2,
		BytesUp: 3, BytesDown: 1 << 63, PayloadUp: 5, PayloadDown: 6, FirstFrame: 9,
		First: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), Last: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)}
	fs := []Flow{{}, base}
	full := base
	full.Device, full.Input, full.Protocol, full.Name, full.NameSource, full.Channel, full.State, full.GapBytes =
		"mac:02:00:00:00:00:01", "a.pcap", "tls", "example.com", "sni", "TLS1.3", "closed", 12
	fs = append(fs, full)
	for _, s := range oddStrings {
		f := full
		f.Transport, f.Client, f.Server, f.Device, f.Input, f.Protocol, f.Name, f.NameSource, f.Channel, f.State = s, s, s, s, s, s, s, s, s, s
		fs = append(fs, f)
	}
	local := base
	local.First = time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	local.Last = time.Time{}
	return append(fs, local)
}

// Flow.AppendJSON writes what encoding/json writes, after what b holds.
func TestFlowAppendJSON(t *testing.T) {
	for i, f := range flowCases() {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.AppendJSON([]byte("prefix"))
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("case %d: got %s (%v)\nwant %s", i, got, err, want)
		}
	}
	// Years encoding/json refuses are refused, and b is kept.
	f := flowCases()[1]
	f.Last = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := json.Marshal(f); err == nil {
		t.Fatal("encoding/json took the year 10000")
	}
	if got, err := f.AppendJSON([]byte("kept")); err == nil || string(got) != "kept" {
		t.Errorf("year 10000: %q, %v", got, err)
	}
}

// eventReference is Event's encoding as encoding/json writes its parts
// (a JSONAppender's object as it writes it).
func eventReference(t *testing.T, e Event) []byte {
	t.Helper()
	enc := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":`)
	buf.Write(enc(e.Type))
	buf.WriteString(`,"frame":`)
	buf.Write(enc(e.Frame))
	if e.Input != "" {
		buf.WriteString(`,"input":`)
		buf.Write(enc(e.Input))
	}
	buf.WriteString(`,"ts":`)
	buf.Write(enc(e.Time.UTC()))
	if e.FlowID != 0 {
		buf.WriteString(`,"flow_id":`)
		buf.Write(enc(e.FlowID))
	}
	if e.Fields != nil {
		body := enc(e.Fields)
		if a, ok := e.Fields.(JSONAppender); ok {
			body, _ = a.AppendJSON(nil)
		}
		if len(body) > 2 && body[0] == '{' {
			buf.WriteByte(',')
			buf.Write(body[1 : len(body)-1])
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

type appenderFields struct{ s string }

func (a appenderFields) AppendJSON(b []byte) ([]byte, error) {
	if a.s == "" {
		return append(b, "{}"...), nil
	}
	q, _ := json.Marshal(map[string]string{"s": a.s})
	return append(b, q...), nil
}

func eventCases() []Event {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("y", -7200))
	var evs []Event
	for _, s := range oddStrings {
		evs = append(evs,
			Event{Type: s, Frame: 3, Input: s, Time: at, Fields: map[string]any{"k": s, "n": 1}},
			Event{Type: "http", Frame: 1 << 40, Time: at, FlowID: 9, Fields: appenderFields{s}},
			Event{Type: "dns", Time: time.Time{}, Fields: struct {
				A string `json:"a,omitempty"`
			}{s}})
	}
	return append(evs, Event{}, Event{Type: "x", Fields: "not an object"})
}

// Event's encodings write the common keys and then the fields, as
// encoding/json writes each part; AppendJSONFlowLater appends to b and
// says where the flow ID goes.
func TestEventJSON(t *testing.T) {
	for i, e := range eventCases() {
		want := eventReference(t, e)
		got, err := json.Marshal(e)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d: MarshalJSON %s (%v)\nwant %s", i, got, err, want)
		}
		if e.FlowID != 0 {
			if _, _, err := e.AppendJSONFlowLater(nil); err == nil {
				t.Errorf("case %d: AppendJSONFlowLater took a flow ID", i)
			}
			continue
		}
		later, at, err := e.AppendJSONFlowLater([]byte("pre"))
		if err != nil {
			t.Fatal(err)
		}
		withID := e
		withID.FlowID = 42
		full := string(later[:at]) + `,"flow_id":42` + string(later[at:])
		if want := "pre" + string(eventReference(t, withID)); full != want {
			t.Errorf("case %d: flow ID inserted at %d: %s\nwant %s", i, at, full, want)
		}
	}
}

// FuzzRecordJSON: Flow.AppendJSON and Event's encoding equal
// encoding/json's for any strings, numbers and times.
func FuzzRecordJSON(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, s, uint64(len(s)), int64(1714550000), int64(123))
	}
	f.Add("", "", uint64(0), int64(-62135596800), int64(0))
	f.Add("tcp", "x", uint64(1)<<63, int64(253402300799), int64(999999999))
	f.Fuzz(func(t *testing.T, a, b string, n uint64, sec, nsec int64) {
		ts := time.Unix(sec, nsec)
		fl := Flow{ID: n, Transport: a, Client: b, Server: a + b, Device: b, PacketsUp: n, FirstFrame: n >> 1,
			Input: a, First: ts, Last: ts.UTC(), Protocol: b, Name: a, NameSource: b, Channel: a, State: b, GapBytes: n}
		want, werr := json.Marshal(fl)
		got, gerr := fl.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("flow: %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
		for _, e := range []Event{
			{Type: a, Frame: n, Input: b, Time: ts, Fields: map[string]string{a: b}},
			{Type: b, Time: ts, FlowID: n, Fields: appenderFields{a}},
		} {
			if _, err := json.Marshal(e.Time.UTC()); err != nil {
				if _, err := json.Marshal(e); err == nil {
					t.Fatalf("event with time %v encoded", e.Time)
				}
				continue
			}
			if got, err := json.Marshal(e); err != nil || !bytes.Equal(got, eventReference(t, e)) {
				t.Fatalf("event: %s (%v)\nwant %s", got, err, eventReference(t, e))
			}
		}
	})
}

// BenchmarkFlowAppendJSON encodes a typical flow record (the spool
// encodes every flow of a json or ndjson run).
func BenchmarkFlowAppendJSON(b *testing.B) {
	f := Flow{Transport: "udp", Client: "192.168.1.23:51234", Server: "[2001:db8::53]:53", Device: "mac:02:00:00:00:00:01",
		PacketsUp: 3, PacketsDown: 3, BytesUp: 312, BytesDown: 1290, PayloadUp: 120, PayloadDown: 1002, FirstFrame: 1234567,
		First: time.Date(2026, 12, 2, 7, 35, 0, 123456789, time.UTC), Last: time.Date(2026, 12, 2, 7, 35, 1, 120000000, time.UTC),
		Protocol: "dns", Name: "connectivity-check.example.com", NameSource: "dns", Channel: "plaintext", State: "timeout"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = f.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendJSONString quotes a provisional device ID (the flows of
// a pending pair carry one until the merge renames it).
func BenchmarkAppendJSONString(b *testing.B) {
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSONString(buf[:0], "pair:mac:02:00:00:00:00:01/192.168.1.23>ip:192.0.2.53/192.0.2.53")
	}
}
