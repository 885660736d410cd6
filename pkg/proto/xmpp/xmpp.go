// Package xmpp decodes the cleartext start of an XMPP stream (RFC 6120)
// from the reassembled bytes of one TCP connection: the stream headers
// (to, from), the features the server offers, STARTTLS and the server's
// <proceed/> — after which Tunnel hands back the bytes where TLS begins —,
// SASL authentication (PLAIN decoded into user and password, the user of
// SCRAM), and stanzas sent in clear (message, presence, iq) for the leak
// scanner. Elements are read with encoding/xml.
//
// Parser is a proto.StreamParser: bounded by Limits (an element larger
// than MaxElement is dropped), never panicking; after a gap a direction
// resumes at the next element it can parse.
package xmpp

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

// EventType is the "type" of XMPP events.
const EventType = "xmpp"

// Event is one element of the stream.
type Event struct {
	Frame uint64    `json:"-"`
	Time  time.Time `json:"-"`
	// Dir is "up" (client to server) or "down".
	Dir string `json:"dir"`
	// Kind is "stream" (a stream header), "features", "starttls" (the
	// client asked), "proceed" (the server agreed: TLS follows),
	// "auth" (SASL), "success", "failure", or "stanza".
	Kind string `json:"kind"`
	// Name is the element's local name (message, presence, iq...).
	Name string `json:"name,omitempty"`
	To   string `json:"to,omitempty"`
	From string `json:"from,omitempty"`
	// Type and ID are the stanza's attributes; Version the stream's.
	Type    string `json:"stanza_type,omitempty"`
	ID      string `json:"id,omitempty"`
	Version string `json:"version,omitempty"`
	// Body is a message's <body> text.
	Body string `json:"body,omitempty"`
	// Features: STARTTLS offered (and required), SASL mechanisms.
	StartTLS   bool     `json:"starttls,omitempty"`
	Required   bool     `json:"starttls_required,omitempty"`
	Mechanisms []string `json:"mechanisms,omitempty"`
	// SASL.
	Mechanism       string `json:"mechanism,omitempty"`
	User            string `json:"user,omitempty"`
	PasswordPresent bool   `json:"password_present,omitempty"`
	Password        []byte `json:"-"`
	// Raw is the element as sent (stanzas only), for the leak scanner; not
	// written to JSON.
	Raw []byte `json:"-"`
	// Flags: "after-gap" (bytes were lost, or skipped as not XML, before
	// this element), "too-large", "bad-base64".
	Flags []string `json:"flags,omitempty"`
}

// Field is one decoded value for the leak scanner.
type Field struct {
	Location string
	Data     []byte
}

// ScanFields calls yield with the stream addresses ("xmpp.to",
// "xmpp.from"), the SASL user and password, and each stanza as sent
// ("xmpp.stanza").
func (e *Event) ScanFields(yield func(Field)) {
	for _, f := range []Field{{"xmpp.to", []byte(e.To)}, {"xmpp.from", []byte(e.From)}, {"xmpp.user", []byte(e.User)}} {
		if len(f.Data) > 0 && (e.Kind == "stream" || e.Kind == "stanza" || f.Location == "xmpp.user") {
			yield(f)
		}
	}
	if e.PasswordPresent && len(e.Password) > 0 {
		yield(Field{Location: "xmpp.password", Data: e.Password})
	}
	if len(e.Raw) > 0 {
		yield(Field{Location: "xmpp.stanza", Data: e.Raw})
	}
}

// Finding returns "xmpp-password-cleartext" when the event carries a
// password, else "".
func (e *Event) Finding() (kind, message string) {
	if !e.PasswordPresent {
		return "", ""
	}
	return "xmpp-password-cleartext", "XMPP password sent without TLS"
}

// Limits bound one Parser; zero fields take DefaultLimits.
type Limits struct {
	MaxElement int // bytes of one element (or stream header) buffered
	MaxHold    int // bytes kept after <proceed/> for the hand-over
}

// DefaultLimits returns 16 KiB elements and 64 KiB held. An element is
// parsed again each time bytes ending in a '>' arrive, so MaxElement also
// bounds the work per segment.
func DefaultLimits() Limits { return Limits{MaxElement: 16 << 10, MaxHold: 64 << 10} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxElement <= 0 {
		l.MaxElement = d.MaxElement
	}
	if l.MaxHold <= 0 {
		l.MaxHold = d.MaxHold
	}
	return l
}

// Detect reports whether b begins an XMPP client stream: an XML
// declaration or a stream header whose first bytes say so. A bare
// "<?xml" is XMPP only with the port as a hint (5222, 5269), which the
// caller checks.
func Detect(b []byte, serverPort uint16) bool {
	s := string(b[:min(len(b), 256)])
	switch {
	case strings.HasPrefix(s, "<stream:stream") || strings.Contains(s, "<stream:stream"):
		return true
	case strings.HasPrefix(s, "<?xml"):
		return serverPort == 5222 || serverPort == 5269
	}
	return false
}

// mark says that the buffered bytes from off on came with m.
type mark struct {
	off int
	m   proto.Meta
}

type half struct {
	buf    []byte
	marks  []mark     // where each call's bytes begin in buf
	meta   proto.Meta // of the element being handled
	header bool       // the stream header was read
	gap    bool       // bytes were lost before what buf holds
	skip   bool       // after a gap: drop bytes up to the next '<'
}

// Parser decodes one connection. It implements proto.StreamParser.
type Parser struct {
	lim      Limits
	emit     func(*Event)
	h        [2]half
	asked    bool // the client sent <starttls/>
	hold     []byte
	tunnel   bool
	up, down []byte
	ended    bool
}

// New returns a Parser; emit is called for each event (the Event belongs
// to the callee).
func New(lim Limits, emit func(*Event)) *Parser {
	return &Parser{lim: lim.withDefaults(), emit: emit}
}

// Tunnel reports whether the server agreed to STARTTLS, and the bytes
// each side sent after it ("tls"), or "".
func (p *Parser) Tunnel() (kind string, up, down []byte) {
	if !p.tunnel {
		return "", nil, nil
	}
	return "tls", p.up, p.down
}

func appendMax(dst, b []byte, limit int) []byte {
	return append(dst, b[:min(len(b), max(0, limit-len(dst)))]...)
}

// Data implements proto.StreamParser.
func (p *Parser) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || p.ended || len(data) == 0 {
		return
	}
	if p.tunnel {
		if dir == proto.ToServer {
			p.up = appendMax(p.up, data, p.lim.MaxHold)
		} else {
			p.down = appendMax(p.down, data, p.lim.MaxHold)
		}
		return
	}
	if dir == proto.ToServer && p.asked && len(p.h[0].buf) == 0 {
		// After <starttls/> the client waits for <proceed/>: hold.
		p.hold = appendMax(p.hold, data, p.lim.MaxHold)
		return
	}
	h := &p.h[dir]
	for len(data) > 0 && !p.tunnel {
		n := min(len(data), p.lim.MaxElement+1-len(h.buf))
		if k := len(h.marks); k == 0 || h.marks[k-1].m.Frame != m.Frame || !h.marks[k-1].m.Time.Equal(m.Time) {
			h.marks = append(h.marks, mark{off: len(h.buf), m: m})
		}
		h.buf = append(h.buf, data[:n]...)
		added := data[:n]
		data = data[n:]
		if bytes.IndexByte(added, '>') < 0 && len(h.buf) <= p.lim.MaxElement {
			// An element can only end at '>': do not parse the buffered
			// bytes again for nothing (a stream cut into tiny segments
			// would cost quadratic time).
			continue
		}
		p.drain(dir, h, m)
		if p.tunnel {
			if dir == proto.ToClient {
				p.down = appendMax(p.down, h.buf, p.lim.MaxHold)
				p.down = appendMax(p.down, data, p.lim.MaxHold)
			}
			h.buf, h.marks = nil, nil
			return
		}
		if dir == proto.ToServer && p.asked {
			p.hold = appendMax(p.hold, h.buf, p.lim.MaxHold)
			p.hold = appendMax(p.hold, data, p.lim.MaxHold)
			h.buf, h.marks = h.buf[:0], h.marks[:0]
			return
		}
		if len(h.buf) > p.lim.MaxElement {
			// One element larger than the limit: drop it, resume at the
			// next element that parses.
			first := h.at(0)
			p.send(&Event{Frame: first.Frame, Time: first.Time, Dir: dir.String(), Kind: "stanza", Flags: []string{"too-large"}})
			h.buf, h.marks, h.gap = h.buf[:0], h.marks[:0], true
		}
	}
}

// at returns the Meta of the buffered byte at off.
func (h *half) at(off int) proto.Meta {
	var m proto.Meta
	for _, mk := range h.marks {
		if mk.off > off {
			break
		}
		m = mk.m
	}
	return m
}

// keep drops the buffered bytes before rest (a suffix of h.buf), keeping
// the marks of what stays.
func (h *half) keep(rest []byte) {
	cut := len(h.buf) - len(rest)
	var marks []mark
	for k, mk := range h.marks {
		if k+1 < len(h.marks) && h.marks[k+1].off <= cut {
			continue
		}
		marks = append(marks, mark{off: max(mk.off-cut, 0), m: mk.m})
	}
	if len(rest) == 0 {
		marks = nil
	}
	h.marks = append(h.marks[:0], marks...)
	h.buf = append(h.buf[:0], rest...)
}

// drain consumes every complete element at the front of h.buf.
func (p *Parser) drain(dir proto.Dir, h *half, m proto.Meta) {
	for !p.tunnel && !(dir == proto.ToServer && p.asked) {
		b := h.buf
		if h.skip {
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				h.keep(nil)
				return
			}
			b, h.skip = b[i:], false
		}
		b = bytes.TrimLeft(b, " \t\r\n")
		if len(b) == 0 {
			h.keep(nil)
			return
		}
		if b[0] != '<' {
			// Text between elements (a gap landed mid-element): skip to
			// the next tag.
			h.gap = true
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				h.keep(nil)
				return
			}
			b = b[i:]
		}
		h.meta = h.at(len(h.buf) - len(b))
		// Parse only up to the last '>': a tag is complete there, so what
		// the tokenizer says about those bytes does not depend on how the
		// stream was cut into segments.
		end := bytes.LastIndexByte(b, '>')
		n, ok := 0, false
		if end >= 0 {
			n, ok = p.element(dir, h, b[:end+1])
		}
		if !ok {
			h.keep(b)
			return
		}
		h.keep(b[n:])
	}
}

// element reads the element at the start of b; ok is false when b ends
// before it does. It returns the bytes consumed.
func (p *Parser) element(dir proto.Dir, h *half, b []byte) (int, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("<?")):
		i := bytes.Index(b, []byte("?>"))
		if i < 0 {
			return 0, false
		}
		return i + 2, true
	case bytes.HasPrefix(b, []byte("</")):
		// </stream:stream> ends the stream; another end tag is the tail
		// of an element cut by a gap.
		i := bytes.IndexByte(b, '>')
		if i < 0 {
			return 0, false
		}
		if bytes.HasSuffix(bytes.TrimSpace(b[2:i]), []byte("stream")) {
			h.header = false
		}
		return i + 1, true
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	d.AutoClose = nil
	var start *xml.StartElement
	depth := 0
	for {
		tok, err := d.RawToken()
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
				return 0, false
			}
			// Not XML here: skip this '<' and look for the next one.
			h.gap = true
			if i := bytes.IndexByte(b[1:], '<'); i >= 0 {
				return i + 1, true
			}
			return len(b), true
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if start == nil {
				c := t.Copy()
				start = &c
				if t.Name.Local == "stream" {
					// The stream header stays open for the whole stream.
					p.stream(dir, h, start)
					return int(d.InputOffset()), true
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
		if start != nil && depth == 0 {
			n := int(d.InputOffset())
			p.top(dir, h, start, b[:n])
			return n, true
		}
	}
}

func attr(e *xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}

func (p *Parser) newEvent(dir proto.Dir, h *half, kind string) *Event {
	ev := &Event{Frame: h.meta.Frame, Time: h.meta.Time, Dir: dir.String(), Kind: kind}
	if h.gap {
		ev.Flags = append(ev.Flags, "after-gap")
		h.gap = false
	}
	return ev
}

func (p *Parser) stream(dir proto.Dir, h *half, s *xml.StartElement) {
	h.header = true
	ev := p.newEvent(dir, h, "stream")
	ev.Name, ev.To, ev.From, ev.ID, ev.Version = "stream", attr(s, "to"), attr(s, "from"), attr(s, "id"), attr(s, "version")
	p.send(ev)
}

// node is a generic element tree, for encoding/xml to fill.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n *node) child(local string) *node {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == local {
			return &n.Nodes[i]
		}
	}
	return nil
}

// top handles one complete top-level element.
func (p *Parser) top(dir proto.Dir, h *half, s *xml.StartElement, raw []byte) {
	var n node
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = false
	_ = d.Decode(&n) // undeclared prefixes and the like: keep what decoded
	switch s.Name.Local {
	case "features":
		ev := p.newEvent(dir, h, "features")
		if st := n.child("starttls"); st != nil {
			ev.StartTLS, ev.Required = true, st.child("required") != nil
		}
		if ms := n.child("mechanisms"); ms != nil {
			for _, m := range ms.Nodes {
				if m.XMLName.Local == "mechanism" {
					ev.Mechanisms = append(ev.Mechanisms, strings.TrimSpace(m.Text))
				}
			}
		}
		p.send(ev)
	case "starttls":
		p.send(p.newEvent(dir, h, "starttls"))
		if dir == proto.ToServer {
			p.asked = true
		}
	case "proceed":
		p.send(p.newEvent(dir, h, "proceed"))
		if dir == proto.ToClient && p.asked {
			p.tunnel = true
			p.up = append(p.up, p.hold...)
			p.hold = nil
		}
	case "failure", "success":
		p.send(p.newEvent(dir, h, s.Name.Local))
		if dir == proto.ToClient && s.Name.Local == "failure" && p.asked {
			// STARTTLS refused (the server closes the stream): read what
			// the client sent meanwhile as XML again.
			p.asked = false
			held := p.hold
			p.hold = nil
			p.Data(proto.ToServer, held, h.meta)
		}
	case "auth":
		ev := p.newEvent(dir, h, "auth")
		ev.Mechanism = strings.ToUpper(attr(s, "mechanism"))
		sasl(ev, n.Text)
		p.send(ev)
	default:
		ev := p.newEvent(dir, h, "stanza")
		ev.Name, ev.To, ev.From, ev.Type, ev.ID = s.Name.Local, attr(s, "to"), attr(s, "from"), attr(s, "type"), attr(s, "id")
		if b := n.child("body"); b != nil && s.Name.Local == "message" {
			ev.Body = b.Text
		}
		ev.Raw = append([]byte(nil), raw...)
		p.send(ev)
	}
}

// sasl decodes an initial response: PLAIN (RFC 4616) gives user and
// password; SCRAM's client-first message (RFC 5802) the user.
func sasl(ev *Event, text string) {
	text = strings.TrimSpace(text)
	if text == "" || text == "=" {
		return
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		ev.Flags = append(ev.Flags, "bad-base64")
		return
	}
	switch {
	case ev.Mechanism == "PLAIN":
		if parts := bytes.SplitN(b, []byte{0}, 3); len(parts) == 3 {
			ev.User = string(parts[1])
			if ev.User == "" {
				ev.User = string(parts[0])
			}
			ev.Password, ev.PasswordPresent = parts[2], true
		}
	case strings.HasPrefix(ev.Mechanism, "SCRAM-"):
		for _, f := range strings.Split(string(b), ",") {
			if strings.HasPrefix(f, "n=") {
				ev.User = f[2:]
			}
		}
	}
}

func (p *Parser) send(ev *Event) {
	if p.emit != nil {
		p.emit(ev)
	}
}

// Gap implements proto.StreamParser: the direction's partial element is
// dropped and parsing resumes at the next element that parses.
func (p *Parser) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient || p.ended || p.tunnel || n <= 0 {
		return
	}
	h := &p.h[dir]
	h.buf, h.marks, h.gap, h.skip = h.buf[:0], h.marks[:0], true, true
}

// End implements proto.StreamParser.
func (p *Parser) End(m proto.Meta) { p.ended = true }
