package coap

import (
	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/hostname"
)

// Spec describes CoAP to the engine: a datagram on port 5683 (either end)
// that Detect accepts — CoAP has no magic number, so the port is required
// — and a decoder that emits one "coap" event per datagram.
func Spec() proto.Spec {
	return proto.Spec{
		Name:     "coap",
		Channel:  "CoAP",
		Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.ServerPort != Port && in.ClientPort != Port {
				return proto.No
			}
			if Detect(first(in)) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder { return &Decoder{s: s} },
	}
}

// DTLSSpec describes CoAP over DTLS (port 5684, either end): the DTLS
// record header is recognised so the flow gets the channel "CoAP/DTLS";
// the handshake is not decoded and no event is emitted.
func DTLSSpec() proto.Spec {
	return proto.Spec{
		Name:     "coap-dtls",
		Channel:  "CoAP/DTLS",
		Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.ServerPort != PortDTLS && in.ClientPort != PortDTLS {
				return proto.No
			}
			if _, ok := DetectDTLS(first(in)); ok {
				return proto.Yes
			}
			return proto.No
		},
		New: func(proto.Sink) proto.Decoder { return opaque{} },
	}
}

// first is the first datagram the engine shows Detect.
func first(in proto.DetectInput) []byte {
	if len(in.Up) > 0 {
		return in.Up
	}
	return in.Down
}

// Decoder parses each datagram of a CoAP flow and reports it through a
// proto.Sink: the event, the fields the leak scanner reads in what the
// flow's client sends (as for HTTP, requests and not responses), and
// Uri-Host as the server's name when it is a host name (not an address).
type Decoder struct {
	s     proto.Sink
	named bool
}

// Datagram implements proto.DatagramDecoder.
func (d *Decoder) Datagram(dir proto.Dir, b []byte, m proto.Meta) {
	ev := &Event{Frame: m.Frame, Time: m.Time}
	_ = Parse(b, ev) // the error is in ev.Error; what decoded before it is kept
	if dir == proto.ToServer {
		// What the flow's client sends, as for HTTP requests.
		ev.ScanFields(func(f Field) {
			d.s.Scan(proto.Field{Location: f.Location, Data: f.Data, ContentType: f.ContentType}, m)
		})
	}
	if !d.named && dir == proto.ToServer && ev.Method != "" {
		if n := hostname.Dotted(ev.Host); n != "" {
			d.named = true
			d.s.Name(proto.Name{Name: n, Source: proto.FromProtocol, Frame: m.Frame})
		}
	}
	ev.Payload = nil // scanned; not kept
	d.s.Emit(EventType, m, ev)
}

// End implements proto.DatagramDecoder.
func (d *Decoder) End(proto.Meta) {}

// opaque is the decoder of CoAP over DTLS: ciphertext, nothing to report.
type opaque struct{}

func (opaque) Datagram(proto.Dir, []byte, proto.Meta) {}
func (opaque) End(proto.Meta)                         {}
