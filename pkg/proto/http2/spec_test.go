package http2

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/prototest"
)

// runSink feeds every op of tc to a decoder made from Spec, also for the
// upgrade case: the engine hands an h2c upgrade to the same decoder.
func runSink(tc testCase, split func(int) int) *prototest.Sink {
	s := &prototest.Sink{}
	sinktest.Feed(Spec(tc.lim).New(s).(proto.StreamDecoder), s, tc.ops, split)
	return s
}

// TestDecoderSink checks what each connection reports through the Sink
// against golden files, whatever the segmentation.
func TestDecoderSink(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := sinktest.Render(runSink(tc, nil))
			golden.Check(t, filepath.Join("testdata", "sink-"+tc.name+".golden"), []byte(got))
			if g := sinktest.Render(runSink(tc, func(int) int { return 1 })); g != got {
				t.Errorf("bytewise split differs:\n%s", g)
			}
		})
	}
}

func TestDecoderReports(t *testing.T) {
	byName := map[string]testCase{}
	for _, tc := range cases() {
		byName[tc.name] = tc
	}

	s := runSink(byName["doh"], nil)
	var qnames, types []string
	for _, e := range s.Events {
		types = append(types, e.Type)
		if d, ok := e.Fields.(DoHEvent); ok {
			if d.Variant != "doh" || d.Message == nil {
				t.Errorf("doh event %+v", d)
			}
			for _, q := range d.Questions {
				qnames = append(qnames, q.Name)
			}
		}
	}
	// Query and answer of stream 1, then of stream 3, each before its http event.
	if g := strings.Join(types, " "); g != "dns dns http dns dns http" {
		t.Errorf("doh: event types %q", g)
	}
	if g := strings.Join(qnames, " "); g != "tracker.example.net tracker.example.net cdn.example.org cdn.example.org" {
		t.Errorf("doh: question names %q", g)
	}
	if g := s.Scanned("dns.qname"); strings.Join(g, " ") != "tracker.example.net cdn.example.org" {
		t.Errorf("doh: scanned qnames %q", g)
	}
	if len(s.Findings) != 1 || s.Findings[0].Kind != FindingDoH || s.Findings[0].Severity.String() != "medium" ||
		!strings.Contains(s.Findings[0].Message, "dns.google") {
		t.Errorf("doh: findings %+v, want one %s naming dns.google", s.Findings, FindingDoH)
	}

	s = runSink(byName["prior-knowledge"], nil)
	var names []string
	for _, n := range s.Names {
		names = append(names, string(n.Source)+":"+n.Name)
	}
	if g := strings.Join(names, " "); g != "http-host:api.example.com" {
		t.Errorf("prior-knowledge: names %q", g)
	}
	var body *proto.Field
	for i, f := range s.Fields {
		if f.Location == "body" {
			body = &s.Fields[i]
		}
	}
	if body == nil || string(body.Data) != `{"email":"alice@example.com"}` || strings.Join(body.Codings, ",") != "gzip" {
		t.Errorf("prior-knowledge: body field %+v, want the gunzipped JSON with codings [gzip]", body)
	}
	if len(s.Findings) != 0 {
		t.Errorf("prior-knowledge: findings %+v", s.Findings)
	}
	for _, e := range s.Events {
		if ev, ok := e.Fields.(*Event); ok {
			for _, b := range []*Body{reqBody(ev), respBody(ev)} {
				if b != nil && b.Data != nil {
					t.Errorf("emitted http event keeps a body")
				}
			}
		}
	}

	// Upgrade through the plain decoder: stream 1 answers the HTTP/1.1
	// request, as NewUpgrade says.
	s = runSink(byName["upgrade"], nil)
	if len(s.Events) != 2 {
		t.Fatalf("upgrade: %d events", len(s.Events))
	}
	if ev := s.Events[0].Fields.(*Event); ev.StreamID != 1 || ev.Response == nil || ev.Response.Status != 200 || !slices.Contains(ev.Flags, "upgrade") {
		t.Errorf("upgrade: stream 1 %+v", ev)
	}
}

func TestSpecDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		up, down string
		want     proto.Verdict
	}{
		{"nothing yet", "", "", proto.NeedMore},
		{"server first", "", "HTTP/1.1 200 OK\r\n", proto.No},
		{"preface", Preface, "", proto.Yes},
		{"preface start", "PRI ", "", proto.Yes},
		{"short prefix", "PR", "", proto.NeedMore},
		{"http1", "GET / HTTP/1.1\r\n", "", proto.No},
		{"PRIVMSG", "PRIVMSG #x :hi\r\n", "", proto.No},
	} {
		in := proto.DetectInput{Up: []byte(tc.up), Down: []byte(tc.down), ServerPort: 80}
		if got := Spec(Limits{}).Detect(in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// checkSink fails when an emitted event still holds a secret or a body
// the decoder scanned (the engine writes events as they are).
func checkSink(t *testing.T, s *prototest.Sink) {
	t.Helper()
	for _, e := range s.Events {
		if kept(e.Fields) {
			t.Fatalf("emitted %s event keeps a secret or a body: %+v", e.Type, e.Fields)
		}
	}
	_ = sinktest.Render(s)
}

func kept(f any) bool {
	switch ev := f.(type) {
	case DoHEvent:
		return false
	case *Event:
		for _, b := range []*Body{reqBody(ev), respBody(ev)} {
			if b != nil && b.Data != nil {
				return true
			}
		}
		return len(ev.DNS) > 0
	}
	return true
}

// TestDecoderCountsParamLimit: a request cut at maxParams is counted.
func TestDecoderCountsParamLimit(t *testing.T) {
	for _, tc := range cases() {
		want := uint64(0)
		if tc.name == "param-limit" {
			want = 1
		}
		if got := runSink(tc, nil).Counts["http2_param_limit"]; got != want {
			t.Errorf("%s: http2_param_limit = %d, want %d", tc.name, got, want)
		}
	}
}
