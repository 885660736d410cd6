// Package upgrade hands a text protocol's connection over to another
// decoder at its switch point (STARTTLS, STLS, AUTH TLS, <proceed/>): the
// Data, Gap and End that the mail, FTP and XMPP decoders share.
package upgrade

import "github.com/phonehome/phonehome/pkg/proto"

// Parser is a stream parser that says when its connection switched
// protocol, with the bytes each side sent after the switch.
type Parser interface {
	proto.StreamParser
	Tunnel() (kind string, up, down []byte)
}

// Stream feeds P until P reports a switch, then ends P and asks S to hand
// the rest of the flow, starting with those bytes, to the protocol named.
type Stream struct {
	P        Parser
	S        proto.Sink
	switched bool
}

// Data implements proto.StreamDecoder.
func (u *Stream) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if u.switched {
		return
	}
	u.P.Data(dir, data, m)
	if kind, up, down := u.P.Tunnel(); kind != "" {
		u.switched = true
		u.P.End(m)
		u.S.Switch(kind, up, down, m)
	}
}

// Gap implements proto.StreamDecoder.
func (u *Stream) Gap(dir proto.Dir, n int, m proto.Meta) {
	if !u.switched {
		u.P.Gap(dir, n, m)
	}
}

// End implements proto.StreamDecoder.
func (u *Stream) End(m proto.Meta) {
	if !u.switched {
		u.P.End(m)
	}
}
