package tlsdecrypt

import (
	"errors"

	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

// Pick chooses the decoder of a connection's plaintext from its first bytes
// (at most proto.SniffBytes per direction), as the engine chooses the
// decoder of a TCP flow: Yes with the decoder, NeedMore to be asked again
// with more bytes, No when nothing decodes it. The engine's Pick walks its
// Spec list and gives the chosen decoder a Sink whose channel says
// "decrypted".
type Pick func(in proto.DetectInput) (proto.StreamDecoder, proto.Verdict)

// DecoderConfig says how to build a Decoder.
type DecoderConfig struct {
	Keys *keylog.Log
	// Hello is the TLS handshake decoder of the same connection
	// (pkg/proto/tls): it gets every byte, as it would without keys, and
	// keeps reporting the TLS event, names and findings. May be nil.
	Hello proto.StreamDecoder
	// Pick chooses the plaintext's decoder; nil: plaintext is counted, not decoded.
	Pick                   Pick
	Limits                 Limits
	ServerPort, ClientPort uint16
}

// Decoder is the proto.StreamDecoder of a TLS connection when key logs are
// given: it feeds the same bytes to the handshake decoder and to a Stream,
// and hands the decrypted application data of both directions to the
// decoder Pick chooses, as a TCP connection of its own (HTTP/1.x, HTTP/2,
// MQTT...). Nothing reaches the inner decoder that did not authenticate.
type Decoder struct {
	cfg       DecoderConfig
	s         *Stream
	inner     proto.StreamDecoder
	decided   bool
	sniff     [2][]byte
	sniffMeta [2]proto.Meta
	stops     [2]*StopError
	undecoded [2]int64 // plaintext bytes no inner decoder read
	ended     bool
}

var (
	_ proto.StreamDecoder = (*Decoder)(nil)
	_ proto.Channeler     = (*Decoder)(nil)
)

// NewDecoder returns the Decoder of one connection.
func NewDecoder(cfg DecoderConfig) *Decoder {
	d := &Decoder{cfg: cfg}
	d.s = New(cfg.Keys, (*decoderHandler)(d), cfg.Limits)
	return d
}

// Data feeds in-order bytes of one direction to both decoders.
func (d *Decoder) Data(dir proto.Dir, b []byte, m proto.Meta) {
	if d.cfg.Hello != nil {
		d.cfg.Hello.Data(dir, b, m)
	}
	d.s.Data(dir, b, m)
}

// Gap reports lost bytes to both: decryption of that direction stops.
func (d *Decoder) Gap(dir proto.Dir, n int, m proto.Meta) {
	if d.cfg.Hello != nil {
		d.cfg.Hello.Gap(dir, n, m)
	}
	d.s.Gap(dir, n, m)
}

// End ends decryption, then the inner and the handshake decoders.
func (d *Decoder) End(m proto.Meta) {
	if d.ended {
		return
	}
	d.ended = true
	d.s.End(m)
	if !d.decided && len(d.sniff[0])+len(d.sniff[1]) > 0 {
		d.decide(true)
	}
	if d.inner != nil {
		d.inner.End(m)
	}
	if d.cfg.Hello != nil {
		d.cfg.Hello.End(m)
	}
}

// Channel is the handshake decoder's channel (else the negotiated version,
// "TLS1.3") marked " (decrypted)" once records were decrypted; without
// decryption, the handshake decoder's answer.
func (d *Decoder) Channel() string {
	c := ""
	if ch, ok := d.cfg.Hello.(proto.Channeler); ok {
		c = ch.Channel()
	}
	if d.Decrypted() {
		if c == "" {
			c = ptls.VersionName(d.s.Status().Version)
		}
		return c + " (decrypted)"
	}
	return c
}

// Status is the decrypting Stream's summary.
func (d *Decoder) Status() Status { return d.s.Status() }

// Decrypted reports whether any application data or TLS 1.3 handshake
// record of the connection was decrypted.
func (d *Decoder) Decrypted() bool {
	st := d.s.Status()
	return st.KeyFound && st.Records[0]+st.Records[1] > 0
}

// Undecoded is the plaintext per direction that no inner decoder read.
func (d *Decoder) Undecoded() [2]int64 { return d.undecoded }

// Outcome classifies the connection for counting: "decrypted" (records
// decrypted; reason says why a direction stopped early, if one did),
// "no-key", or "failed" with the reason. Reasons are the short names of
// Reason.
func (d *Decoder) Outcome() (outcome, reason string) { return Outcome(d.s.Status()) }

// Outcome classifies a Stream's status (see Decoder.Outcome).
func Outcome(st Status) (outcome, reason string) {
	for _, e := range st.Stop {
		if Abnormal(e) {
			reason = Reason(e)
			break
		}
	}
	switch {
	case st.KeyFound && st.Records[0]+st.Records[1] > 0:
		return "decrypted", reason
	case reason == "no-key" || !st.KeyFound && reason == "":
		return "no-key", "no-key"
	}
	return "failed", reason
}

// reasons names the stop reasons for counters and reports.
var reasons = []struct {
	err  error
	name string
}{
	{ErrNoKey, "no-key"}, {ErrUnsupported, "unsupported"}, {ErrAuth, "auth"},
	{ErrGap, "gap"}, {ErrMalformed, "malformed"}, {ErrTruncated, "truncated"},
	{ErrMidstream, "midstream"}, {ErrNoServerHello, "no-server-hello"},
	{ErrRenegotiation, "renegotiation"}, {ErrLimit, "limit"}, {ErrAlert, "alert"},
	{ErrClosed, "closed"}, {ErrEnd, "end"},
}

// Reason is the short name of why decryption stopped ("gap", "auth",
// "no-key", ...), "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// decoderHandler is the Decoder seen as the Stream's Handler.
type decoderHandler Decoder

func (h *decoderHandler) Plaintext(c Chunk) {
	d := (*Decoder)(h)
	dir := c.Dir & 1
	if d.decided {
		if d.inner != nil {
			d.inner.Data(dir, c.Data, c.Meta)
		} else {
			d.undecoded[dir] += int64(len(c.Data))
		}
		return
	}
	b := c.Data
	if len(d.sniff[dir]) == 0 {
		d.sniffMeta[dir] = c.Meta
	}
	n := min(len(b), proto.SniffBytes-len(d.sniff[dir]))
	d.sniff[dir] = append(d.sniff[dir], b[:n]...)
	b = b[n:]
	if !d.decide(len(d.sniff[dir]) >= proto.SniffBytes) {
		return
	}
	if len(b) > 0 {
		h.Plaintext(Chunk{Dir: dir, Data: b, Offset: c.Offset + int64(n), Meta: c.Meta, Early: c.Early})
	}
}

// Certificate hands the decrypted TLS 1.3 Certificate to the handshake
// decoder, which checks it as it checks a chain sent in clear.
func (h *decoderHandler) Certificate(msg []byte, m proto.Meta) {
	if c, ok := h.cfg.Hello.(certificateTaker); ok {
		c.DecryptedCertificate(msg, m)
	}
}

// certificateTaker is a handshake decoder that reads a decrypted
// Certificate (pkg/proto/tls.Stream).
type certificateTaker interface {
	DecryptedCertificate(msg []byte, m proto.Meta)
}

var _ certificateTaker = (*ptls.Stream)(nil)

func (h *decoderHandler) Stopped(e *StopError) {
	d := (*Decoder)(h)
	d.stops[e.Dir&1] = e
}

// decide asks Pick about the plaintext held, once the client has sent
// some (or the server SniffBytes); final forces an answer (No when Pick
// still wants more). Once decided, the held bytes go to the inner decoder,
// the client's first.
func (d *Decoder) decide(final bool) bool {
	if !final && len(d.sniff[0]) == 0 && len(d.sniff[1]) < proto.SniffBytes {
		// The server spoke first: in TLS 1.3 it may send data before the
		// client's first bytes (HTTP/2 SETTINGS before the client
		// preface), and most protocols are told by what the client sends.
		return false
	}
	v := proto.No
	var dec proto.StreamDecoder
	if d.cfg.Pick != nil {
		dec, v = d.cfg.Pick(proto.DetectInput{Up: d.sniff[0], Down: d.sniff[1], ServerPort: d.cfg.ServerPort, ClientPort: d.cfg.ClientPort})
	}
	if v == proto.NeedMore && !final && !(len(d.sniff[0]) > 0 && len(d.sniff[1]) > 0) {
		return false
	}
	d.decided = true
	if v == proto.Yes && dec != nil {
		d.inner = dec
	}
	for dir := range d.sniff {
		if len(d.sniff[dir]) == 0 {
			continue
		}
		if d.inner != nil {
			d.inner.Data(proto.Dir(dir), d.sniff[dir], d.sniffMeta[dir])
		} else {
			d.undecoded[dir] += int64(len(d.sniff[dir]))
		}
		d.sniff[dir] = nil
	}
	return true
}
