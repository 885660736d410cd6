// Package ftp decodes the FTP control connection (RFC 959) in clear from
// the reassembled bytes of one TCP connection: commands paired with their
// replies, USER/PASS credentials, and AUTH TLS/SSL (RFC 4217), after which
// Tunnel hands back the bytes where TLS begins. Data connections (PORT,
// PASV, EPRT, EPSV) are named in the commands but not followed.
//
// Parser is a proto.StreamParser: incremental, bounded by Limits, never
// panicking; after a gap it drops the partial line and flags what follows.
package ftp

import (
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
	"github.com/phonehome/phonehome/pkg/proto/internal/lines"
)

// EventType is the "type" of FTP events.
const EventType = "ftp"

// Event is one client command with its reply, or the server greeting.
type Event struct {
	Frame uint64    `json:"-"`
	Time  time.Time `json:"-"`
	// Kind is "greeting", "command", "auth" (PASS, with the USER before
	// it) or "starttls" (the server accepted AUTH TLS: see Parser.Tunnel).
	Kind    string `json:"kind"`
	Command string `json:"command,omitempty"` // upper-cased verb
	// Argument is the rest of the line, except for PASS (see Password).
	Argument string `json:"argument,omitempty"`
	// Reply is the three-digit reply code; Text the reply (or greeting)
	// text of its last line.
	Reply           string `json:"reply,omitempty"`
	Text            string `json:"text,omitempty"`
	User            string `json:"user,omitempty"`
	PasswordPresent bool   `json:"password_present,omitempty"`
	// Password is the cleartext password, for the leak scanner; never
	// written to JSON. Anonymous logins send an e-mail address here.
	Password []byte `json:"-"`
	// Flags: "long-line", "after-gap", "no-reply".
	Flags []string `json:"flags,omitempty"`
}

// Field is one decoded value for the leak scanner.
type Field struct {
	Location string
	Data     []byte
}

// ScanFields calls yield with the user, the password and other command
// arguments (file names, addresses of PORT/EPRT), as "ftp.user",
// "ftp.password" and "ftp.argument"; an anonymous login's password is
// "ftp.anonymous-pass" (it is an e-mail address by convention, and the
// leak scanner treats fields named *password as secrets).
func (e *Event) ScanFields(yield func(Field)) {
	if e.Kind == "command" && e.Argument != "" && e.Command != "USER" {
		yield(Field{Location: "ftp.argument", Data: []byte(e.Argument)})
	}
	if e.User != "" {
		yield(Field{Location: "ftp.user", Data: []byte(e.User)})
	}
	if e.PasswordPresent && len(e.Password) > 0 {
		loc := "ftp.password"
		if anonymous(e.User) {
			loc = "ftp.anonymous-pass" // by convention an e-mail address, not a secret
		}
		yield(Field{Location: loc, Data: e.Password})
	}
}

// Finding returns "ftp-password-cleartext" and its message when the event
// carries a password of a user other than anonymous/ftp, else "".
func (e *Event) Finding() (kind, message string) {
	if !e.PasswordPresent || anonymous(e.User) {
		return "", ""
	}
	return "ftp-password-cleartext", "FTP password sent without TLS"
}

func anonymous(u string) bool {
	u = strings.ToLower(u)
	return u == "anonymous" || u == "ftp"
}

// Limits bound the memory of one Parser; zero fields take DefaultLimits.
type Limits struct {
	MaxLine    int // bytes of one line kept
	MaxPending int // commands waiting for a reply
	MaxHold    int // bytes kept after AUTH TLS for the hand-over
}

// DefaultLimits returns 8 KiB lines, 64 pending commands and 64 KiB held.
func DefaultLimits() Limits { return Limits{MaxLine: 8 << 10, MaxPending: 64, MaxHold: 64 << 10} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxPending <= 0 {
		l.MaxPending = d.MaxPending
	}
	if l.MaxHold <= 0 {
		l.MaxHold = d.MaxHold
	}
	return l
}

// Parser decodes one control connection. It implements proto.StreamParser.
type Parser struct {
	lim      Limits
	emit     func(*Event)
	rd       [2]lines.Reader
	greeted  bool
	multi    string // code of the multi-line reply being read ("" if none)
	queue    []*Event
	user     string
	tls      *Event // AUTH TLS waiting for its reply
	hold     []byte
	tunnel   bool
	up, down []byte
	ended    bool
}

// New returns a Parser; emit is called for each event (the Event belongs
// to the callee).
func New(lim Limits, emit func(*Event)) *Parser {
	p := &Parser{lim: lim.withDefaults(), emit: emit}
	p.rd[0].Max, p.rd[1].Max = p.lim.MaxLine, p.lim.MaxLine
	return p
}

// Detect reports whether a connection is FTP from the server's first
// bytes (a "220" greeting), the client's (may be empty) and the server
// port: the greeting says FTP, the client sends USER, AUTH or FEAT, or the
// port is 21 and the client has not spoken. SMTP's "220" greeting followed
// by EHLO/HELO is not FTP.
func Detect(down, up []byte, serverPort uint16) bool {
	d := strings.ToUpper(string(down[:min(len(down), 128)]))
	if len(d) < 4 || d[:3] != "220" || (d[3] != ' ' && d[3] != '-') {
		return false
	}
	u := strings.ToUpper(string(up[:min(len(up), 5)]))
	switch {
	case strings.HasPrefix(u, "EHLO") || strings.HasPrefix(u, "HELO") || strings.HasPrefix(u, "LHLO"):
		return false
	case strings.HasPrefix(u, "USER") || strings.HasPrefix(u, "AUTH") || strings.HasPrefix(u, "FEAT"):
		return true
	case strings.Contains(d, "FTP") && !strings.Contains(d, "SMTP"):
		return true
	}
	return len(up) == 0 && serverPort == 21
}

// Tunnel reports whether the connection switched to TLS after AUTH TLS,
// and the bytes each side sent from the switch on ("tls"), or "".
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
		dst := &p.up
		if dir == proto.ToClient {
			dst = &p.down
		}
		*dst = append(*dst, data[:min(len(data), max(0, p.lim.MaxHold-len(*dst)))]...)
		return
	}
	if dir == proto.ToServer && p.tls != nil {
		p.hold = append(p.hold, data[:min(len(data), max(0, p.lim.MaxHold-len(p.hold)))]...)
		return
	}
	for len(data) > 0 && !p.tunnel {
		l, rest, ok := p.rd[dir].Next(data, m)
		data = rest
		if !ok {
			return
		}
		if dir == proto.ToServer {
			p.command(l)
			if p.tls != nil {
				p.hold = append(p.hold, data[:min(len(data), p.lim.MaxHold)]...)
				return
			}
		} else {
			p.reply(l)
			if p.tunnel {
				p.down = append(p.down, data[:min(len(data), p.lim.MaxHold)]...)
				return
			}
		}
	}
}

func (p *Parser) command(l lines.Line) {
	text := string(l.Data)
	if strings.TrimSpace(text) == "" {
		return
	}
	// Telnet IAC sequences (IP, DM) may precede ABOR: drop them.
	text = strings.TrimLeft(text, "\xff\xf4\xf2")
	verb, arg, _ := strings.Cut(text, " ")
	ev := &Event{Frame: l.Meta.Frame, Time: l.Meta.Time, Kind: "command", Command: strings.ToUpper(verb), Argument: arg}
	if l.Long {
		addFlag(&ev.Flags, "long-line")
	}
	if l.AfterGap {
		addFlag(&ev.Flags, "after-gap")
	}
	switch ev.Command {
	case "USER":
		ev.User, p.user = arg, arg
	case "PASS":
		ev.Kind, ev.Argument, ev.User = "auth", "", p.user
		ev.Password, ev.PasswordPresent = []byte(arg), true
	case "AUTH":
		switch strings.ToUpper(strings.TrimSpace(arg)) {
		case "TLS", "SSL", "TLS-C", "TLS-P":
			p.tls = ev
		}
	}
	if len(p.queue) >= p.lim.MaxPending {
		old := p.queue[0]
		p.queue = p.queue[1:]
		addFlag(&old.Flags, "no-reply")
		p.send(old)
	}
	p.queue = append(p.queue, ev)
}

func (p *Parser) reply(l lines.Line) {
	text := string(l.Data)
	if p.multi != "" {
		// A multi-line reply ends with its code and a space (RFC 959 4.2).
		if len(text) >= 4 && text[:3] == p.multi && text[3] == ' ' {
			p.multi = ""
			p.final(l, text[:3], strings.TrimSpace(text[4:]))
		}
		return
	}
	if len(text) < 3 || !digits(text[:3]) {
		return
	}
	if len(text) > 3 && text[3] == '-' {
		p.multi = text[:3]
		return
	}
	p.final(l, text[:3], strings.TrimSpace(text[3:]))
}

func (p *Parser) final(l lines.Line, code, msg string) {
	if code[0] == '1' {
		return // preliminary reply: the final one follows
	}
	if !p.greeted && len(p.queue) == 0 {
		p.greeted = true
		ev := &Event{Frame: l.Meta.Frame, Time: l.Meta.Time, Kind: "greeting", Reply: code, Text: msg}
		if l.AfterGap {
			addFlag(&ev.Flags, "after-gap")
		}
		p.send(ev)
		return
	}
	p.greeted = true
	if len(p.queue) == 0 {
		return
	}
	ev := p.queue[0]
	p.queue = p.queue[1:]
	ev.Reply, ev.Text = code, msg
	if ev == p.tls {
		p.tls = nil
		if code == "234" {
			ev.Kind = "starttls"
			p.tunnel = true
			p.up = append(p.rd[proto.ToServer].Pending(), p.hold...)
			p.hold = nil
		} else if held := p.hold; len(held) > 0 {
			p.hold = nil
			p.send(ev)
			p.Data(proto.ToServer, held, proto.Meta{Frame: ev.Frame, Time: ev.Time})
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
	p.rd[dir].Gap()
	if dir == proto.ToClient {
		p.multi = ""
	}
}

// End implements proto.StreamParser: commands still waiting are emitted,
// flagged "no-reply".
func (p *Parser) End(m proto.Meta) {
	if p.ended {
		return
	}
	for _, ev := range p.queue {
		addFlag(&ev.Flags, "no-reply")
		p.send(ev)
	}
	p.queue, p.ended = nil, true
}

func digits(s string) bool {
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
