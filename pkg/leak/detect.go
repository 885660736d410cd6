package leak

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// generic runs the detectors that need no prior knowledge: every field
// whose key names a class is validated for that class, and strong
// patterns (e-mail, separated MAC, +phone, a clear coordinate pair) are
// searched without a key.
func (lc *layerCtx) generic() {
	s := lc.st.s
	type coord struct {
		f   *field
		val float64
		txt string
	}
	var lats, lons []coord
	for i := range lc.fields {
		f := &lc.fields[i]
		class := s.keys.classOf(lc.keyBytes(f))
		if class == "" || f.ve-f.vs > 512 || f.ve <= f.vs {
			continue
		}
		raw := lc.data[f.vs:f.ve]
		if bytes.IndexByte(raw, '%') >= 0 && pctEscaped(raw) || bytes.IndexByte(raw, '\\') >= 0 {
			continue // decoded in a child layer, with this key
		}
		v := strings.TrimSpace(string(raw))
		if v == "" {
			continue
		}
		switch class {
		case "gps_lat", "gps_lon":
			if x, ok := parseCoord(v, 3); ok {
				c := coord{f, x, v}
				if class == "gps_lat" {
					lats = append(lats, c)
				} else {
					lons = append(lons, c)
				}
			}
			continue
		case "api_key", "session_token":
			if !strings.HasPrefix(lc.st.base, "url") && !strings.HasPrefix(lc.loc, "url") {
				continue
			}
		}
		if id, val := s.validate(class, lc.key(f), v); id != "" {
			lc.add(Hit{Identifier: id, Value: val, Encoding: lc.enc([]string{"plain"})}, f.vs, f.ve)
		}
	}
	// Pair each latitude with the nearest longitude field.
	for _, a := range lats {
		var best *coord
		for j := range lons {
			b := &lons[j]
			if best == nil || abs(b.f.vs-a.f.vs) < abs(best.f.vs-a.f.vs) {
				best = b
			}
		}
		if best != nil && abs(best.f.vs-a.f.vs) <= 512 && a.val >= -90 && a.val <= 90 && !(a.val == 0 && best.val == 0) {
			lc.add(Hit{Identifier: "gps", Value: a.txt + "," + best.txt, Encoding: lc.enc([]string{"plain"})}, a.f.vs, a.f.ve)
		}
	}
	lc.keylessEmail()
	lc.keylessMAC()
	lc.bareMAC()
	lc.keylessPhone()
	lc.keylessPair()
	if lc.depth == 0 {
		lc.basicAuth()
	}
	if lc.depth == 0 && len(lc.data) > 0 && len(lc.data) <= 256 && lowerHasSuffix(lc.st.base, "password") {
		lc.add(Hit{Identifier: "password", Value: string(lc.data), Encoding: lc.enc([]string{"plain"})}, 0, len(lc.data))
	}
}

// pctEscaped reports whether b holds a %XX escape.
func pctEscaped(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && hexVal(b[i+1]) >= 0 && hexVal(b[i+2]) >= 0 {
			return true
		}
	}
	return false
}

// validate checks v against class; it returns the identifier name and the
// normalised value, or "" when v is not a valid value of the class.
func (s *Scanner) validate(class, key, v string) (string, string) {
	c := stripSeps(v)
	switch class {
	case "imei", "imeisv", "meid":
		switch {
		case validIMEI(c):
			return "imei", c
		case validIMEISV(c):
			return "imeisv", c
		case validMEID(strings.ToUpper(c)) && (class == "meid" || !allDigits(c)):
			return "meid", strings.ToUpper(c)
		}
	case "imsi":
		if s.validIMSI(c) {
			return "imsi", c
		}
	case "iccid":
		if x := validICCID(c); x != "" {
			return "iccid", x
		}
	case "phone":
		if p := s.phone(v, true); p != "" {
			return "phone", p
		}
	case "mac", "bssid":
		if m := parseMAC(strings.TrimSpace(v), true); m != "" {
			return class, m
		}
	case "android_id":
		if len(v) == 16 && allHex(v) && !monotone(v) {
			return "android_id", strings.ToLower(v)
		}
	case "advertising_id":
		if isUUID(v) && !monotone(stripSeps(v)) {
			return "advertising_id", strings.ToLower(v)
		}
		if normKey(key) == "oaid" && len(v) >= 16 && len(v) <= 64 && allHex(v) && !monotone(v) {
			return "advertising_id", strings.ToLower(v)
		}
	case "device_id":
		switch {
		case isUUID(v) && !monotone(stripSeps(v)):
			return "device_id", strings.ToLower(v)
		case len(v) >= 12 && len(v) <= 40 && allHex(v) && !allDigits(v) && !monotone(v):
			return "device_id", strings.ToLower(v)
		case len(v) >= 10 && len(v) <= 20 && allDigits(v) && !monotone(v) && !looksLikeTime(v):
			return "device_id", v
		}
	case "email":
		if validEmail(v) {
			return "email", v
		}
	case "gps":
		if a, b, ok := strings.Cut(v, ","); ok {
			x, ok1 := parseCoord(strings.TrimSpace(a), 3)
			y, ok2 := parseCoord(strings.TrimSpace(b), 3)
			if ok1 && ok2 && x >= -90 && x <= 90 && !(x == 0 && y == 0) {
				return "gps", strings.TrimSpace(a) + "," + strings.TrimSpace(b)
			}
		}
	case "ssid":
		l := strings.ToLower(v)
		if len(v) <= 32 && printable(v) && l != "<unknown ssid>" && l != "null" && l != "none" && l != "unknown" && l != "0" && l != "false" && l != "true" {
			return "ssid", v
		}
	case "serial":
		if validSerial(v) {
			return "serial", v
		}
	case "lan_ip":
		if a := lanIP(v); a != "" {
			return "lan_ip", a
		}
	case "hostname":
		if validHostname(v) && lanIP(v) == "" {
			return "hostname", v
		}
	case "password":
		l := strings.ToLower(v)
		if len(v) <= 128 && l != "null" && l != "none" && l != "undefined" && strings.Trim(v, "*") != "" {
			return "password", v
		}
	case "api_key", "session_token":
		if tokenLike(v) {
			return class, v
		}
	case "jid":
		if validEmail(v) {
			return "jid", v
		}
	}
	return "", ""
}

// looksLikeTime rejects Unix times in seconds or milliseconds (2001-2033).
func looksLikeTime(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	return n >= 1e9 && n < 2e9 || n >= 1e12 && n < 2e12
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// parseCoord parses a decimal coordinate with at least minDec decimals.
func parseCoord(s string, minDec int) (float64, bool) {
	dot := strings.IndexByte(s, '.')
	if dot < 1 || len(s)-dot-1 < minDec || len(s)-dot-1 > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.' || i == 0 && s[i] == '-') {
			return 0, false
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x < -180 || x > 180 {
		return 0, false
	}
	return x, true
}

// phone validates a phone number; without a key only the +E.164 form counts.
func (s *Scanner) phone(v string, keyed bool) string {
	v = strings.TrimSpace(v)
	digits := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0, c == ' ', c == '-', c == '(', c == ')', c == '.':
		default:
			return ""
		}
	}
	if digits < 7 || digits > 15 {
		return ""
	}
	try := func(region string, x string) string {
		n, err := phonenumbers.Parse(x, region)
		if err != nil || !phonenumbers.IsValidNumber(n) {
			return ""
		}
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	if strings.HasPrefix(v, "+") {
		return try("ZZ", v)
	}
	if !keyed {
		return ""
	}
	if strings.HasPrefix(v, "00") {
		return try("ZZ", "+"+v[2:])
	}
	if strings.HasPrefix(v, "0") {
		for _, r := range s.opt.PhoneRegions {
			if p := try(r, v); p != "" {
				return p
			}
		}
		return ""
	}
	// Without "+" or trunk prefix: an international number without "+".
	return try("ZZ", "+"+v)
}

func isEmailDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// emailSeparator ends the local part of an e-mail found without a key:
// RFC 5322 allows these in a local part, but in captured traffic they
// separate query parameters and path segments ("a=1&email=u@x.org").
func emailSeparator(c byte) bool { return c == '=' || c == '&' || c == '?' || c == '/' }

// keylessEmail finds local@domain anywhere.
func (lc *layerCtx) keylessEmail() {
	b := lc.data
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '@')
		if j < 0 {
			return
		}
		at := i + j
		i = at + 1
		s := at
		for s > 0 && isLocalChar(b[s-1]) && !emailSeparator(b[s-1]) && at-s < 64 {
			s--
		}
		e := at + 1
		for e < len(b) && isEmailDomainChar(b[e]) && e-at < 255 {
			e++
		}
		for e > at+1 && (b[e-1] == '.' || b[e-1] == '-') {
			e--
		}
		for s < at && (b[s] == '.' || b[s] == '=' || b[s] == '&' || b[s] == '%') {
			s++
		}
		if s == at || e == at+1 {
			continue
		}
		if v := string(b[s:e]); validEmail(v) {
			// An XMPP address (jid=user@host) has an e-mail's shape but
			// names a chat account on a server, not a mailbox.
			id := "email"
			if f := lc.fieldAt(s, e); f != nil && lc.st.s.keys.classOf(lc.keyBytes(f)) == "jid" {
				id = "jid"
			}
			lc.add(Hit{Identifier: id, Value: v, Encoding: lc.enc([]string{"plain"})}, s, e)
		}
	}
}

// keylessMAC finds aa:bb:cc:dd:ee:ff and aa-bb-cc-dd-ee-ff.
func (lc *layerCtx) keylessMAC() {
	b := lc.data
	colon, dash := finder{c: ':'}, finder{c: '-'}
	// i+2 is the first separator; candidates come in order, from the
	// separators found.
	for p := 2; p+15 <= len(b); p++ {
		if p = min(colon.next(b, p), dash.next(b, p)); p+15 > len(b) {
			return
		}
		i := p - 2
		sep := b[p]
		if i > 0 && (hexVal(b[i-1]) >= 0 || b[i-1] == sep || b[i-1] == '.') {
			continue
		}
		if i+17 < len(b) && (hexVal(b[i+17]) >= 0 || b[i+17] == sep) {
			continue
		}
		ok := true
		for k := 0; k < 17 && ok; k++ {
			if k%3 == 2 {
				ok = b[i+k] == sep
			} else {
				ok = hexVal(b[i+k]) >= 0
			}
		}
		if !ok {
			continue
		}
		if m := parseMAC(string(b[i:i+17]), false); m != "" {
			f := lc.fieldAt(i, i+17)
			id := "mac"
			if f != nil && lc.st.s.keys.classOf(lc.keyBytes(f)) == "bssid" {
				id = "bssid"
			}
			lc.add(Hit{Identifier: id, Value: m, Encoding: lc.enc([]string{"plain"})}, i, i+17)
			p = i + 18 // the next candidate starts after this address
		}
	}
}

// keylessPhone finds "+" followed by a valid international number.
func (lc *layerCtx) keylessPhone() {
	b := lc.data
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '+')
		if j < 0 {
			return
		}
		p := i + j
		i = p + 1
		if p+1 >= len(b) || b[p+1] < '1' || b[p+1] > '9' || p > 0 && (isAlnum(b[p-1]) || b[p-1] == '.') {
			continue
		}
		e, digits := p+1, 0
		for e < len(b) && e-p <= 20 {
			c := b[e]
			if c >= '0' && c <= '9' {
				digits++
			} else if !(c == ' ' || c == '-' || c == '(' || c == ')') {
				break
			}
			e++
		}
		for e > p && (b[e-1] == ' ' || b[e-1] == '-' || b[e-1] == '(') {
			e--
		}
		if digits < 8 || e < len(b) && (isAlnum(b[e]) || b[e] == '.' || b[e] == ':') {
			continue
		}
		if ph := lc.st.s.phone(string(b[p:e]), false); ph != "" {
			lc.add(Hit{Identifier: "phone", Value: ph, Encoding: lc.enc([]string{"plain"})}, p, e)
		}
	}
}

// number parses [-]digits.digits at i; it returns the end and decimals.
func number(b []byte, i int) (end, decimals int) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	d0 := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == d0 || j-d0 > 3 || j >= len(b) || b[j] != '.' {
		return -1, 0
	}
	j++
	f0 := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j, j - f0
}

// keylessPair finds a lone "lat,lon" pair with 4-8 decimals each, not part
// of a longer list of numbers.
func (lc *layerCtx) keylessPair() {
	b := lc.data
	dot := -1 // the first '.' after i (a number's is at most 4 bytes after its start)
	for i := 0; i < len(b); i++ {
		if dot <= i {
			if dot = indexFrom(b, i+1, '.'); dot < 0 {
				return
			}
		}
		if dot > i+4 {
			i = dot - 5 // no number starts before dot-4
			continue
		}
		if charClass[b[i]]&cNumStart == 0 {
			continue
		}
		if i > 0 {
			p := b[i-1]
			if p >= '0' && p <= '9' || p == '.' || p == '-' || p == ',' || isAlnum(p) {
				continue
			}
		}
		e1, d1 := number(b, i)
		if e1 < 0 {
			continue
		}
		if d1 < 4 || d1 > 8 {
			i = e1
			continue
		}
		j := e1
		for j < len(b) && b[j] == ' ' {
			j++
		}
		if j >= len(b) || b[j] != ',' {
			i = e1
			continue
		}
		j++
		for j < len(b) && b[j] == ' ' {
			j++
		}
		e2, d2 := number(b, j)
		if e2 < 0 || d2 < 4 || d2 > 8 || e2 < len(b) && (b[e2] == ',' || b[e2] == '.' || isAlnum(b[e2])) {
			i = e1
			continue
		}
		la, _ := strconv.ParseFloat(string(b[i:e1]), 64)
		lo, _ := strconv.ParseFloat(string(b[j:e2]), 64)
		if la >= -90 && la <= 90 && lo >= -180 && lo <= 180 && !(la == 0 && lo == 0) {
			lc.add(Hit{Identifier: "gps", Value: string(b[i:e1]) + "," + string(b[j:e2]), Encoding: lc.enc([]string{"plain"})}, i, e2)
		}
		i = e2
	}
}

// basicAuth reports HTTP Basic credentials sent in clear.
func (lc *layerCtx) basicAuth() {
	if base := lc.st.base; !lowerIs(base, "header:authorization") && !lowerIs(base, "header:proxy-authorization") {
		return
	}
	v := bytes.TrimSpace(lc.data)
	scheme, cred, ok := bytes.Cut(v, []byte(" "))
	if !ok || len(cred) == 0 {
		return
	}
	switch strings.ToLower(string(scheme)) {
	case "basic":
		dec, ok := decodeB64(bytes.TrimSpace(cred))
		if !ok || bytes.IndexByte(dec, ':') < 0 || !printable(string(dec)) {
			return
		}
		lc.add(Hit{Identifier: "basic_auth", Value: string(dec), Encoding: lc.enc([]string{"base64", "plain"})}, 0, len(lc.data))
	case "bearer", "token":
		if t := string(bytes.TrimSpace(cred)); len(t) >= 16 {
			lc.add(Hit{Identifier: "api_key", Value: t, Encoding: lc.enc([]string{"plain"})}, 0, len(lc.data))
		}
	}
}
