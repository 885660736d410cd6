package mail

import (
	"strings"
	"time"
)

// EventType is the "type" of mail events.
const EventType = "mail"

// Event is one client command with the server's reply to it, the server
// greeting, a message sent with DATA or BDAT, or the start of TLS.
type Event struct {
	Frame uint64    `json:"-"`
	Time  time.Time `json:"-"`
	// Protocol is "smtp", "pop3" or "imap".
	Protocol string `json:"protocol"`
	// Kind is "greeting" (the server's banner), "command", "auth" (an
	// authentication exchange: Mechanism, User, Password), "message" (the
	// mail an SMTP client sent) or "starttls" (the server accepted
	// STARTTLS/STLS: the bytes that follow are TLS, see Parser.Tunnel).
	Kind string `json:"kind"`
	// Tag is the IMAP command tag.
	Tag string `json:"tag,omitempty"`
	// Command is the upper-cased verb (EHLO, MAIL, RCPT, USER, LOGIN...).
	Command string `json:"command,omitempty"`
	// Argument is the rest of the command line as sent, except where it
	// carries a credential (PASS, LOGIN, AUTH initial responses): there it
	// is left out and the credential is in User and Password.
	Argument string `json:"argument,omitempty"`
	// Text is the greeting text, or the text of the reply.
	Text string `json:"text,omitempty"`
	// Reply is the server's answer: the SMTP code ("250"), "+OK"/"-ERR"
	// (POP3) or "OK"/"NO"/"BAD" (IMAP); empty when none was seen.
	Reply string `json:"reply,omitempty"`
	// Address is the mailbox of MAIL FROM or RCPT TO, without the brackets.
	Address string `json:"address,omitempty"`
	// Hostname is the EHLO/HELO/LHLO argument.
	Hostname string `json:"hostname,omitempty"`

	// Authentication (Kind "auth", and USER/PASS/LOGIN/APOP commands).
	Mechanism       string `json:"mechanism,omitempty"`
	User            string `json:"user,omitempty"`
	PasswordPresent bool   `json:"password_present,omitempty"`
	// Password is the cleartext password or bearer token, for the leak
	// scanner; never written to JSON.
	Password []byte `json:"-"`

	Message *Message `json:"message,omitempty"`
	// Flags: "long-line" (cut at Limits.MaxLine), "after-gap" (bytes were
	// lost before this line), "bad-base64" (a SASL response that did not
	// decode), "cancelled" (the client cancelled the exchange with "*"),
	// "no-reply" (the connection ended or too many commands were waiting).
	Flags []string `json:"flags,omitempty"`
}

// Message is the mail of one SMTP transaction as the client sent it,
// dot-unstuffed.
type Message struct {
	// Size is the message size on the wire; Data holds at most
	// Limits.MaxMessage bytes of it and is not written to JSON.
	Size    int64  `json:"size"`
	Data    []byte `json:"-"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Subject string `json:"subject,omitempty"`
	// ContentType is the message's Content-Type header.
	ContentType string   `json:"content_type,omitempty"`
	Flags       []string `json:"flags,omitempty"` // "truncated", "gap", "incomplete"
}

// Field is one decoded value for the leak scanner: where it was, and the
// content type of a message body.
type Field struct {
	Location    string
	Data        []byte
	ContentType string
}

// ScanFields calls yield with each value the leak scanner reads: the
// hostname, addresses, user and password, other command arguments, and
// the message. Locations are "<protocol>.<field>", e.g. "smtp.rcpt_to".
func (e *Event) ScanFields(yield func(Field)) {
	pfx := e.Protocol + "."
	add := func(name string, v []byte) {
		if len(v) > 0 {
			yield(Field{Location: pfx + name, Data: v})
		}
	}
	switch {
	case e.Command == "MAIL":
		add("mail_from", []byte(e.Address))
	case e.Command == "RCPT":
		add("rcpt_to", []byte(e.Address))
	case e.Hostname != "":
		add("hostname", []byte(e.Hostname))
	case e.Kind == "command" && e.Argument != "":
		add("argument", []byte(e.Argument))
	}
	add("user", []byte(e.User))
	if e.PasswordPresent {
		add("password", e.Password)
	}
	if m := e.Message; m != nil && len(m.Data) > 0 {
		yield(Field{Location: pfx + "message", Data: m.Data, ContentType: m.ContentType})
	}
}

// Finding returns the kind and message of the finding the event is
// evidence of — a password or token sent in clear ("smtp-password-cleartext"
// and so on) — or "" when there is none.
func (e *Event) Finding() (kind, message string) {
	if !e.PasswordPresent {
		return "", ""
	}
	return e.Protocol + "-password-cleartext", strings.ToUpper(e.Protocol) + " password sent without TLS"
}
