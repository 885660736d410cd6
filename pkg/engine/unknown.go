package engine

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/sniff"
)

// Payload no Spec claimed is profiled here rather than by a decoder of
// the list: a byte sample for the channel verdict and the "unknown" event,
// a bounded plaintext leak scan, and the search for a short XOR key. It
// needs what decoders never see: the leak scanner itself (DetectXOR) and
// the flow's leaks (masked in the event's first bytes).

const (
	sampleBytes = 4096
	scanUnknown = 64 << 10 // plaintext bytes of an unknown stream scanned for leaks, per direction
)

type unknownState struct {
	sample  []byte // first bytes sent by the client
	down    []byte // first bytes sent by the server
	scanned [2]int // plaintext bytes already leak-scanned
	opaque  bool   // looks encrypted: not leak-scanned
}

// unknownBytes takes payload no decoder claimed.
func (s *session) unknownBytes(dir proto.Dir, data []byte, m proto.Meta, datagram bool) {
	if s.unknown == nil {
		s.unknown = s.w.newUnknown()
	}
	u, w := s.unknown, s.w
	if dir == proto.ToServer {
		u.sample = appendSample(u.sample, data)
	} else {
		u.down = appendSample(u.down, data)
	}
	if dir != proto.ToServer || u.scanned[dir] >= scanUnknown || w.scanner == nil || u.opaque {
		return
	}
	n := min(len(data), scanUnknown-u.scanned[dir])
	if n >= 128 && leak.LooksEncrypted(data[:n]) {
		// Ciphertext-like bytes hold no readable identifier, and an XOR
		// of text with a short key is never this uniform: stop scanning.
		u.opaque = true
		w.counter["leak_scan_skipped_opaque_flows"]++
		return
	}
	u.scanned[dir] += n
	loc := "tcp.payload"
	if datagram {
		loc = "udp.payload"
	}
	w.scan(s, leak.Input{Location: loc, Data: data[:n]}, m)
}

// appendSample appends the start of data to a sample of at most
// sampleBytes, growing it by doubling up to that size (append alone would
// overshoot it: 3 KiB grow to 6 KiB).
func appendSample(sample, data []byte) []byte {
	n := min(len(data), sampleBytes-len(sample))
	if n <= 0 {
		return sample
	}
	if need := len(sample) + n; need > cap(sample) && sample != nil {
		sample = slices.Grow(sample, min(sampleBytes, max(need, 2*cap(sample)))-len(sample))
	}
	return append(sample, data[:n]...)
}

// endUnknown emits the "unknown" event of a flow no decoder recognised:
// first bytes, entropy, verdict.
func (w *worker) endUnknown(s *session) {
	u := s.unknown
	if s.proto != "" || u == nil || len(u.sample)+len(u.down) == 0 {
		return
	}
	if !w.eventsWanted() {
		w.countEvent("unknown") // all w.event would do: the profiles are for the event only
		return
	}
	ev := unknownEvent{Up: sniff.Analyze(u.sample)}
	if len(u.down) > 0 {
		d := sniff.Analyze(u.down)
		ev.Down = &d
	}
	if !w.cfg.ShowEvidence && len(s.leaks) > 0 {
		m := leak.NewMasker()
		for _, l := range s.leaks {
			m.AddLeak(l.Identifier, l.Value, slices.Concat(l.Spellings, []string{l.Value}))
		}
		maskHead(&ev.Up, m)
	}
	w.event(s, audit.Event{Type: "unknown", Frame: s.f.FirstFrame, Time: s.f.First.UTC(), FlowID: s.f.ID, Fields: ev})
}

// unknownChannel classifies the payload of a flow no decoder recognised,
// and finds identifiers hidden by XOR with a short fixed key.
func (w *worker) unknownChannel(s *session) string {
	u := s.unknown
	if u == nil || len(u.sample) == 0 && len(u.down) == 0 {
		return ""
	}
	// The verdict on both directions joined, and on the client's alone,
	// from one count of each.
	var up leak.Histogram
	up.Add(u.sample)
	both := up
	both.Add(u.down)
	class := both.Class()
	if w.scanner != nil && len(u.sample) >= 8 && !u.opaque && up.Class() != leak.Encrypted {
		if key, hit, ok := w.scanner.DetectXOR(u.sample); ok {
			s.addFinding(audit.Finding{Severity: audit.High, Kind: "custom-encryption-xor",
				Message: "payload is XOR-\"encrypted\" with a short fixed key (0x" + hex.EncodeToString(key) + "); it hides " + hit.Identifier,
				Frame:   s.f.FirstFrame, Time: s.f.First.UTC()})
			hit.Encoding = append([]string{"xor"}, hit.Encoding...)
			s.leaks = append(s.leaks, audit.Leak{Identifier: hit.Identifier, Known: hit.Known, Value: hit.Value,
				Encoding: strings.Join(hit.Encoding, " > "), Location: s.f.Transport() + ".payload", Frame: s.f.FirstFrame, Time: s.f.First.UTC(), Count: 1})
			return string(audit.ChannelCustomXOR)
		}
	}
	return classChannel(class)
}

// classChannel names the channel of a flow no decoder recognised, from the
// byte statistics of its payload.
func classChannel(c leak.Class) string {
	switch c {
	case leak.Plaintext:
		return string(audit.ChannelPlaintext)
	case leak.Encoded:
		return string(audit.ChannelEncoded)
	case leak.Compressed:
		return string(audit.ChannelCompressed)
	case leak.Encrypted:
		return string(audit.ChannelEncryptedUnknown)
	case leak.Binary:
		return string(audit.ChannelBinaryUnknown)
	}
	return string(audit.ChannelUnknown)
}

// maskHead masks the flow's leaked texts in a profile's first bytes: in
// head_text as everywhere, and the same bytes in head_hex, where the hex
// of a text is no token the report-wide pass could find.
func maskHead(p *sniff.Profile, m *leak.Masker) {
	spans := m.Spans(p.HeadText)
	if len(spans) == 0 || len(p.HeadHex) != 2*len(p.HeadText) {
		return
	}
	h := []byte(p.HeadHex)
	for _, sp := range spans {
		for i := 2 * sp[0]; i < 2*sp[1]; i++ {
			h[i] = '*'
		}
	}
	p.HeadHex = string(h)
	p.HeadText, _ = m.String(p.HeadText)
}

// unknownEvent profiles the first bytes of each direction of a flow no
// decoder recognised.
type unknownEvent struct {
	Up   sniff.Profile  `json:"up"`
	Down *sniff.Profile `json:"down,omitempty"`
}
