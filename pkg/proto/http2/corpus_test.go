package http2

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/internal/pcaptest"
	"github.com/phonehome/phonehome/internal/sinktest"
	"github.com/phonehome/phonehome/pkg/proto"
)

type truthHTTP2 struct {
	HTTP *struct {
		HTTP2 []struct {
			Frame     uint64 `json:"frame"`
			Method    string `json:"method"`
			Authority string `json:"authority"`
			Path      string `json:"path"`
		} `json:"http2_requests"`
	} `json:"http"`
	DNS *struct {
		QueryNames []string `json:"query_names"`
		Messages   []struct {
			Response []bool   `json:"response"`
			QNames   []string `json:"qnames"`
			A        []string `json:"a"`
		} `json:"messages"`
	} `json:"dns"`
}

// runConn feeds one reassembled connection to a Parser when it starts
// with the preface.
func runConn(c pcaptest.Conn) []*Event {
	var evs []*Event
	p := New(Limits{}, func(e *Event) { evs = append(evs, e) })
	first := true
	for _, ch := range c.Chunks {
		if first && ch.Dir == proto.ToServer && ch.Gap == 0 {
			if !Detect(ch.Data) {
				return nil
			}
			first = false
		}
		if ch.Gap > 0 {
			p.Gap(ch.Dir, ch.Gap, proto.Meta{Frame: ch.Frame})
		} else {
			p.Data(ch.Dir, ch.Data, proto.Meta{Frame: ch.Frame})
		}
	}
	p.End(proto.Meta{})
	return evs
}

// TestCorpusRequests compares, for every dev capture whose truth has HTTP/2
// requests, the requests (method, authority, path, frame) with tshark's and
// the DoH query names with tshark's DNS query names.
func TestCorpusRequests(t *testing.T) {
	var files int
	for _, e := range corpus.Dev(t) {
		var truth truthHTTP2
		corpus.LoadTruth(t, e, &truth)
		if truth.HTTP == nil || len(truth.HTTP.HTTP2) == 0 {
			continue
		}
		files++
		var want, got []string
		for _, r := range truth.HTTP.HTTP2 {
			want = append(want, fmt.Sprintf("frame %d %s %s %s", r.Frame, r.Method, r.Authority, r.Path))
		}
		names := map[string]bool{}
		for _, c := range pcaptest.Conns(t, e.Path) {
			for _, ev := range runConn(c) {
				if ev.Request != nil {
					got = append(got, fmt.Sprintf("frame %d %s %s %s", ev.Request.Frame, ev.Request.Method, ev.Request.Authority, ev.Request.URI))
				}
				if len(ev.Flags) > 0 {
					t.Logf("%s: stream %d flags %v", e.Name(), ev.StreamID, ev.Flags)
				}
				for _, d := range ev.DNS {
					if d.Err != nil {
						t.Errorf("%s: stream %d: DoH message: %v", e.Name(), ev.StreamID, d.Err)
					}
					for _, q := range d.Message.Questions {
						names[strings.ToLower(string(q.Name))] = true
					}
				}
			}
		}
		// tshark lists a frame's requests once per HTTP/2 frame it shows;
		// compare the multisets.
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: requests\n got %q\nwant %q", e.Name(), got, want)
		}
		if truth.DNS != nil {
			for _, n := range truth.DNS.QueryNames {
				if !names[strings.ToLower(n)] {
					t.Errorf("%s: DoH name %s missing (got %v)", e.Name(), n, names)
				}
			}
		}
		t.Logf("%s: %d requests, DoH names %d", e.Name(), len(got), len(names))
	}
	if files == 0 {
		t.Skip("no HTTP/2 in the dev truth")
	}
}

// TestCorpusSpec runs every connection through the Spec as the engine
// does: the DoH messages must come out as dns events whose question names
// are tshark's DNS query names, the requests as http events, the
// authority as the name, and one dns-over-https finding per resolver.
func TestCorpusSpec(t *testing.T) {
	var files int
	for _, e := range corpus.Dev(t) {
		var truth truthHTTP2
		corpus.LoadTruth(t, e, &truth)
		if truth.HTTP == nil || len(truth.HTTP.HTTP2) == 0 {
			continue
		}
		files++
		wantReq, wantNames, wantAuth := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, r := range truth.HTTP.HTTP2 {
			wantReq[fmt.Sprintf("%s %s %s", r.Method, r.Authority, r.Path)] = true
			wantAuth[r.Authority] = true
		}
		if truth.DNS != nil {
			for _, n := range truth.DNS.QueryNames {
				wantNames[strings.ToLower(n)] = true
			}
		}
		// tshark decodes the DoH answers (bodies), not the GET ?dns= queries:
		// compare the answers as "qname A..." lines, a multiset.
		var wantAnswers, gotAnswers []string
		if truth.DNS != nil {
			for _, m := range truth.DNS.Messages {
				if len(m.Response) > 0 && m.Response[0] {
					a := slices.Clone(m.A)
					sort.Strings(a)
					wantAnswers = append(wantAnswers, strings.Join(append(m.QNames, a...), " "))
				}
			}
		}
		gotReq, gotNames, gotAuth := map[string]bool{}, map[string]bool{}, map[string]bool{}
		findings := 0
		for _, c := range pcaptest.Conns(t, e.Path) {
			s := sinktest.Conn(Spec(Limits{}), c)
			if s == nil {
				continue
			}
			for _, ev := range s.Events {
				switch f := ev.Fields.(type) {
				case *Event:
					if f.Request != nil {
						gotReq[fmt.Sprintf("%s %s %s", f.Request.Method, f.Request.Authority, f.Request.URI)] = true
					}
				case DoHEvent:
					if ev.Type != "dns" || f.Variant != "doh" || f.Error != "" {
						t.Errorf("%s: DoH event %s %+v", e.Name(), ev.Type, f.Event)
					}
					for _, q := range f.Questions {
						gotNames[strings.ToLower(q.Name)] = true
					}
					if f.Response {
						var line, a []string
						for _, q := range f.Questions {
							line = append(line, q.Name)
						}
						for _, r := range f.Answers {
							if r.Type == "A" {
								a = append(a, r.Data)
							}
						}
						sort.Strings(a)
						gotAnswers = append(gotAnswers, strings.Join(append(line, a...), " "))
					}
				}
			}
			for _, n := range s.Names {
				gotAuth[n.Name] = true
			}
			for _, f := range s.Findings {
				if f.Kind == FindingDoH {
					findings++
				}
			}
		}
		for what, pair := range map[string][2]map[string]bool{"requests": {gotReq, wantReq}, "DoH names": {gotNames, wantNames}, "names": {gotAuth, wantAuth}} {
			if g, w := keys(pair[0]), keys(pair[1]); g != w {
				t.Errorf("%s: %s\n got %s\nwant %s", e.Name(), what, g, w)
			}
		}
		sort.Strings(wantAnswers)
		sort.Strings(gotAnswers)
		if strings.Join(gotAnswers, "\n") != strings.Join(wantAnswers, "\n") {
			t.Errorf("%s: DoH answers\n got %q\nwant %q", e.Name(), gotAnswers, wantAnswers)
		}
		if len(wantNames) > 0 && findings != len(wantAuth) {
			t.Errorf("%s: %d DoH findings, want one per resolver (%d)", e.Name(), findings, len(wantAuth))
		}
		t.Logf("%s: %d requests, DoH names %s, %d DoH answers as tshark's, %d DoH findings", e.Name(), len(gotReq), keys(gotNames), len(gotAnswers), findings)
	}
	if files == 0 {
		t.Skip("no HTTP/2 in the dev truth")
	}
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
