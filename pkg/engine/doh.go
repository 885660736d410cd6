package engine

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http2"
)

// Names from DNS over HTTPS. A DoH answer is read deep inside its flow
// (HTTP/2 frames, in clear or decrypted with a key log) by the worker that
// owns the flow, while the other goroutines are elsewhere in the capture:
// adding it to their name caches when it is read would name later flows
// differently with each number of goroutines. So a run whose first pass
// read DoH answers is made again, and in the second pass the reader hands
// each answer, as it hands DNS over TCP, to every goroutine's name cache
// right after the frame that carried it: a flow that starts later is named
// by it, on any number of goroutines, exactly as by a DNS answer over UDP
// (docs/events.md, "Naming flows from DNS"). Runs without DoH answers make
// one pass; runs with them cost two. Standard input cannot be read twice:
// there the answers name nothing (warning doh-names-stdin).

// Caps on the answers kept per worker for the second pass (each worker's
// answers come in its packet order, so what a cap keeps does not depend on
// timing).
const (
	maxDoHAnswers = 4096
	maxDoHBytes   = 4 << 20
)

// dohState is shared by the passes of one Run.
type dohState struct {
	mu      sync.Mutex
	byW     map[*worker]*dohLog // first pass: what each worker read
	answers []dohAnswer         // second pass: every answer, in frame order
	next    int                 // second pass: answers handed to the caches
}

type dohLog struct {
	answers []dohAnswer
	bytes   int
	dropped uint64
}

// dohAnswer is one DoH response as its client received it.
type dohAnswer struct {
	frame          uint64 // run-wide frame number
	time           time.Time
	client, server netip.AddrPort
	msg            []byte // the DNS message
}

// record keeps a DoH answer read by w in the first pass (observe).
func (st *dohState) record(w *worker, s *session, ev http2.DoHEvent, m proto.Meta) {
	if st == nil || st.answers != nil || ev.Message == nil || !ev.Message.Response || len(ev.Raw) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byW == nil {
		st.byW = map[*worker]*dohLog{}
	}
	l := st.byW[w]
	if l == nil {
		l = &dohLog{}
		st.byW[w] = l
	}
	if len(l.answers) >= maxDoHAnswers || l.bytes+len(ev.Raw) > maxDoHBytes {
		l.dropped++
		return
	}
	l.bytes += len(ev.Raw)
	l.answers = append(l.answers, dohAnswer{frame: m.Frame, time: m.Time, client: s.f.Client, server: s.f.Server, msg: bytes.Clone(ev.Raw)})
}

// collected returns the first pass's answers in frame order (ties by
// addresses and bytes), and how many the caps dropped.
func (st *dohState) collected() ([]dohAnswer, uint64) {
	var all []dohAnswer
	var dropped uint64
	for _, l := range st.byW {
		all = append(all, l.answers...)
		dropped += l.dropped
	}
	slices.SortFunc(all, func(a, b dohAnswer) int {
		return cmp.Or(cmp.Compare(a.frame, b.frame), a.client.Compare(b.client), a.server.Compare(b.server), bytes.Compare(a.msg, b.msg))
	})
	return all, dropped
}

// injectDoH hands the name caches, in the second pass, the answers carried
// by frames before frame (called by the reader before it decodes frame).
func (e *engine) injectDoH(frame uint64) {
	st := e.cfg.doh
	if st == nil || st.answers == nil {
		return
	}
	for ; st.next < len(st.answers) && st.answers[st.next].frame < frame; st.next++ {
		a := &st.answers[st.next]
		p := flow.Packet{Frame: a.frame, Time: a.time, Proto: flow.ProtoTCP,
			Src: a.server.Addr(), SrcPort: a.server.Port(), Dst: a.client.Addr(), DstPort: a.client.Port(),
			Payload: a.msg, Claimed: len(a.msg)}
		for g := range e.pool.groups {
			e.pool.add(g, &p, 0, true)
		}
		e.counter["doh_answers_cached"]++
	}
}

// Run analyses the inputs in order, as one capture: flows continue across
// files (rotated captures), frame numbers restart in each file as in
// Wireshark. It returns the report and, when something went wrong, an
// error wrapping ErrInput (no report) or ErrDamaged (partial report).
// A run that read DNS-over-HTTPS answers is made twice (see above).
func Run(ctx context.Context, cfg Config, inputs []string) (*audit.Report, error) {
	st := &dohState{}
	cfg.doh = st
	rep, err := runPass(ctx, cfg, inputs)
	answers, dropped := st.collected()
	if len(answers) == 0 || err != nil && !errors.Is(err, ErrDamaged) {
		return rep, err
	}
	if slices.Contains(inputs, "-") {
		rep.Warnings = append(rep.Warnings, audit.Warning{Code: "doh-names-stdin",
			Message: "DNS-over-HTTPS answers were read, but naming later flows by them needs a second pass over the input, and standard input cannot be read twice"})
		return rep, err
	}
	if rep != nil && rep.Records != nil {
		rep.Records.Close()
	}
	st.answers = answers
	rep, err = runPass(ctx, cfg, inputs)
	if rep != nil && dropped > 0 {
		rep.Counters["doh_answers_dropped"] += dropped
	}
	return rep, err
}
