package http

import (
	"bytes"
	"strings"
)

// isMethod reports whether m is a request method this package recognises
// without seeing the rest of the line: RFC 9110, WebDAV (RFC 4918, 3253,
// 3744, 5323, 4791, 5842), UPnP/SSDP and a few vendor methods.
func isMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
		"REPORT", "MKACTIVITY", "CHECKOUT", "CHECKIN", "UNCHECKOUT", "MERGE", "LABEL",
		"UPDATE", "VERSION-CONTROL", "BASELINE-CONTROL", "MKWORKSPACE", "MKCALENDAR",
		"ACL", "BIND", "REBIND", "UNBIND", "ORDERPATCH",
		"NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "M-SEARCH", "PURGE", "LINK", "UNLINK",
		"CCM_POST", "RPC_IN_DATA", "RPC_OUT_DATA", "SSTP_DUPLEX_POST", "POLL",
		"BCOPY", "BDELETE", "BMOVE", "BPROPFIND", "BPROPPATCH", "X-MS-ENUMATTS":
		return true
	}
	return false
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

const maxMethod = 24

// verdict is the answer of a start-line sniff.
type verdict uint8

const (
	no verdict = iota
	yes
	more // b is a plausible prefix: need more bytes
)

// sniffRequest says whether b begins with a request line: a known method
// and a space, or any upper-case token whose line ends in " HTTP/1.x".
func sniffRequest(b []byte) verdict { return sniffRequestIn(b, false) }

// sniffRequestIn is sniffRequest of b, or with whole of b and a newline
// after it (a line without its end, as the parser splits them), without
// copying b to append the newline.
func sniffRequestIn(b []byte, whole bool) verdict {
	i := 0
	for i < len(b) && i <= maxMethod && isTchar(b[i]) {
		i++
	}
	switch {
	case i == len(b) && i <= maxMethod && !whole:
		return more
	case i == 0 || i > maxMethod:
		return no
	case i == len(b) || b[i] == '\r' || b[i] == '\n':
		// A bare method on its own line; tshark takes it as a request.
		if isMethod(b[:i]) {
			return yes
		}
		return no
	case b[i] != ' ':
		return no
	case isMethod(b[:i]):
		return yes
	}
	for _, c := range b[:i] {
		if !('A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return no
		}
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 && whole {
		nl = len(b)
	}
	if nl < 0 {
		return more
	}
	line := bytes.TrimRight(b[:nl], "\r")
	if n := len(line); n > 9 && bytes.HasPrefix(line[n-9:], []byte(" HTTP/1.")) &&
		(line[n-1] == '0' || line[n-1] == '1') {
		return yes
	}
	return no
}

// sniffStatus says whether b begins with "HTTP/1.x NNN".
func sniffStatus(b []byte) verdict {
	const pfx = "HTTP/1."
	n := min(len(b), len(pfx))
	if string(b[:n]) != pfx[:n] {
		return no
	}
	if len(b) < 12 {
		for _, c := range b[n:min(len(b), 8)] {
			if c < '0' || c > '9' {
				return no
			}
		}
		return more
	}
	if !isDigit(b[7]) || b[8] != ' ' || !isDigit(b[9]) || !isDigit(b[10]) || !isDigit(b[11]) {
		return no
	}
	if len(b) > 12 && b[12] != ' ' && b[12] != '\r' && b[12] != '\n' {
		return no
	}
	return yes
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Detect reports whether b, the first bytes of either direction of a
// stream, begins with an HTTP/1.x request line or status line. It needs the
// method and a space, the first line for unusual methods, or 12 bytes of a
// status line.
func Detect(b []byte) bool {
	return sniffRequest(b) == yes || sniffStatus(b) == yes
}

// parseRequestLine splits "METHOD SP URI [SP VERSION]".
func parseRequestLine(line []byte) (method, uri, version string, ok bool) {
	if sniffRequestIn(line, true) != yes { // as sniffRequest(line + "\n")
		return "", "", "", false
	}
	m, rest, _ := bytes.Cut(line, []byte(" "))
	rest = bytes.TrimLeft(rest, " ")
	u, v, _ := bytes.Cut(rest, []byte(" "))
	return common(m), string(u), common(bytes.TrimSpace(v)), true
}

// common returns b as a string, without allocating for the methods,
// versions and reason phrases most messages carry.
func common(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "OPTIONS":
		return "OPTIONS"
	case "CONNECT":
		return "CONNECT"
	case "NOTIFY":
		return "NOTIFY"
	case "M-SEARCH":
		return "M-SEARCH"
	case "HTTP/1.1":
		return "HTTP/1.1"
	case "HTTP/1.0":
		return "HTTP/1.0"
	case "OK":
		return "OK"
	case "Not Modified":
		return "Not Modified"
	case "No Content":
		return "No Content"
	case "Partial Content":
		return "Partial Content"
	case "Found":
		return "Found"
	case "Moved Permanently":
		return "Moved Permanently"
	case "Moved Temporarily":
		return "Moved Temporarily"
	case "Not Found":
		return "Not Found"
	case "Forbidden":
		return "Forbidden"
	case "Bad Request":
		return "Bad Request"
	case "Unauthorized":
		return "Unauthorized"
	case "Continue":
		return "Continue"
	case "Switching Protocols":
		return "Switching Protocols"
	case "Internal Server Error":
		return "Internal Server Error"
	}
	return string(b)
}

// parseStatusLine splits "HTTP/1.x SP NNN [SP REASON]".
func parseStatusLine(line []byte) (version string, status int, reason string, ok bool) {
	if sniffStatus(line) != yes || len(line) < 12 {
		return "", 0, "", false
	}
	status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	return common(line[:8]), status, common(bytes.TrimSpace(line[12:])), true
}
