package ftp

import (
	"bytes"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/hostname"
	"github.com/phonehome/phonehome/pkg/proto/internal/upgrade"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes the FTP control connection to the engine: detection from
// the server's "220" greeting, the client's first line and the port, and
// a decoder that reports through a proto.Sink with limits lim (zero
// fields: DefaultLimits). List it after SMTP: both greet with 220.
func Spec(lim Limits) proto.Spec {
	return proto.Spec{
		Name:    "ftp",
		Channel: "FTP",
		Detect:  detect,
		New:     func(s proto.Sink) proto.Decoder { return NewDecoder(lim, s) },
	}
}

func detect(in proto.DetectInput) proto.Verdict {
	if len(in.Down) == 0 {
		if len(in.Up) == 0 {
			return proto.NeedMore
		}
		return proto.No
	}
	if n := min(len(in.Down), 3); string(in.Down[:n]) != "220"[:n] {
		return proto.No // not a greeting: not held waiting for one
	}
	if bytes.IndexByte(in.Down, '\n') < 0 && len(in.Down) < proto.SniffBytes {
		return proto.NeedMore
	}
	if Detect(in.Down, in.Up, in.ServerPort) {
		return proto.Yes
	}
	if len(in.Up) == 0 && bytes.HasPrefix(in.Down, []byte("220")) && !bytes.Contains(bytes.ToUpper(in.Down), []byte("SMTP")) {
		return proto.NeedMore // a bare "220" greeting: the client's first line tells
	}
	return proto.No
}

// Decoder is a Parser that reports through a proto.Sink: each event is
// emitted as an "ftp" event, its fields are scanned, a password sent in
// clear (not anonymous) is a high finding, the greeting's host name names
// the server, and an accepted AUTH TLS switches the flow to "tls".
type Decoder struct {
	p *Parser
	s proto.Sink
	upgrade.Stream
}

// NewDecoder returns the Decoder of one control connection.
func NewDecoder(lim Limits, s proto.Sink) *Decoder {
	d := &Decoder{s: s}
	d.p = New(lim, d.event)
	d.Stream = upgrade.Stream{P: d.p, S: s}
	return d
}

func (d *Decoder) event(ev *Event) {
	m := proto.Meta{Frame: ev.Frame, Time: ev.Time}
	ev.ScanFields(func(f Field) { d.s.Scan(proto.Field{Location: f.Location, Data: f.Data}, m) })
	if kind, msg := ev.Finding(); kind != "" {
		d.s.Finding(proto.Finding{Kind: kind, Severity: severity.High, Message: msg, Frame: ev.Frame, Time: ev.Time})
	}
	if ev.Kind == "greeting" {
		if n := hostname.FirstWord(ev.Text); n != "" {
			d.s.Name(proto.Name{Name: n, Source: proto.FromBanner, Frame: ev.Frame})
		}
	}
	ev.Password = nil // secrets stay out of what the engine keeps
	d.s.Emit(EventType, m, ev)
}
