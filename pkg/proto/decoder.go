package proto

import (
	"time"

	"github.com/phonehome/phonehome/pkg/severity"
)

// The decoder contract. The engine builds one Decoder per flow from an
// ordered list of Specs (first match wins) and hands it a Sink; the decoder
// reports everything it learns through that Sink and never sees the
// engine, the report model or other flows.
//
// A new protocol is one package that exports a Spec, plus one line in the
// engine's list (pkg/engine/protocols.go). The list is built once per
// worker goroutine, so the decoders one Spec value makes may share scratch
// state (DNS shares one parsed message); decoders of one flow are called
// from one goroutine, never concurrently.

// Sink receives what a decoder learns about its flow. Calls are made from
// the decoder's Data/Gap/Datagram/End; slices passed in are only valid
// during the call (the engine copies what it keeps).
type Sink interface {
	// Emit records one protocol event: typ is the event type written in
	// reports ("http", "smtp"), fields its JSON-encodable body, owned by
	// the decoder's package. Fields must not keep secrets (passwords,
	// bodies): the engine writes them as they are.
	Emit(typ string, m Meta, fields any)
	// Scan hands one decoded field to the leak scanner.
	Scan(f Field, m Meta)
	// Finding adds a finding to the flow (the engine adds the destination).
	Finding(f Finding)
	// Name offers a name for the flow's server, or a name a device gives
	// itself, with the source it came from.
	Name(n Name)
	// Switch hands the rest of the flow to protocol to (a Spec name, e.g.
	// "tls" after CONNECT or STARTTLS, "http2" after Upgrade: h2c), with the
	// bytes each side sent after the switch point. The calling decoder gets
	// no more data. An unknown name makes the rest of the flow opaque.
	Switch(to string, up, down []byte, m Meta)
}

// Field is one value a decoder wants leak-scanned: where it sits in the
// protocol ("url.query", "header:Cookie", "smtp.rcpt_to", "mqtt.payload"),
// its bytes, its media type when known (bodies), and the content codings
// (gzip, br, ...) already undone, outermost first.
type Field struct {
	Location    string
	Data        []byte
	ContentType string
	Codings     []string
	// Page is the web page the message was sent from (an HTTP request's
	// Referer), or "": the leak scanner's behavioural detectors skip what
	// a page's scripts send about it (docs/leaks.md, "Behavioural data").
	Page string
}

// Finding is a problem a decoder saw in its flow.
type Finding struct {
	Kind     string            `json:"kind"` // stable id, e.g. "smtp-auth-cleartext"
	Severity severity.Severity `json:"severity"`
	Message  string            `json:"message"`
	Frame    uint64            `json:"frame"`
	Time     time.Time         `json:"-"`
}

// NameSource says where a name came from. Server names rank in the order
// listed, SNI first: the names a client sent say what the device asked for,
// then a DNS answer the client looked up (engine-side, "dns" and "ptr"),
// and a server's name for itself only when nothing else names the flow.
// Device names are kept apart from server names.
type NameSource string

// Server and device name sources.
const (
	FromSNI      NameSource = "sni"       // TLS ClientHello server_name
	FromHTTPHost NameSource = "http-host" // HTTP/1 Host, HTTP/2 and HTTP/3 :authority
	FromQUICSNI  NameSource = "quic-sni"  // server_name of a QUIC Initial
	FromProtocol NameSource = "protocol"  // a server name the client sent in another protocol (XMPP stream to=, CoAP Uri-Host)
	FromBanner   NameSource = "banner"    // a name the server announces for itself (SMTP and FTP greeting host); ranks below DNS
	DeviceName   NameSource = "device"    // a name the client device gives itself (DHCP, mDNS, NetBIOS, SMTP EHLO)
)

// Name is a name offered by a decoder.
type Name struct {
	Name   string
	Source NameSource
	Frame  uint64
}

// Spec describes one protocol to the engine.
type Spec struct {
	// Name is the protocol as written in flow records ("tls", "smtp").
	Name string
	// Channel is how the flow's content travelled, as reports show it
	// ("HTTP", "SMTP"); a decoder that learns more (the TLS version)
	// reports it with Channeler.
	Channel string
	// Datagram is true for protocols carried in UDP datagrams.
	Datagram bool
	// Detect looks at the flow before it is decided: the first bytes each
	// side sent (up: client, down: server; a datagram protocol sees the
	// first datagram in up or down) and the server's port.
	Detect func(in DetectInput) Verdict
	// New makes the decoder for one flow. Stream protocols return a
	// StreamDecoder, datagram protocols a DatagramDecoder.
	New func(s Sink) Decoder
	// Open is New for decoders that need what Detect saw (the ports:
	// DNS tells mDNS and LLMNR apart by them). A Spec sets New or Open.
	Open func(s Sink, in DetectInput) Decoder
	// WholeFlow (datagram Specs): the protocol owns every datagram of the
	// flow once detected (QUIC: its short-header packets do not look like
	// QUIC), and it is only asked about a flow no Spec has claimed a
	// datagram of. Without it, Detect is asked about every datagram, the
	// first Spec that says Yes gets it, and a datagram no Spec claims is
	// unknown payload: one 5-tuple may carry several protocols (STUN, then
	// DTLS and RTP in WebRTC).
	WholeFlow bool
}

// Make builds the decoder of one flow with New or Open.
func (sp *Spec) Make(s Sink, in DetectInput) Decoder {
	if sp.Open != nil {
		return sp.Open(s, in)
	}
	return sp.New(s)
}

// DetectInput is what Spec.Detect sees.
type DetectInput struct {
	Up, Down   []byte // first bytes from the client and from the server (at most SniffBytes each)
	ServerPort uint16
	ClientPort uint16
}

// First returns the first bytes of the flow: the client's, else the
// server's (a datagram Spec sees the first datagram in one of them).
func (in DetectInput) First() []byte {
	if len(in.Up) > 0 {
		return in.Up
	}
	return in.Down
}

// Port reports whether either side of the flow uses port p.
func (in DetectInput) Port(p uint16) bool { return in.ServerPort == p || in.ClientPort == p }

// SniffBytes bounds the bytes of each direction the engine holds while no
// Spec has decided (server greetings of mail and FTP need their first line).
const SniffBytes = 512

// Verdict is a Detect answer.
type Verdict uint8

const (
	// No: not this protocol.
	No Verdict = iota
	// Yes: this protocol; the engine builds its decoder and feeds it the
	// held bytes first.
	Yes
	// NeedMore: cannot tell yet; ask again with more bytes (the engine
	// stops asking at SniffBytes, or when both sides have spoken).
	NeedMore
)

// Decoder is either a StreamDecoder or a DatagramDecoder.
type Decoder interface {
	// End is called once when the flow ends or the capture does.
	End(m Meta)
}

// StreamDecoder consumes a TCP flow's reassembled bytes (see StreamParser).
type StreamDecoder interface {
	StreamParser
}

// DatagramDecoder consumes a UDP flow's datagrams, one call per datagram.
type DatagramDecoder interface {
	Datagram(dir Dir, payload []byte, m Meta)
	End(m Meta)
}

// DatagramFunc is a DatagramDecoder made of one function, for protocols
// whose datagrams are decoded each on its own: End has nothing to finish.
type DatagramFunc func(dir Dir, payload []byte, m Meta)

// Datagram calls f.
func (f DatagramFunc) Datagram(dir Dir, payload []byte, m Meta) { f(dir, payload, m) }

// End does nothing.
func (DatagramFunc) End(Meta) {}

// Channeler is implemented by decoders that know the flow's channel better
// at its end than their Spec does (TLS: the negotiated version). An empty
// answer keeps the Spec's channel.
type Channeler interface {
	Channel() string
}

// Additions to the contract (#15), each needed by a decoder the engine had
// before it: Spec.Open and Spec.WholeFlow above, and Lazy, Counter and
// Redetect below. Finding.Time may be left zero: the engine then uses the
// flow's first packet time (TLS and QUIC findings are about the whole
// session).

// Lazy is an Emit payload whose event form is built only when the engine
// writes events (Fields is then called once, during Emit). Decoders on hot
// paths (DNS: one message per datagram) emit a Lazy so that runs that
// write no events do not build strings for every record. The engine's
// observers may read the decoder's own type behind it.
type Lazy interface {
	Fields() any
}

// Counter is implemented by sinks that keep run counters (the engine's
// does; prototest's records them). Decoders call Count, which does
// nothing for other sinks.
type Counter interface {
	Count(name string, n uint64)
}

// Count adds n to the run counter name ("dns_malformed",
// "http_body_truncated") when s keeps counters.
func Count(s Sink, name string, n uint64) {
	if c, ok := s.(Counter); ok {
		c.Count(name, n)
	}
}

// FieldsUnreader is implemented by sinks that never ask for the fields of
// the events they are given (the engine when it writes no events).
type FieldsUnreader interface {
	EventFieldsUnread() bool
}

// FieldsUnread says whether s is a sink that never asks for events'
// fields: its decoders may then leave undone what only the fields show.
func FieldsUnread(s Sink) bool {
	u, ok := s.(FieldsUnreader)
	return ok && u.EventFieldsUnread()
}

// Redetect is the Switch target that means "detect the protocol again from
// the bytes that follow, as for a new flow" (an HTTP CONNECT tunnel may
// carry TLS or anything else). When no Spec claims them, the rest of the
// flow is opaque and keeps the calling decoder's protocol and channel.
const Redetect = ""
