package tlsdecrypt

import (
	"errors"

	"github.com/phonehome/phonehome/pkg/proto"
)

// Inner is a Handler that hands the decrypted bytes to P, the stream
// decoder of what the connection carries (HTTP/1.x, HTTP/2, MQTT...), as
// if they were a TCP connection of their own: Plaintext becomes P.Data;
// when both directions have stopped, P.End. Stops that are not normal ends
// (see Abnormal) are kept for the caller to report.
type Inner struct {
	P     proto.StreamParser
	Stops [2]*StopError
	ended bool
}

// Plaintext forwards decrypted bytes.
func (in *Inner) Plaintext(c Chunk) {
	if !in.ended {
		in.P.Data(c.Dir, c.Data, c.Meta)
	}
}

// Stopped records e and ends P once both directions stopped.
func (in *Inner) Stopped(e *StopError) {
	in.Stops[e.Dir&1] = e
	if !in.ended && in.Stops[0] != nil && in.Stops[1] != nil {
		in.ended = true
		m := in.Stops[0].Meta
		if in.Stops[1].Meta.Frame > m.Frame {
			m = in.Stops[1].Meta
		}
		in.P.End(m)
	}
}

// Abnormal reports whether e ended decryption before the connection ended:
// anything but close_notify, a fatal alert or the end of the stream.
func Abnormal(e *StopError) bool {
	return e != nil && !errors.Is(e, ErrClosed) && !errors.Is(e, ErrEnd) && !errors.Is(e, ErrAlert)
}
