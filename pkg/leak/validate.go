package leak

import (
	"bufio"
	"bytes"
	_ "embed"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

//go:embed mcc.txt
var mccData []byte

// mccSet parses mcc.txt into a set of 3-digit codes.
func mccSet() map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(mccData))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		code, cc, _ := strings.Cut(line, " ")
		m[code] = cc
	}
	return m
}

// luhn reports whether the decimal string s passes the Luhn check.
func luhn(s string) bool {
	sum, dbl := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return sum%10 == 0
}

// luhnDigit returns the Luhn check digit for the decimal string s.
func luhnDigit(s string) byte {
	for d := byte('0'); d <= '9'; d++ {
		if luhn(s + string(d)) {
			return d
		}
	}
	return '0'
}

func allDigits[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allHex[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// monotone reports strings with one repeated character or a plain
// ascending/descending run (000000..., 123456789...), which are placeholders.
func monotone(s string) bool {
	if len(s) < 2 {
		return true
	}
	same, up, down := true, true, true
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			same = false
		}
		if s[i] != s[i-1]+1 && !(s[i-1] == '9' && s[i] == '0') {
			up = false
		}
		if s[i] != s[i-1]-1 {
			down = false
		}
	}
	return same || up || down
}

// stripSeps removes spaces, dashes, dots, colons and slashes.
func stripSeps(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', ':', '/', '(', ')':
			return -1
		}
		return r
	}, s)
}

// rbi are the GSMA Reporting Body Identifiers (first two TAC digits).
var rbi = map[string]bool{"01": true, "10": true, "30": true, "33": true, "35": true, "44": true,
	"45": true, "49": true, "50": true, "51": true, "52": true, "53": true, "54": true, "86": true,
	"91": true, "98": true, "99": true}

// validIMEI: 15 digits, known reporting body, Luhn, not a placeholder.
func validIMEI(s string) bool {
	return len(s) == 15 && allDigits(s) && rbi[s[:2]] && luhn(s) && !monotone(s[:14]) && !strings.HasPrefix(s[2:], "000000")
}

// validIMEISV: 16 digits, known reporting body, no check digit.
func validIMEISV(s string) bool {
	return len(s) == 16 && allDigits(s) && rbi[s[:2]] && !monotone(s[:14])
}

// validMEID: 14 hex digits (optionally a 15th check digit) whose first
// two digits (regional code) are A0-FF, or the decimal 18-digit form.
func validMEID(s string) bool {
	if len(s) == 18 && allDigits(s) {
		return !monotone(s)
	}
	if (len(s) != 14 && len(s) != 15) || !allHex(s) || monotone(s) {
		return false
	}
	return hexVal(s[0]) >= 10 || s[:2] == "99" || s[:2] == "98" || s[:2] == "97"
}

func (sc *Scanner) validIMSI(s string) bool {
	if (len(s) != 15 && len(s) != 14) || !allDigits(s) || monotone(s) {
		return false
	}
	_, ok := sc.mcc[s[:3]]
	return ok
}

// validICCID: 89 + 17-18 more digits, Luhn (a trailing F pad is dropped).
func validICCID(s string) string {
	s = strings.TrimRight(strings.ToUpper(s), "F")
	if len(s) < 18 || len(s) > 20 || !allDigits(s) || !strings.HasPrefix(s, "89") || monotone(s[2:]) {
		return ""
	}
	if len(s) >= 19 && luhn(s) {
		return s
	}
	if len(s) == 19 || len(s) == 18 {
		// Some modems drop the check digit.
		return ""
	}
	return ""
}

// parseMAC accepts aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff and (bare=true) 12 hex.
// It returns the lower-case colon form, or "" for invalid, zero, broadcast
// and the Android placeholder 02:00:00:00:00:00.
func parseMAC(s string, bare bool) string {
	var hw net.HardwareAddr
	if len(s) == 12 && bare && allHex(s) {
		hw = make(net.HardwareAddr, 6)
		for i := 0; i < 6; i++ {
			hw[i] = byte(hexVal(s[2*i])<<4 | hexVal(s[2*i+1]))
		}
	} else {
		if len(s) != 17 && len(s) != 14 {
			return ""
		}
		h, err := net.ParseMAC(s)
		if err != nil || len(h) != 6 {
			return ""
		}
		hw = h
	}
	switch hw.String() {
	case "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:00":
		return ""
	}
	if hw[0]&1 == 1 { // multicast
		return ""
	}
	return hw.String()
}

// isUUID reports the 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if hexVal(s[i]) < 0 {
				return false
			}
		}
	}
	return true
}

// validEmail checks local@domain with an ICANN public suffix.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 || len(s)-at-1 < 4 || len(s) > 254 {
		return false
	}
	local, dom := s[:at], strings.ToLower(s[at+1:])
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !isLocalChar(local[i]) {
			return false
		}
	}
	labels := strings.Split(dom, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if allDigits(tld) || len(tld) < 2 {
		return false
	}
	ps, icann := publicsuffix.PublicSuffix(dom)
	return icann && ps != dom
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

// lanIP returns the address if s is a private, link-local or ULA address.
func lanIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	if a.IsPrivate() || a.IsLinkLocalUnicast() {
		return a.String()
	}
	return ""
}

// validHostname accepts a DNS-like device name (letters, digits, - _ .),
// 3-63 characters with at least one letter, not "localhost".
func validHostname(s string) bool {
	if len(s) < 3 || len(s) > 63 || strings.EqualFold(s, "localhost") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ' ':
		default:
			return false
		}
	}
	return letter
}

// validSerial: 6-32 alphanumerics (dashes allowed) with a digit, not a placeholder.
func validSerial(s string) bool {
	if len(s) < 6 || len(s) > 32 || monotone(s) {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-':
		default:
			return false
		}
	}
	up := strings.ToLower(s)
	return digit && up != "unknown" && !strings.HasPrefix(up, "0123456789")
}

// tokenLike: an API key or token worth reporting: 16-512 URL-safe characters
// with both letters and digits.
func tokenLike(s string) bool {
	if len(s) < 16 || len(s) > 512 {
		return false
	}
	var letter, digit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case strings.IndexByte("-_.~+/=%", c) >= 0:
		default:
			return false
		}
	}
	return letter && digit
}
