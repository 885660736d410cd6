package engine

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/quicdecrypt"
	"github.com/phonehome/phonehome/pkg/tlsdecrypt"
)

// Decryption of TLS and QUIC with key logs (docs/decryption.md). The run's
// key log is a copy of Config.Keys (the --keylog files) to which the
// secrets of pcapng Decryption Secrets Blocks are added as the reader meets
// them. A TLS or QUIC flow whose decoder is made while the key log holds
// secrets gets a decrypting decoder around the TLS or QUIC one: the
// plaintext goes to the stream Spec its first bytes choose (HTTP/1.x,
// HTTP/2, MQTT...), HTTP/3 to pkg/proto/http3, through a Sink that reports
// to the flow like its own decoders do.
//
// Secrets arriving in a Decryption Secrets Block are added while every
// worker is idle, after the packets read before the block were processed:
// whether a flow sees them depends only on where the block sits in the
// capture, not on timing, and no worker reads the key log while it grows.

// decryptState is a session's decryption outcome, for counting at its end.
type decryptState struct {
	tls  *tlsdecrypt.Decoder
	quic *quicdecrypt.Decoder
	// before is "tls" or "quic" for a session whose decoder was made while
	// the key log was empty: secrets that a pcapng block brings later
	// cannot decrypt it, and it counts as "no key" ("before-keys") when
	// the run ends with secrets.
	before string
}

// Sessions made before any secret share these, so that runs without key
// logs allocate nothing for decryption.
var (
	beforeTLS  = &decryptState{before: "tls"}
	beforeQUIC = &decryptState{before: "quic"}
)

// initDecryption prepares the run's key log and the pcapng hand-over.
func (e *engine) initDecryption() {
	if e.cfg.Keys != nil {
		e.keys = e.cfg.Keys.Clone()
		e.keysGiven = e.cfg.Keys.Stats()
	}
	e.cfg.Capture.DecryptionSecrets = e.secretsBlock
	e.shareKeys()
}

func (e *engine) shareKeys() {
	for _, w := range e.pool.workers {
		w.keys = e.keys
	}
}

// secretsBlock adds the secrets of one pcapng Decryption Secrets Block
// once the workers have processed every packet read before it.
func (e *engine) secretsBlock(body []byte, order binary.ByteOrder) {
	e.pool.quiesce()
	if e.keys == nil {
		e.keys = keylog.New()
		e.shareKeys()
	}
	ok, err := e.keys.AddDSB(body, order)
	switch {
	case err != nil:
		e.counter["keylog_pcapng_blocks_malformed"]++
	case ok:
		e.counter["keylog_pcapng_blocks"]++
	default:
		e.counter["keylog_pcapng_blocks_other"]++ // SSH, WireGuard, ... secrets
	}
}

// quiesce hands every worker its pending batch and waits until each has
// processed everything sent so far.
func (pl *pool) quiesce() {
	var wg sync.WaitGroup
	for g := range pl.in {
		pl.send(g)
		wg.Add(1)
		pl.in[g] <- &batch{done: &wg}
	}
	wg.Wait()
}

// decrypting wraps the decoder sp made for a flow in a decrypting one when
// the key log holds secrets and sp is TLS or QUIC.
func (s *session) decrypting(sp *proto.Spec, d proto.Decoder, in proto.DetectInput) proto.Decoder {
	keys := s.w.keys
	if d == nil || sp.Name != "tls" && sp.Name != "quic" {
		return d
	}
	if keys == nil || keys.Len() == 0 {
		s.crypt = beforeTLS
		if sp.Name == "quic" {
			s.crypt = beforeQUIC
		}
		return d
	}
	switch sp.Name {
	case "tls":
		hello, ok := d.(proto.StreamDecoder)
		if !ok {
			return d
		}
		dec := tlsdecrypt.NewDecoder(tlsdecrypt.DecoderConfig{Keys: keys, Hello: hello, Pick: s.pickPlaintext,
			ServerPort: in.ServerPort, ClientPort: in.ClientPort})
		s.crypt = &decryptState{tls: dec}
		return dec
	case "quic":
		ini, ok := d.(proto.DatagramDecoder)
		if !ok {
			return d
		}
		dec := quicdecrypt.NewDecoder(quicdecrypt.DecoderConfig{Keys: keys, Initial: ini, Sink: &decryptedSink{s}})
		s.crypt = &decryptState{quic: dec}
		return dec
	}
	return d
}

// pickPlaintext chooses the decoder of a TLS connection's plaintext from
// the stream Specs, as for a TCP flow (TLS inside TLS is not followed).
func (s *session) pickPlaintext(in proto.DetectInput) (proto.StreamDecoder, proto.Verdict) {
	more := false
	for i := range s.w.specs.streams {
		sp := &s.w.specs.streams[i]
		if sp.Name == "tls" {
			continue
		}
		switch sp.Detect(in) {
		case proto.Yes:
			if d, ok := sp.Make(&decryptedSink{s}, in).(proto.StreamDecoder); ok {
				s.w.counter["decrypted_inner_"+sp.Name]++
				return d, proto.Yes
			}
		case proto.NeedMore:
			more = true
		}
	}
	if more {
		return nil, proto.NeedMore
	}
	s.w.counter["decrypted_inner_unknown"]++
	return &plainScan{s: s}, proto.Yes
}

// decryptedSink is the Sink of decoders that read decrypted bytes: the
// flow's own, except that a protocol switch inside TLS is not followed
// (the rest of the plaintext is not decoded) and findings about secrets
// sent without TLS do not apply.
type decryptedSink struct{ *session }

func (d *decryptedSink) Switch(to string, up, down []byte, m proto.Meta) {
	d.w.counter["decrypted_switches_not_followed"]++
}

func (d *decryptedSink) Finding(f proto.Finding) {
	if strings.HasSuffix(f.Kind, "-cleartext") {
		d.w.counter["decrypted_cleartext_findings_dropped"]++
		return
	}
	d.session.Finding(f)
}

// plainScan leak-scans the plaintext no Spec claimed (the client's first
// 64 KiB), as the engine scans unknown payload sent in clear.
type plainScan struct {
	s       *session
	scanned int
}

func (p *plainScan) Data(dir proto.Dir, b []byte, m proto.Meta) {
	if dir != proto.ToServer || p.scanned >= scanUnknown {
		return
	}
	n := min(len(b), scanUnknown-p.scanned)
	p.scanned += n
	p.s.Scan(proto.Field{Location: "tls.plaintext", Data: b[:n]}, m)
}
func (p *plainScan) Gap(proto.Dir, int, proto.Meta) {}
func (p *plainScan) End(proto.Meta)                 {}

// decryptOutcome is the flow's decryption outcome, "" when it had no
// decrypting decoder.
func (s *session) decryptOutcome() (kind, outcome, reason string) {
	switch {
	case s.crypt == nil:
	case s.crypt.tls != nil:
		o, r := s.crypt.tls.Outcome()
		return "tls", o, r
	case s.crypt.quic != nil:
		o, r := s.crypt.quic.Outcome()
		return "quic", o, r
	case s.crypt.before != "":
		return s.crypt.before, "no-key", "before-keys"
	}
	return "", "", ""
}

// countDecryption counts a finished flow's decryption outcome.
func (w *worker) countDecryption(s *session) {
	kind, o, r := s.decryptOutcome()
	if kind == "" {
		return
	}
	w.counter[kind+"_sessions_"+strings.ReplaceAll(o, "-", "_")]++
	if r != "" && r != "no-key" {
		w.counter[kind+"_decrypt_stopped_"+strings.ReplaceAll(r, "-", "_")]++
	}
	switch {
	case s.crypt.tls != nil:
		st := s.crypt.tls.Status()
		w.counter["tls_decrypted_bytes"] += uint64(st.Bytes[0] + st.Bytes[1])
	case s.crypt.quic != nil:
		st := s.crypt.quic.Status()
		w.counter["quic_decrypted_bytes"] += uint64(st.StreamBytes[0] + st.StreamBytes[1])
	}
}

// addDecryption counts a flow's outcome into a destination's counts.
func addDecryption(d *audit.Decryption, s *session) *audit.Decryption {
	_, o, r := s.decryptOutcome()
	if o == "" {
		return d
	}
	if d == nil {
		d = &audit.Decryption{}
	}
	d.Add(o, r)
	return d
}

// keyLogCounts counts the run's key log and warns about the bad lines of
// the Decryption Secrets Blocks (those of the --keylog files were reported
// by the command line).
func (e *engine) keyLogCounts() {
	if e.keys == nil {
		return
	}
	st := e.keys.Stats()
	for _, b := range st.BadLines[min(len(e.keysGiven.BadLines), len(st.BadLines)):] {
		e.warn(audit.Warning{Code: "keylog-bad-line", Message: fmt.Sprintf("%s, line %d: key log line not used: %s", b.Source, b.Line, b.Reason)})
	}
	e.counter["keylog_secrets"] = uint64(st.Entries)
	e.counter["keylog_sessions"] = uint64(e.keys.Len())
	e.counter["keylog_duplicates"] = uint64(st.Duplicates)
	e.counter["keylog_bad_lines"] = uint64(st.Bad)
}

// decryptionSummary is the capture's decryption counts, from the run's
// counters (each flow counted once at its end); nil when nothing was
// counted (no key logs).
func decryptionSummary(c map[string]uint64) *audit.Decryption {
	var d audit.Decryption
	for _, kind := range []string{"tls", "quic"} {
		d.Decrypted += int(c[kind+"_sessions_decrypted"])
		d.NoKey += int(c[kind+"_sessions_no_key"])
		d.Failed += int(c[kind+"_sessions_failed"])
		prefix := kind + "_decrypt_stopped_"
		for k, v := range c {
			if r, ok := strings.CutPrefix(k, prefix); ok {
				if d.Stopped == nil {
					d.Stopped = map[string]int{}
				}
				d.Stopped[strings.ReplaceAll(r, "_", "-")] += int(v)
			}
		}
	}
	if d.Sessions() == 0 {
		return nil
	}
	return &d
}

// finishDecryption writes the capture's decryption counts, or, when the
// run never had a secret, removes every count: without key logs a report
// says nothing about decryption.
func (e *engine) finishDecryption() {
	c := e.report.Counters
	if e.keys == nil || e.keys.Len() == 0 {
		for k := range c {
			if strings.HasPrefix(k, "tls_sessions_") || strings.HasPrefix(k, "quic_sessions_") ||
				strings.HasPrefix(k, "tls_decrypt") || strings.HasPrefix(k, "quic_decrypt") {
				delete(c, k)
			}
		}
		for i := range e.report.Devices {
			d := &e.report.Devices[i]
			d.Summary.Decryption = nil
			for j := range d.Destinations {
				d.Destinations[j].Decryption = nil
			}
		}
		return
	}
	d := decryptionSummary(c)
	e.report.Summary.Decryption = d
	if n := d.Stopped["auth"]; n > 0 {
		e.warn(audit.Warning{Code: "decryption-auth", Count: uint64(n),
			Message: fmt.Sprintf("%d TLS/QUIC sessions had secrets in the key logs that did not authenticate their records (a wrong or damaged key log, or corrupted capture bytes); nothing of them past that point was decrypted", n)})
	}
}
