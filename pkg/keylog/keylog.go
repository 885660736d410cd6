// Package keylog reads TLS session secrets in the NSS key log format (the
// SSLKEYLOGFILE format written by browsers, curl, OpenSSL, Go's
// tls.Config.KeyLogWriter and PCAPdroid) and from pcapng Decryption Secrets
// Blocks. Secrets are indexed by the 32-byte client random of the handshake
// they belong to.
//
// Key material is held in Secret values whose String and Format never print
// it, and bad lines are reported by line number and reason only.
package keylog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Label names one kind of secret in the key log.
type Label uint8

// Labels of the NSS key log format. QUIC_-prefixed spellings (written by
// some QUIC stacks) map to the same labels.
const (
	ClientRandom                 Label = iota // TLS 1.2 and earlier: the 48-byte master secret
	ClientEarlyTrafficSecret                  // TLS 1.3 0-RTT
	ClientHandshakeTrafficSecret              // TLS 1.3
	ServerHandshakeTrafficSecret              // TLS 1.3
	ClientTrafficSecret0                      // TLS 1.3 first application secret
	ServerTrafficSecret0                      // TLS 1.3 first application secret
	EarlyExporterSecret                       // TLS 1.3
	ExporterSecret                            // TLS 1.3
	numLabels
)

var labelNames = [numLabels]string{
	"CLIENT_RANDOM",
	"CLIENT_EARLY_TRAFFIC_SECRET",
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	"SERVER_HANDSHAKE_TRAFFIC_SECRET",
	"CLIENT_TRAFFIC_SECRET_0",
	"SERVER_TRAFFIC_SECRET_0",
	"EARLY_EXPORTER_SECRET",
	"EXPORTER_SECRET",
}

// String returns the label as written in key logs.
func (l Label) String() string {
	if l < numLabels {
		return labelNames[l]
	}
	return fmt.Sprintf("Label(%d)", uint8(l))
}

func parseLabel(b []byte) (Label, bool) {
	b = bytes.TrimPrefix(b, []byte("QUIC_"))
	for i, n := range labelNames {
		if string(b) == n {
			return Label(i), true
		}
	}
	return 0, false
}

// Secret is key material. Its String and Format methods print only its
// length, so a Secret that reaches a log line or a report stays secret.
type Secret struct{ b []byte }

// NewSecret wraps b (not copied).
func NewSecret(b []byte) Secret { return Secret{b} }

// Bytes returns the key material. Never print it.
func (s Secret) Bytes() []byte { return s.b }

// Len is the number of bytes of key material.
func (s Secret) Len() int { return len(s.b) }

// IsZero reports whether the secret is absent.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// String returns "secret(N bytes)".
func (s Secret) String() string { return fmt.Sprintf("secret(%d bytes)", len(s.b)) }

// GoString is String: %#v does not print the key either.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb (%x and %v included).
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// MarshalText keeps secrets out of JSON, YAML and the like.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// maxCandidates is how many different values one label of one client random
// may have; more are counted as conflicts and dropped. Decrypters try each
// candidate and keep the one that authenticates.
const maxCandidates = 4

// Secrets are the secrets logged for one handshake (one client random).
type Secrets struct {
	values [numLabels][]Secret
}

// Get returns the secrets logged under l, first-logged first.
func (s *Secrets) Get(l Label) []Secret {
	if s == nil || l >= numLabels {
		return nil
	}
	return s.values[l]
}

// Has reports whether at least one secret is logged under l.
func (s *Secrets) Has(l Label) bool { return len(s.Get(l)) > 0 }

// BadLine locates a line that could not be used. Reason never contains
// the line's content.
type BadLine struct {
	Source string // file name or "pcapng DSB"
	Line   int    // 1-based
	Reason string
}

// Stats count what reading saw.
type Stats struct {
	Lines      int       // lines read, blank and comment lines included
	Entries    int       // secrets stored
	Duplicates int       // lines repeating a stored secret exactly
	Conflicts  int       // extra values for a label beyond maxCandidates
	Unknown    int       // well-formed lines with a label this package does not use (e.g. RSA)
	Bad        int       // malformed lines
	BadLines   []BadLine // the first MaxBadLines of them
	Dropped    int       // entries dropped because MaxSessions was reached
}

// MaxBadLines is how many bad lines Stats keeps.
const MaxBadLines = 100

// Limits bound what a Log keeps.
type Limits struct {
	MaxSessions int // client randoms kept (default 1<<20)
	MaxLine     int // bytes per line (default 4096)
}

// DefaultLimits are generous for real key logs (a browser session logs a few
// lines per connection).
func DefaultLimits() Limits { return Limits{MaxSessions: 1 << 20, MaxLine: 4096} }

// Log holds secrets by client random. The zero value is not usable: call New.
type Log struct {
	lim      Limits
	sessions map[[32]byte]*Secrets
	stats    Stats
}

// New returns an empty Log with default limits.
func New() *Log { return NewLimits(DefaultLimits()) }

// NewLimits returns an empty Log with the given limits.
func NewLimits(lim Limits) *Log {
	d := DefaultLimits()
	if lim.MaxSessions <= 0 {
		lim.MaxSessions = d.MaxSessions
	}
	if lim.MaxLine <= 0 {
		lim.MaxLine = d.MaxLine
	}
	return &Log{lim: lim, sessions: map[[32]byte]*Secrets{}}
}

// Lookup returns the secrets of the handshake with this client random.
func (l *Log) Lookup(clientRandom [32]byte) (*Secrets, bool) {
	if l == nil {
		return nil, false
	}
	s, ok := l.sessions[clientRandom]
	return s, ok
}

// Len is the number of handshakes with at least one secret.
func (l *Log) Len() int { return len(l.sessions) }

// Stats returns the counters so far (BadLines is shared; do not modify).
func (l *Log) Stats() Stats { return l.stats }

// ErrLineTooLong is the reason given for lines past Limits.MaxLine.
var ErrLineTooLong = errors.New("line too long")

// Read adds the secrets of one key log. source names it in BadLines.
// Malformed lines are counted, not fatal; the error is only a read error.
func (l *Log) Read(r io.Reader, source string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, tooLong, err := readLine(br, l.lim.MaxLine)
		if len(b) > 0 || tooLong || err == nil {
			line++
			l.stats.Lines++
			if tooLong {
				l.bad(source, line, ErrLineTooLong.Error())
			} else {
				l.addLine(b, source, line)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns the next line without its line ending (LF or CRLF),
// or tooLong when it exceeds max bytes (the rest of it is skipped).
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		frag, e := br.ReadSlice('\n')
		if len(buf)+len(frag) > max+2 { // +2: the line ending
			tooLong = true
		}
		if !tooLong {
			buf = append(buf, frag...)
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return nil, true, e
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		return buf, false, e
	}
}

func (l *Log) bad(source string, line int, reason string) {
	l.stats.Bad++
	if len(l.stats.BadLines) < MaxBadLines {
		l.stats.BadLines = append(l.stats.BadLines, BadLine{Source: source, Line: line, Reason: reason})
	}
}

// addLine parses "LABEL <client random hex> <secret hex>".
func (l *Log) addLine(b []byte, source string, line int) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return
	}
	f := bytes.Fields(b)
	if len(f) != 3 {
		l.bad(source, line, fmt.Sprintf("%d fields, want 3", len(f)))
		return
	}
	lab, ok := parseLabel(f[0])
	if !ok {
		if isLabelWord(f[0]) {
			l.stats.Unknown++
		} else {
			l.bad(source, line, "not a key log label")
		}
		return
	}
	var cr [32]byte
	if len(f[1]) != 64 {
		l.bad(source, line, fmt.Sprintf("client random is %d hex digits, want 64", len(f[1])))
		return
	}
	if _, err := hex.Decode(cr[:], f[1]); err != nil {
		l.bad(source, line, "client random is not hex")
		return
	}
	if len(f[2])%2 != 0 {
		l.bad(source, line, "secret has an odd number of hex digits")
		return
	}
	sec := make([]byte, len(f[2])/2)
	if _, err := hex.Decode(sec, f[2]); err != nil {
		l.bad(source, line, "secret is not hex")
		return
	}
	if lab == ClientRandom && len(sec) != 48 {
		l.bad(source, line, fmt.Sprintf("master secret is %d bytes, want 48", len(sec)))
		return
	}
	if lab != ClientRandom && len(sec) != 32 && len(sec) != 48 {
		l.bad(source, line, fmt.Sprintf("%s is %d bytes, want 32 or 48", lab, len(sec)))
		return
	}
	l.Add(lab, cr, sec)
}

// isLabelWord: upper-case letters, digits and underscores, as key log labels
// are (RSA, CLIENT_TRAFFIC_SECRET_1, ...).
func isLabelWord(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return len(b) > 0
}

// Add stores one secret (sec is kept, not copied). A value already stored
// for the same label and client random counts as a duplicate.
func (l *Log) Add(lab Label, clientRandom [32]byte, sec []byte) {
	if lab >= numLabels {
		return
	}
	s := l.sessions[clientRandom]
	if s == nil {
		if len(l.sessions) >= l.lim.MaxSessions {
			l.stats.Dropped++
			return
		}
		s = &Secrets{}
		l.sessions[clientRandom] = s
	}
	for _, v := range s.values[lab] {
		if bytes.Equal(v.b, sec) {
			l.stats.Duplicates++
			return
		}
	}
	if len(s.values[lab]) >= maxCandidates {
		l.stats.Conflicts++
		return
	}
	s.values[lab] = append(s.values[lab], Secret{sec})
	l.stats.Entries++
}

// ClientRandoms lists the client randoms with secrets, sorted.
func (l *Log) ClientRandoms() [][32]byte {
	out := make([][32]byte, 0, len(l.sessions))
	for k := range l.sessions {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// Clone returns a Log with the same secrets and counters that can be added
// to without changing l: one run adds the secrets of its captures' pcapng
// blocks to a clone of the key logs given on the command line, so runs that
// share those (per-file batches) never write to the same Log.
func (l *Log) Clone() *Log {
	if l == nil {
		return New()
	}
	c := &Log{lim: l.lim, sessions: make(map[[32]byte]*Secrets, len(l.sessions)), stats: l.stats}
	c.stats.BadLines = slices.Clip(l.stats.BadLines)
	for k, s := range l.sessions {
		cs := &Secrets{}
		for i, v := range s.values {
			cs.values[i] = slices.Clip(v)
		}
		c.sessions[k] = cs
	}
	return c
}
