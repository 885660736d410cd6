package dns

import (
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// lazySink is a prototest.Sink that records whether a Lazy event was
// built, as the engine does only when events are written.
type lazySink struct {
	prototest.Sink
	build bool
	built []Event
}

func (s *lazySink) Emit(typ string, m proto.Meta, fields any) {
	r := fields.(*Record)
	if s.build {
		s.built = append(s.built, r.Fields().(Event))
	}
	s.Sink.Emit(typ, m, r.Variant)
}

// TestDatagramSpec: the variant comes from the ports, queries' names go to
// the leak scan (answers' do not), malformed messages are counted, and the
// event form is built only when asked for.
func TestDatagramSpec(t *testing.T) {
	query := header(7, 0x0100, 1, 0, 0, 0).question("phone.example.com", TypeA, 1).b
	answer := header(7, 0x8180, 1, 1, 0, 0).question("phone.example.com", TypeA, 1).
		rr("phone.example.com", TypeA, 1, 60, rawData(192, 0, 2, 1)).b
	tests := []struct {
		name      string
		port      uint16
		build     bool
		msgs      [][]byte
		variant   string
		scanned   []string
		malformed uint64
	}{
		{"dns query and answer", 53, false, [][]byte{query, answer}, "dns", []string{"phone.example.com"}, 0},
		{"mdns, events built", 5353, true, [][]byte{answer}, "mdns", nil, 0},
		{"llmnr, malformed", 5355, false, [][]byte{query[:5]}, "llmnr", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := DatagramSpec()
			in := proto.DetectInput{ServerPort: tt.port, ClientPort: 40000}
			if sp.Detect(in) != proto.Yes {
				t.Fatal("not detected")
			}
			s := &lazySink{build: tt.build}
			d := sp.Make(s, in).(proto.DatagramDecoder)
			for i, b := range tt.msgs {
				dir := proto.ToServer
				if i > 0 {
					dir = proto.ToClient
				}
				d.Datagram(dir, b, proto.Meta{Frame: uint64(i + 1)})
			}
			if len(s.Events) != len(tt.msgs) || s.Events[0].Fields != tt.variant {
				t.Fatalf("events %+v, want %d of variant %s", s.Events, len(tt.msgs), tt.variant)
			}
			if !slices.Equal(s.Scanned("dns.qname"), tt.scanned) {
				t.Errorf("scanned %q, want %q", s.Scanned("dns.qname"), tt.scanned)
			}
			if s.Counts["dns_malformed"] != tt.malformed {
				t.Errorf("dns_malformed = %d, want %d", s.Counts["dns_malformed"], tt.malformed)
			}
			if tt.build && (len(s.built) != 1 || len(s.built[0].Answers) != 1 || s.built[0].Variant != "mdns") {
				t.Errorf("built events %+v", s.built)
			}
		})
	}
}
