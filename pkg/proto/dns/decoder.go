package dns

import "github.com/phonehome/phonehome/pkg/proto"

// Record is what the DNS decoders emit for each message: the parsed
// message, whose event form (strings for every record) is built only when
// asked (Fields, Event): most DNS messages of a capture need only the
// parsed form. A Record and its Msg are the decoder's scratch, valid during
// the Emit call only.
type Record struct {
	Msg     *Message
	Variant string // dns, mdns, llmnr
	Err     error  // Parse's error, if any
	ev      Event
	built   bool
}

var _ proto.Lazy = (*Record)(nil)

// Event returns the message's event form, built on first use.
func (r *Record) Event() Event {
	if !r.built {
		r.ev, r.built = NewEvent(r.Msg, r.Variant, r.Err), true
	}
	return r.ev
}

// Fields implements proto.Lazy: the Event.
func (r *Record) Fields() any { return r.Event() }

// scratch is shared by the decoders one Spec makes: they run on one
// goroutine (the engine builds its Spec list per worker), one message at a
// time, so a flow's DNS message costs no allocation.
type scratch struct {
	msg Message
	rec Record
}

// report hands one message to the sink: its event, and the names asked
// for to the leak scan (queries sent by the client).
func (sc *scratch) report(s proto.Sink, dir proto.Dir, msg *Message, variant string, m proto.Meta, err error) {
	if err != nil {
		proto.Count(s, "dns_malformed", 1)
	}
	sc.rec = Record{Msg: msg, Variant: variant, Err: err}
	s.Emit(EventType, m, &sc.rec)
	sc.rec = Record{}
	if msg.Response || dir != proto.ToServer {
		return
	}
	for _, q := range msg.Questions {
		s.Scan(proto.Field{Location: "dns.qname", Data: q.Name}, m)
	}
}

// IsPort reports whether p is the port of DNS (53), mDNS (5353) or LLMNR
// (5355).
func IsPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

// DatagramSpec describes DNS, mDNS and LLMNR over UDP to the engine,
// recognised by their ports. Each datagram is one message, emitted as a
// Record.
func DatagramSpec() proto.Spec {
	sc := &scratch{}
	return proto.Spec{
		Name: "dns", Channel: "DNS", Datagram: true,
		Detect: func(in proto.DetectInput) proto.Verdict {
			if IsPort(in.ServerPort) || IsPort(in.ClientPort) {
				return proto.Yes
			}
			return proto.No
		},
		Open: func(s proto.Sink, in proto.DetectInput) proto.Decoder {
			return &datagramDecoder{sink: s, variant: Variant(in.ClientPort, in.ServerPort), sc: sc}
		},
	}
}

type datagramDecoder struct {
	sink    proto.Sink
	variant string
	sc      *scratch
}

func (d *datagramDecoder) Datagram(dir proto.Dir, b []byte, m proto.Meta) {
	err := Parse(b, &d.sc.msg)
	d.sc.report(d.sink, dir, &d.sc.msg, d.variant, m, err)
}

func (d *datagramDecoder) End(proto.Meta) {}

// StreamSpec describes DNS over TCP (RFC 1035 4.2.2) to the engine: a
// connection to or from port 53 that no content-sniffing Spec before it
// claimed.
func StreamSpec() proto.Spec {
	sc := &scratch{}
	return proto.Spec{
		Name: "dns", Channel: "DNS",
		Detect: func(in proto.DetectInput) proto.Verdict {
			if in.Port(53) {
				return proto.Yes
			}
			return proto.No
		},
		New: func(s proto.Sink) proto.Decoder {
			return NewStream(func(dir proto.Dir, msg *Message, m proto.Meta, err error) {
				sc.report(s, dir, msg, "dns", m, err)
			})
		},
	}
}
