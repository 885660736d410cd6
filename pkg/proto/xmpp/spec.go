package xmpp

import (
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/hostname"
	"github.com/phonehome/phonehome/pkg/proto/internal/upgrade"
	"github.com/phonehome/phonehome/pkg/severity"
)

// Spec describes XMPP to the engine: detection from the client's first
// bytes (a stream header, or an XML declaration on 5222/5269), and a
// decoder that reports through a proto.Sink with limits lim (zero fields:
// DefaultLimits).
func Spec(lim Limits) proto.Spec {
	return proto.Spec{
		Name:    "xmpp",
		Channel: "XMPP",
		Detect:  detect,
		New:     func(s proto.Sink) proto.Decoder { return NewDecoder(lim, s) },
	}
}

func detect(in proto.DetectInput) proto.Verdict {
	b := in.Up
	if len(b) == 0 {
		if len(in.Down) == 0 {
			return proto.NeedMore
		}
		return proto.No // the client opens an XMPP stream
	}
	if Detect(b, in.ServerPort) {
		return proto.Yes
	}
	if len(b) < proto.SniffBytes && !strings.Contains(string(b), "<stream") {
		// "<?xml version='1.0'?>" may be followed by the stream header in
		// a later segment; so may a prefix of either.
		for _, p := range []string{"<?xml", "<stream:stream"} {
			if n := min(len(b), len(p)); string(b[:n]) == p[:n] {
				return proto.NeedMore
			}
		}
	}
	return proto.No
}

// Decoder is a Parser that reports through a proto.Sink: each element is
// emitted as an "xmpp" event, its fields are scanned, a SASL password
// sent in clear is a high finding, the client's stream header names the
// server (its "to" domain), and <proceed/> after <starttls/> switches the
// flow to "tls".
type Decoder struct {
	p     *Parser
	s     proto.Sink
	named bool
	upgrade.Stream
}

// NewDecoder returns the Decoder of one connection.
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
	if ev.Kind == "stream" && ev.Dir == "up" && !d.named {
		if n := hostname.Dotted(ev.To); n != "" {
			d.named = true
			d.s.Name(proto.Name{Name: n, Source: proto.FromProtocol, Frame: ev.Frame})
		}
	}
	ev.Password, ev.Raw = nil, nil // secrets and stanzas stay out of what the engine keeps
	d.s.Emit(EventType, m, ev)
}
