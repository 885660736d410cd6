// Package mail decodes SMTP, POP3 and IMAP in clear from the reassembled
// bytes of one TCP connection: commands paired with their replies,
// credentials (AUTH PLAIN, LOGIN, XOAUTH2/OAUTHBEARER, POP3 USER/PASS,
// IMAP LOGIN), the addresses of MAIL FROM and RCPT TO, the message an SMTP
// client sends, and STARTTLS/STLS, after which Tunnel hands back the bytes
// where TLS begins so the caller can switch to the TLS decoder.
//
// Parser is a proto.StreamParser: incremental, bounded by Limits, never
// panicking; after a gap it drops the partial line and flags what follows.
package mail

import (
	"bytes"
	"net/mail"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/lines"
)

// Protocol selects the dialect a Parser reads.
type Protocol uint8

const (
	SMTP Protocol = iota + 1
	POP3
	IMAP
)

// String returns "smtp", "pop3" or "imap".
func (p Protocol) String() string {
	switch p {
	case SMTP:
		return "smtp"
	case POP3:
		return "pop3"
	case IMAP:
		return "imap"
	}
	return "unknown"
}

// Limits bound the memory of one Parser. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	MaxLine    int // bytes of one line kept
	MaxMessage int // bytes of one SMTP message kept
	MaxPending int // commands waiting for a reply
	MaxHold    int // client bytes held while a STARTTLS answer is pending
}

// DefaultLimits returns 8 KiB lines, 256 KiB messages, 64 pending commands
// and 64 KiB held.
func DefaultLimits() Limits {
	return Limits{MaxLine: 8 << 10, MaxMessage: 256 << 10, MaxPending: 64, MaxHold: 64 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = d.MaxMessage
	}
	if l.MaxPending <= 0 {
		l.MaxPending = d.MaxPending
	}
	if l.MaxHold <= 0 {
		l.MaxHold = d.MaxHold
	}
	return l
}

// Parser decodes one connection. It implements proto.StreamParser.
type Parser struct {
	proto   Protocol
	lim     Limits
	emit    func(*Event)
	rd      [2]lines.Reader
	greeted bool
	queue   []*Event // commands waiting for their reply, oldest first
	auth    *auth
	msg     *Event // SMTP message being sent (DATA or BDAT)
	inData  bool   // DATA: client lines are the message until "."
	rawUp   int    // client bytes of a BDAT chunk or IMAP literal still to come
	rawDown int    // server bytes of an IMAP literal still to come
	last    bool   // the BDAT chunk being read is the LAST one
	multi   bool   // POP3: server lines are a multi-line response until "."
	imap    *imapCmd
	user    string // POP3 USER, for the PASS that follows

	// STARTTLS hand-over.
	tls      *Event // STARTTLS command waiting for its reply
	hold     []byte
	holdLost bool
	tunnel   bool
	up, down []byte
	ended    bool
}

// New returns a Parser for protocol p. emit is called for each event; the
// Event belongs to the callee.
func New(p Protocol, lim Limits, emit func(*Event)) *Parser {
	ps := &Parser{proto: p, lim: lim.withDefaults(), emit: emit}
	ps.rd[0].Max, ps.rd[1].Max = ps.lim.MaxLine, ps.lim.MaxLine
	return ps
}

// Tunnel reports whether the connection switched to TLS after STARTTLS
// (or STLS), and the bytes each side sent from the switch on that this
// Parser received: feed them to the TLS decoder, then the rest of the
// connection. Kind is "tls", or "" while there is no tunnel.
func (p *Parser) Tunnel() (kind string, up, down []byte) {
	if !p.tunnel {
		return "", nil, nil
	}
	return "tls", p.up, p.down
}

// Data implements proto.StreamParser.
func (p *Parser) Data(dir proto.Dir, data []byte, m proto.Meta) {
	if dir > proto.ToClient || p.ended {
		return
	}
	if p.tunnel {
		p.keepTunnel(dir, data)
		return
	}
	if dir == proto.ToServer {
		p.client(data, m)
	} else {
		p.server(data, m)
	}
}

// keepTunnel appends bytes that arrive after the switch, for a caller that
// reads Tunnel late.
func (p *Parser) keepTunnel(dir proto.Dir, data []byte) {
	dst := &p.up
	if dir == proto.ToClient {
		dst = &p.down
	}
	if keep := min(len(data), p.lim.MaxHold-len(*dst)); keep > 0 {
		*dst = append(*dst, data[:keep]...)
	}
}

func (p *Parser) client(data []byte, m proto.Meta) {
	for len(data) > 0 {
		if p.tls != nil {
			// Waiting for the STARTTLS answer: hold what the client sends.
			if keep := min(len(data), p.lim.MaxHold-len(p.hold)); keep > 0 {
				p.hold = append(p.hold, data[:keep]...)
			}
			if len(data) > p.lim.MaxHold-len(p.hold) {
				p.holdLost = true
			}
			return
		}
		if p.rawUp > 0 {
			n := min(p.rawUp, len(data))
			p.rawUp -= n
			p.rawClient(data[:n], m)
			data = data[n:]
			continue
		}
		l, rest, ok := p.rd[proto.ToServer].Next(data, m)
		data = rest
		if !ok {
			return
		}
		p.clientLine(l)
	}
}

func (p *Parser) server(data []byte, m proto.Meta) {
	for len(data) > 0 && !p.tunnel {
		if p.rawDown > 0 {
			n := min(p.rawDown, len(data))
			p.rawDown -= n
			data = data[n:]
			continue
		}
		l, rest, ok := p.rd[proto.ToClient].Next(data, m)
		data = rest
		if !ok {
			return
		}
		p.serverLine(l)
		if p.tunnel {
			p.down = append(p.down, data[:min(len(data), p.lim.MaxHold)]...)
			return
		}
	}
}

// clientLine handles one client line.
func (p *Parser) clientLine(l lines.Line) {
	text := string(l.Data)
	switch {
	case p.inData:
		p.messageLine(l)
		return
	case p.auth != nil:
		if strings.TrimSpace(text) == "*" {
			addFlag(&p.auth.ev.Flags, "cancelled")
		} else {
			p.auth.respond(text, p.lim.MaxLine)
		}
		return
	case p.imap != nil:
		p.imapContinue(l)
		return
	}
	if strings.TrimSpace(text) == "" {
		return
	}
	ev := &Event{Frame: l.Meta.Frame, Time: l.Meta.Time, Protocol: p.proto.String(), Kind: "command"}
	if l.Long {
		addFlag(&ev.Flags, "long-line")
	}
	if l.AfterGap {
		addFlag(&ev.Flags, "after-gap")
	}
	switch p.proto {
	case SMTP:
		p.smtpCommand(ev, text)
	case POP3:
		p.pop3Command(ev, text)
	case IMAP:
		p.imapStart(ev, l)
	}
}

// split returns the upper-cased verb and the argument of a command line.
func split(text string) (verb, arg string) {
	verb, arg, _ = strings.Cut(text, " ")
	return strings.ToUpper(verb), arg
}

func (p *Parser) smtpCommand(ev *Event, text string) {
	verb, arg := split(text)
	ev.Command, ev.Argument = verb, arg
	switch verb {
	case "EHLO", "HELO", "LHLO":
		ev.Hostname = strings.TrimSpace(arg)
	case "MAIL", "RCPT":
		ev.Address = pathAddress(arg)
		if verb == "MAIL" {
			p.msg = nil
		}
	case "AUTH":
		p.startAuth(ev, arg)
	case "DATA":
		p.inData = true
		p.msg = &Event{Frame: ev.Frame, Time: ev.Time, Protocol: "smtp", Kind: "message", Command: "DATA", Message: &Message{}}
	case "BDAT":
		f := strings.Fields(arg)
		if len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil && n >= 0 {
				if p.msg == nil || p.msg.Command != "BDAT" {
					p.msg = &Event{Frame: ev.Frame, Time: ev.Time, Protocol: "smtp", Kind: "message", Command: "BDAT", Message: &Message{}}
				}
				p.rawUp, p.last = n, len(f) > 1 && strings.EqualFold(f[1], "LAST")
				if n == 0 && p.last {
					p.endMessage()
				}
			}
		}
	case "STARTTLS":
		p.tls = ev
	}
	p.enqueue(ev)
}

// pathAddress returns the mailbox of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func pathAddress(arg string) string {
	_, v, ok := strings.Cut(arg, ":")
	if !ok {
		return ""
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "<") {
		if i := strings.IndexByte(v, '>'); i > 0 {
			return v[1:i]
		}
		return v[1:]
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func (p *Parser) pop3Command(ev *Event, text string) {
	verb, arg := split(text)
	ev.Command, ev.Argument = verb, arg
	switch verb {
	case "USER":
		ev.User = arg
		p.user = arg
	case "PASS":
		ev.Kind, ev.Argument, ev.Mechanism, ev.User = "auth", "", "USER", p.user
		ev.Password, ev.PasswordPresent = []byte(arg), true
	case "APOP":
		f := strings.Fields(arg)
		ev.Kind, ev.Mechanism = "auth", "APOP"
		if len(f) > 0 {
			ev.User = f[0]
		}
	case "AUTH":
		if strings.TrimSpace(arg) != "" {
			p.startAuth(ev, arg)
		}
	case "STLS":
		p.tls = ev
	}
	p.enqueue(ev)
}

// startAuth begins a SASL exchange: "MECH [initial-response]".
func (p *Parser) startAuth(ev *Event, arg string) {
	mech, ir, hasIR := strings.Cut(strings.TrimSpace(arg), " ")
	ev.Kind, ev.Mechanism, ev.Argument = "auth", strings.ToUpper(mech), ""
	if ev.Command == "AUTHENTICATE" {
		ev.Argument = ""
	}
	a := &auth{ev: ev}
	if hasIR {
		a.respond(ir, p.lim.MaxLine)
	}
	p.auth = a
}

// messageLine handles one line of an SMTP DATA message.
func (p *Parser) messageLine(l lines.Line) {
	m := p.msg.Message
	if l.AfterGap {
		addFlag(&m.Flags, "gap")
	}
	d := l.Data
	if len(d) == 1 && d[0] == '.' {
		p.inData = false
		p.endMessage()
		return
	}
	if len(d) > 0 && d[0] == '.' {
		d = d[1:]
	}
	m.Size += int64(l.Len-(len(l.Data)-len(d))) + 2
	p.appendMessage(d)
	p.appendMessage([]byte("\r\n"))
}

func (p *Parser) appendMessage(b []byte) {
	m := p.msg.Message
	if keep := min(len(b), p.lim.MaxMessage-len(m.Data)); keep > 0 {
		m.Data = append(m.Data, b[:keep]...)
	}
	if len(b) > 0 && len(m.Data) == p.lim.MaxMessage && m.Size > int64(len(m.Data)) {
		addFlag(&m.Flags, "truncated")
	}
}

// rawClient handles bytes of a BDAT chunk or an IMAP literal.
func (p *Parser) rawClient(b []byte, m proto.Meta) {
	if p.imap != nil {
		p.imapLiteral(b)
		return
	}
	if p.msg != nil {
		p.msg.Message.Size += int64(len(b))
		p.appendMessage(b)
		if p.rawUp == 0 && p.last {
			p.endMessage()
		}
	}
}

// endMessage emits the message of the current transaction.
func (p *Parser) endMessage() {
	ev := p.msg
	p.msg = nil
	if ev == nil {
		return
	}
	msgHeaders(ev.Message)
	p.send(ev)
}

// msgHeaders fills From, To, Subject and Content-Type from the kept bytes.
func msgHeaders(m *Message) {
	r, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return
	}
	m.From, m.To, m.ContentType = r.Header.Get("From"), r.Header.Get("To"), r.Header.Get("Content-Type")
	m.Subject = r.Header.Get("Subject")
	if s, err := new(mimeDecoder).DecodeHeader(m.Subject); err == nil {
		m.Subject = s
	}
}

// enqueue waits for a command's reply; past MaxPending the oldest is
// emitted without one.
func (p *Parser) enqueue(ev *Event) {
	if len(p.queue) >= p.lim.MaxPending {
		old := p.queue[0]
		p.queue = p.queue[1:]
		addFlag(&old.Flags, "no-reply")
		p.send(old)
	}
	p.queue = append(p.queue, ev)
}

// serverLine handles one server line.
func (p *Parser) serverLine(l lines.Line) {
	text := string(l.Data)
	switch p.proto {
	case SMTP:
		p.smtpReply(l, text)
	case POP3:
		p.pop3Reply(l, text)
	case IMAP:
		p.imapReply(l, text)
	}
}

func (p *Parser) greeting(l lines.Line, text string) {
	p.greeted = true
	ev := &Event{Frame: l.Meta.Frame, Time: l.Meta.Time, Protocol: p.proto.String(), Kind: "greeting", Text: text}
	if l.AfterGap {
		addFlag(&ev.Flags, "after-gap")
	}
	p.send(ev)
}

func (p *Parser) smtpReply(l lines.Line, text string) {
	if len(text) < 3 || !isDigits(text[:3]) {
		return
	}
	code := text[:3]
	if len(text) > 3 && text[3] == '-' {
		return // continuation line of a multi-line reply
	}
	msg := strings.TrimSpace(text[3:])
	if !p.greeted && len(p.queue) == 0 {
		p.greeting(l, msg)
		return
	}
	p.greeted = true
	if code == "334" && p.auth != nil {
		return // SASL challenge: the client's next line is a response
	}
	if code == "354" {
		return // go ahead with DATA: the client is in message mode already
	}
	ev := p.pop()
	if ev == nil {
		return
	}
	ev.Reply, ev.Text = code, msg
	if ev.Command == "DATA" && code[0] != '3' && p.inData && p.msg != nil && p.msg.Message.Size == 0 {
		p.inData, p.msg = false, nil // refused: no message follows
	}
	p.done(ev, code == "220" && ev.Command == "STARTTLS")
}

func (p *Parser) pop3Reply(l lines.Line, text string) {
	if p.multi {
		if text == "." {
			p.multi = false
		}
		return
	}
	up := strings.ToUpper(text)
	var status string
	switch {
	case strings.HasPrefix(up, "+OK"):
		status = "+OK"
	case strings.HasPrefix(up, "-ERR"):
		status = "-ERR"
	case strings.HasPrefix(text, "+"):
		return // SASL challenge
	default:
		return
	}
	msg := strings.TrimSpace(text[len(status):])
	if !p.greeted && len(p.queue) == 0 {
		p.greeting(l, msg)
		return
	}
	p.greeted = true
	ev := p.pop()
	if ev == nil {
		return
	}
	ev.Reply, ev.Text = status, msg
	if status == "+OK" && pop3Multi(ev) {
		p.multi = true
	}
	p.done(ev, status == "+OK" && ev.Command == "STLS")
}

// pop3Multi says whether a positive reply to ev is multi-line (RFC 1939,
// 2449, 5034).
func pop3Multi(ev *Event) bool {
	switch ev.Command {
	case "CAPA", "RETR", "TOP":
		return true
	case "LIST", "UIDL":
		return strings.TrimSpace(ev.Argument) == ""
	case "AUTH":
		return ev.Mechanism == "" // the list of mechanisms
	}
	return false
}

// pop returns the oldest command waiting for a reply.
func (p *Parser) pop() *Event {
	if len(p.queue) == 0 {
		return nil
	}
	ev := p.queue[0]
	p.queue = p.queue[1:]
	return ev
}

// done emits a command that got its final reply; starttls says the server
// accepted STARTTLS.
func (p *Parser) done(ev *Event, starttls bool) {
	if p.auth != nil && p.auth.ev == ev {
		p.auth = nil
	}
	if p.tls == ev {
		p.tls = nil
		if starttls {
			ev.Kind = "starttls"
			p.tunnel = true
			p.up = append(p.rd[proto.ToServer].Pending(), p.hold...)
			p.hold = nil
		} else if len(p.hold) > 0 {
			held := p.hold
			p.hold = nil
			p.send(ev)
			p.client(held, proto.Meta{Frame: ev.Frame, Time: ev.Time})
			return
		}
	}
	p.send(ev)
}

func (p *Parser) send(ev *Event) {
	if p.emit != nil {
		p.emit(ev)
	}
}

// Gap implements proto.StreamParser.
func (p *Parser) Gap(dir proto.Dir, n int, m proto.Meta) {
	if dir > proto.ToClient || p.ended || p.tunnel || n <= 0 {
		return
	}
	if dir == proto.ToServer {
		if p.tls != nil {
			p.holdLost = true
			return
		}
		if p.rawUp >= n {
			p.rawUp -= n
			if p.msg != nil {
				p.msg.Message.Size += int64(n)
				addFlag(&p.msg.Message.Flags, "gap")
				if p.rawUp == 0 && p.last {
					p.endMessage()
				}
			}
			return
		}
		p.rawUp = 0
		if p.msg != nil {
			addFlag(&p.msg.Message.Flags, "gap")
		}
		if p.imap != nil {
			p.imapAbort()
		}
		p.rd[dir].Gap()
		return
	}
	if p.rawDown >= n {
		p.rawDown -= n
		return
	}
	p.rawDown = 0
	p.rd[dir].Gap()
}

// End implements proto.StreamParser: commands still waiting are emitted
// flagged "no-reply", an unfinished message "incomplete".
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	if p.imap != nil {
		p.imapAbort()
	}
	if p.msg != nil && p.msg.Message.Size > 0 {
		addFlag(&p.msg.Message.Flags, "incomplete")
		p.endMessage()
	}
	for _, ev := range p.queue {
		addFlag(&ev.Flags, "no-reply")
		p.send(ev)
	}
	p.queue = nil
	p.ended = true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func addFlag(flags *[]string, f string) {
	for _, x := range *flags {
		if x == f {
			return
		}
	}
	*flags = append(*flags, f)
}

// Detect names the protocol of a connection from the first bytes the
// server sent (down), those the client sent (up, may be empty) and the
// server port as a hint: "+OK" is POP3, "* OK" or "* PREAUTH" IMAP, a
// "220" greeting SMTP when the client says EHLO/HELO/LHLO, the greeting
// says SMTP, or the port is a mail port (25, 587, 2525). It returns 0
// when none fits; an FTP "220" greeting is left to pkg/proto/ftp.
func Detect(down, up []byte, serverPort uint16) Protocol {
	d := strings.ToUpper(string(down[:min(len(down), 64)]))
	switch {
	case strings.HasPrefix(d, "+OK"):
		return POP3
	case strings.HasPrefix(d, "* OK") || strings.HasPrefix(d, "* PREAUTH"):
		return IMAP
	case len(d) >= 4 && d[:3] == "220" && (d[3] == ' ' || d[3] == '-'):
		u := strings.ToUpper(string(up[:min(len(up), 5)]))
		switch {
		case strings.HasPrefix(u, "EHLO") || strings.HasPrefix(u, "HELO") || strings.HasPrefix(u, "LHLO"):
			return SMTP
		case strings.Contains(d, "SMTP"):
			return SMTP
		case len(up) == 0 && (serverPort == 25 || serverPort == 587 || serverPort == 2525):
			return SMTP
		}
	}
	return 0
}
