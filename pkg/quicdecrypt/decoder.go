package quicdecrypt

import (
	"errors"
	"strings"

	"github.com/phonehome/phonehome/pkg/keylog"
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/http3"
)

// DecoderConfig says how to build a Decoder.
type DecoderConfig struct {
	Keys *keylog.Log
	// Initial is the QUIC Initial decoder of the same flow
	// (pkg/proto/quic): it gets every datagram, as it would without keys,
	// and keeps reporting the QUIC event, SNI and findings. May be nil.
	Initial proto.DatagramDecoder
	// Sink receives the HTTP/3 events, names and fields of a connection
	// whose ClientHello offered h3; nil: stream bytes are counted only.
	Sink   proto.Sink
	HTTP3  http3.Limits
	Limits Limits
}

// Decoder is the proto.DatagramDecoder of a QUIC flow when key logs are
// given: it feeds every datagram to the Initial decoder and to a Conn, and
// the decrypted streams of an HTTP/3 connection to pkg/proto/http3.
type Decoder struct {
	cfg       DecoderConfig
	c         *Conn
	h3        *http3.Conn
	isH3      int8 // 0 unknown, 1 HTTP/3, -1 another protocol
	undecoded [2]int64
	ended     bool
}

var (
	_ proto.DatagramDecoder = (*Decoder)(nil)
	_ proto.Channeler       = (*Decoder)(nil)
)

// NewDecoder returns the Decoder of one UDP flow.
func NewDecoder(cfg DecoderConfig) *Decoder {
	d := &Decoder{cfg: cfg}
	d.c = New(cfg.Keys, (*decoderHandler)(d), cfg.Limits)
	return d
}

// Datagram feeds one UDP payload to both decoders.
func (d *Decoder) Datagram(dir proto.Dir, b []byte, m proto.Meta) {
	if d.cfg.Initial != nil {
		d.cfg.Initial.Datagram(dir, b, m)
	}
	d.c.Datagram(dir, b, m)
}

// End ends the HTTP/3 decoder, then the Initial decoder.
func (d *Decoder) End(m proto.Meta) {
	if d.ended {
		return
	}
	d.ended = true
	if d.h3 != nil {
		d.h3.End(m)
	}
	if d.cfg.Initial != nil {
		d.cfg.Initial.End(m)
	}
}

// Channel is the Initial decoder's channel (else "QUIC") marked
// " (decrypted)" once 1-RTT packets were decrypted.
func (d *Decoder) Channel() string {
	c := ""
	if ch, ok := d.cfg.Initial.(proto.Channeler); ok {
		c = ch.Channel()
	}
	if d.Decrypted() {
		if c == "" {
			c = "QUIC"
		}
		return c + " (decrypted)"
	}
	return c
}

// Status is the Conn's summary.
func (d *Decoder) Status() Status { return d.c.Status() }

// Decrypted reports whether any 1-RTT packet was decrypted.
func (d *Decoder) Decrypted() bool {
	st := d.c.Status()
	return st.Decrypted[0]+st.Decrypted[1] > 0
}

// Undecoded is the stream bytes per direction of a connection that is not
// HTTP/3 (or without a Sink): decrypted, not decoded.
func (d *Decoder) Undecoded() [2]int64 { return d.undecoded }

// HTTP3 is the HTTP/3 decoder, nil when the connection is not HTTP/3.
func (d *Decoder) HTTP3() *http3.Conn { return d.h3 }

// Outcome classifies the connection for counting: "decrypted", "no-key",
// or "failed" with a reason ("no-hello", "unsupported", "auth", "limit").
func (d *Decoder) Outcome() (outcome, reason string) { return Outcome(d.c.Status()) }

// Outcome classifies a Conn's status (see Decoder.Outcome).
func Outcome(st Status) (outcome, reason string) {
	for _, e := range st.Err {
		if e != nil {
			reason = Reason(e)
			break
		}
	}
	switch {
	case st.Decrypted[0]+st.Decrypted[1] > 0:
		return "decrypted", reason
	case reason == "no-key" || !st.KeyFound && reason == "":
		return "no-key", "no-key"
	}
	return "failed", reason
}

// Reason is the short name of a Status error.
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{{ErrNoKey, "no-key"}, {ErrNoHello, "no-hello"}, {ErrUnsupported, "unsupported"}, {ErrAuth, "auth"}, {ErrLimit, "limit"}} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	if err == nil {
		return ""
	}
	return "other"
}

// offersH3 reports whether the ClientHello offered HTTP/3 ("h3", or a
// draft "h3-29").
func offersH3(alpn []string) bool {
	for _, p := range alpn {
		if p == "h3" || strings.HasPrefix(p, "h3-") {
			return true
		}
	}
	return false
}

type decoderHandler Decoder

func (h *decoderHandler) target() *http3.Conn {
	d := (*Decoder)(h)
	if d.isH3 == 0 {
		d.isH3 = -1
		if d.cfg.Sink != nil && offersH3(d.c.ALPN()) {
			d.isH3 = 1
			d.h3 = http3.NewSink(d.cfg.HTTP3, d.cfg.Sink)
		}
	}
	return d.h3
}

func (h *decoderHandler) StreamData(dir proto.Dir, id uint64, b []byte, m proto.Meta) {
	if t := h.target(); t != nil {
		t.StreamData(dir, id, b, m)
		return
	}
	h.undecoded[dir&1] += int64(len(b))
}

func (h *decoderHandler) StreamGap(dir proto.Dir, id uint64, n uint64, m proto.Meta) {
	if t := h.target(); t != nil {
		t.StreamGap(dir, id, n, m)
	}
}

func (h *decoderHandler) StreamEnd(dir proto.Dir, id uint64, m proto.Meta) {
	if t := h.target(); t != nil {
		t.StreamEnd(dir, id, m)
	}
}

// Certificate hands the server's decrypted Certificate message to the
// Initial decoder (pkg/proto/quic), whose event gets the chain and whose
// findings its checks.
func (h *decoderHandler) Certificate(msg []byte, m proto.Meta) {
	if c, ok := h.cfg.Initial.(interface {
		DecryptedCertificate(msg []byte, m proto.Meta)
	}); ok {
		c.DecryptedCertificate(msg, m)
	}
}
