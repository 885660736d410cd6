// Package hostname checks the host names text protocols give in greetings
// and commands (SMTP and FTP banners, EHLO, XMPP stream addresses) before
// a decoder offers them as names.
package hostname

import "strings"

// Dotted returns s lower-cased, without a final dot, when it is a dotted
// DNS host name: labels of letters, digits, '-' and '_', at least one
// letter (not an address), and not a placeholder that names no server
// (localhost, *.localdomain, *.local). Otherwise it returns "".
func Dotted(s string) string {
	s = Device(s)
	if !strings.Contains(s, ".") || strings.HasPrefix(s, "localhost.") || strings.HasSuffix(s, ".localdomain") || strings.HasSuffix(s, ".local") {
		return ""
	}
	return s
}

// Device returns s lower-cased, without a final dot, when it is a host
// name a device may give itself (EHLO cam-7f3a, EHLO cam.local): one or
// more labels as in Dotted, with a letter, not "localhost". Otherwise "".
func Device(s string) string {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" || len(s) > 253 || s == "localhost" {
		return ""
	}
	letter := false
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			switch c := label[i]; {
			case c >= 'a' && c <= 'z':
				letter = true
			case c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return ""
			}
		}
	}
	if !letter {
		return ""
	}
	return s
}

// FirstWord returns Dotted of the first word of a greeting text
// ("mx.example.net ESMTP Postfix", "ftp.NetBSD.org FTP server ready.").
func FirstWord(text string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	return Dotted(w)
}
