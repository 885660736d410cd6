package mail

import (
	"bytes"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/hostname"
	"github.com/phonehome/phonehome/pkg/proto/internal/upgrade"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes protocol p (SMTP, POP3 or IMAP) to the engine: detection
// from the server's greeting (these protocols speak first from the
// server), the client's first line and the port; a decoder that reports
// through a proto.Sink with limits lim (zero fields: DefaultLimits).
func Spec(p Protocol, lim Limits) proto.Spec {
	return proto.Spec{
		Name:    p.String(),
		Channel: strings.ToUpper(p.String()),
		Detect:  func(in proto.DetectInput) proto.Verdict { return detect(p, in) },
		New:     func(s proto.Sink) proto.Decoder { return NewDecoder(p, lim, s) },
	}
}

// detect answers for protocol p. The server's first line must be whole
// (or SniffBytes long); a "220" greeting that names neither SMTP nor FTP
// on a port that is not a mail port waits for the client's first line.
func detect(p Protocol, in proto.DetectInput) proto.Verdict {
	if len(in.Down) == 0 {
		if len(in.Up) == 0 {
			return proto.NeedMore
		}
		return proto.No // the client spoke first: not a greeting protocol
	}
	if !mayGreet(p, in.Down) {
		return proto.No
	}
	if bytes.IndexByte(in.Down, '\n') < 0 && len(in.Down) < proto.SniffBytes {
		return proto.NeedMore
	}
	switch got := Detect(in.Down, in.Up, in.ServerPort); {
	case got == p:
		return proto.Yes
	case got != 0:
		return proto.No
	}
	if p == SMTP && len(in.Up) == 0 && bytes.HasPrefix(in.Down, []byte("220")) &&
		!bytes.Contains(bytes.ToUpper(in.Down), []byte("FTP")) && in.ServerPort != 21 {
		return proto.NeedMore
	}
	return proto.No
}

// greetings are how each protocol's server greeting begins.
var greetings = map[Protocol][]string{SMTP: {"220"}, POP3: {"+OK"}, IMAP: {"* OK", "* PREAUTH"}}

// mayGreet says whether down begins (or, cut short, could begin) as a
// greeting of p: anything else is not p, at once, so that a server that
// speaks first in another protocol is not held waiting.
func mayGreet(p Protocol, down []byte) bool {
	for _, g := range greetings[p] {
		if n := min(len(down), len(g)); bytes.EqualFold(down[:n], []byte(g[:n])) {
			return true
		}
	}
	return false
}

// Decoder is a Parser that reports through a proto.Sink: each event is
// emitted as a "mail" event, its fields are scanned, a password sent in
// clear is a high finding, the SMTP greeting names the server and EHLO
// the client, and an accepted STARTTLS switches the flow to "tls".
type Decoder struct {
	p *Parser
	s proto.Sink
	upgrade.Stream
}

// NewDecoder returns the Decoder of one connection.
func NewDecoder(p Protocol, lim Limits, s proto.Sink) *Decoder {
	d := &Decoder{s: s}
	d.p = New(p, lim, d.event)
	d.Stream = upgrade.Stream{P: d.p, S: s}
	return d
}

func (d *Decoder) event(ev *Event) {
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	ev.ScanFields(func(f Field) {
		d.s.Scan(proto.Field{Location: f.Location, Data: f.Data, ContentType: f.ContentType}, m)
	})
	if kind, msg := ev.Finding(); kind != "" {
		d.s.Finding(proto.Finding{Kind: kind, Severity: severity.High, Message: msg, Frame: ev.Frame, Time: ev.Time})
	}
	switch {
	case ev.Kind == "greeting" && ev.Protocol == "smtp":
		if n := hostname.FirstWord(ev.Text); n != "" {
			d.s.Name(proto.Name{Name: n, Source: proto.FromBanner, Frame: ev.Frame})
		}
	case ev.Hostname != "":
		if n := hostname.Device(ev.Hostname); n != "" {
			d.s.Name(proto.Name{Name: n, Source: proto.DeviceName, Frame: ev.Frame})
		}
	}
	// Secrets stay out of what the engine keeps and writes.
	ev.Password = nil
	if ev.Message != nil {
		ev.Message.Data = nil
	}
	d.s.Emit(EventType, m, ev)
}
