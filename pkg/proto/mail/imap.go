package mail

import (
	"mime"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/proto/internal/lines"
)

type mimeDecoder = mime.WordDecoder

const maxIMAPTokens = 64

// imapCmd is an IMAP command being assembled across literals (RFC 9051
// section 4.3: "{n}" or "{n+}" at the end of a line, n bytes follow).
type imapCmd struct {
	ev   *Event
	toks []string
	lit  []byte
}

// tokenize splits an IMAP command line into atoms and quoted strings, and
// returns the size of a literal announced at its end (-1 if none).
func tokenize(s string, toks []string) ([]string, int) {
	lit := -1
	if strings.HasSuffix(s, "}") {
		if i := strings.LastIndexByte(s, '{'); i >= 0 {
			n := strings.TrimSuffix(s[i+1:len(s)-1], "+")
			if v, err := strconv.Atoi(n); err == nil && v >= 0 {
				lit, s = v, s[:i]
			}
		}
	}
	for len(s) > 0 && len(toks) < maxIMAPTokens {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			toks = append(toks, b.String())
			s = s[min(i+1, len(s)):]
			continue
		}
		j := strings.IndexByte(s, ' ')
		if j < 0 {
			j = len(s)
		}
		toks = append(toks, s[:j])
		s = s[j:]
	}
	return toks, lit
}

func (p *Parser) imapStart(ev *Event, l lines.Line) {
	toks, lit := tokenize(string(l.Data), nil)
	c := &imapCmd{ev: ev, toks: toks}
	if lit >= 0 {
		p.imap, p.rawUp = c, lit
		if lit == 0 {
			p.imapLiteral(nil)
		}
		return
	}
	p.imapFinish(c)
}

// imapLiteral collects literal bytes; the last ones complete the token.
func (p *Parser) imapLiteral(b []byte) {
	c := p.imap
	if keep := min(len(b), p.lim.MaxLine-len(c.lit)); keep > 0 {
		c.lit = append(c.lit, b[:keep]...)
	}
	if p.rawUp == 0 && len(c.toks) < maxIMAPTokens {
		c.toks = append(c.toks, string(c.lit))
		c.lit = c.lit[:0]
	}
}

// imapContinue reads the line that follows a literal.
func (p *Parser) imapContinue(l lines.Line) {
	c := p.imap
	var lit int
	c.toks, lit = tokenize(string(l.Data), c.toks)
	if lit >= 0 {
		p.rawUp = lit
		if lit == 0 {
			p.imapLiteral(nil)
		}
		return
	}
	p.imap = nil
	p.imapFinish(c)
}

// imapAbort ends a command cut by a gap or the end of the connection.
func (p *Parser) imapAbort() {
	c := p.imap
	p.imap, p.rawUp = nil, 0
	addFlag(&c.ev.Flags, "after-gap")
	p.imapFinish(c)
}

func (p *Parser) imapFinish(c *imapCmd) {
	ev, t := c.ev, c.toks
	if len(t) > 0 {
		ev.Tag = t[0]
	}
	if len(t) > 1 {
		ev.Command = strings.ToUpper(t[1])
	}
	var args []string
	if len(t) > 2 {
		args = t[2:]
	}
	switch ev.Command {
	case "LOGIN":
		ev.Kind = "auth"
		if len(args) > 0 {
			ev.User = args[0]
		}
		if len(args) > 1 {
			ev.Password, ev.PasswordPresent = []byte(args[1]), true
		}
	case "AUTHENTICATE":
		p.startAuth(ev, strings.Join(args, " "))
	case "STARTTLS":
		p.tls = ev
	default:
		a := strings.Join(args, " ")
		ev.Argument = a[:min(len(a), p.lim.MaxLine)]
	}
	p.enqueue(ev)
}

func (p *Parser) imapReply(l lines.Line, text string) {
	if strings.HasSuffix(text, "}") {
		if i := strings.LastIndexByte(text, '{'); i >= 0 {
			if v, err := strconv.Atoi(text[i+1 : len(text)-1]); err == nil && v >= 0 {
				p.rawDown = v // a literal follows: not lines
			}
		}
	}
	tag, rest, _ := strings.Cut(text, " ")
	switch tag {
	case "*":
		if !p.greeted {
			p.greeting(l, rest)
		}
		return
	case "+":
		return // continuation request
	}
	p.greeted = true
	status, msg, _ := strings.Cut(rest, " ")
	status = strings.ToUpper(status)
	if status != "OK" && status != "NO" && status != "BAD" {
		return
	}
	for i, ev := range p.queue {
		if ev.Tag == tag {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			ev.Reply, ev.Text = status, msg
			p.done(ev, status == "OK" && ev.Command == "STARTTLS")
			return
		}
	}
}
