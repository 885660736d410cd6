package mail

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// auth is a SASL exchange in progress (RFC 4422 over SMTP AUTH, POP3 AUTH,
// IMAP AUTHENTICATE): the client lines are responses until the server's
// final reply.
type auth struct {
	ev    *Event
	steps int // responses read, counting an initial response
}

// decode64 decodes a SASL response; "=" is the empty initial response.
func decode64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "=" || s == "" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			return b2, true
		}
		return nil, false
	}
	return b, true
}

// respond interprets one base64 response of the exchange.
func (a *auth) respond(s string, maxLine int) {
	ev := a.ev
	b, ok := decode64(s)
	if !ok {
		addFlag(&ev.Flags, "bad-base64")
		return
	}
	a.steps++
	if len(b) > maxLine {
		b = b[:maxLine]
	}
	switch ev.Mechanism {
	case "PLAIN":
		// authzid NUL authcid NUL passwd (RFC 4616).
		if parts := bytes.SplitN(b, []byte{0}, 3); len(parts) == 3 {
			ev.User = printable(parts[1])
			if ev.User == "" {
				ev.User = printable(parts[0])
			}
			ev.Password, ev.PasswordPresent = parts[2], true
		}
	case "LOGIN":
		// Username, then password (draft-murchison-sasl-login).
		if ev.User == "" && !ev.PasswordPresent && a.steps == 1 {
			ev.User = printable(b)
		} else if !ev.PasswordPresent {
			ev.Password, ev.PasswordPresent = b, true
		}
	case "CRAM-MD5":
		// "user digest": the digest is not the password.
		if i := bytes.LastIndexByte(b, ' '); i > 0 {
			ev.User = printable(b[:i])
		}
	case "XOAUTH2", "OAUTHBEARER":
		// XOAUTH2: user=<u>^Aauth=Bearer <t>^A^A; OAUTHBEARER (RFC 7628):
		// n,a=<u>,^Aauth=Bearer <t>^A^A.
		for _, kv := range bytes.Split(b, []byte{1}) {
			switch {
			case bytes.HasPrefix(kv, []byte("user=")):
				ev.User = printable(kv[5:])
			case bytes.HasPrefix(kv, []byte("n,")):
				for _, g := range bytes.Split(kv, []byte(",")) {
					if bytes.HasPrefix(g, []byte("a=")) {
						ev.User = printable(g[2:])
					}
				}
			case bytes.HasPrefix(kv, []byte("auth=")):
				tok := kv[5:]
				if i := bytes.IndexByte(tok, ' '); i >= 0 {
					tok = tok[i+1:]
				}
				ev.Password, ev.PasswordPresent = tok, true
			}
		}
	}
}

// printable returns b as a string with control bytes replaced.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, string(b))
}
