package leak

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// gpsPart marks a pattern that is one coordinate of a known position.
type gpsPart uint8

const (
	gpsNone gpsPart = iota
	gpsLat
	gpsLon
)

// pat is what one automaton pattern means: which known value, in which
// encoding chain, and whether its ends must sit on a token boundary.
type pat struct {
	v     int32
	enc   []string
	bound bool
	gps   gpsPart
	// b64 patterns: the value's bytes and its alignment (0-2) inside the
	// blob, checked by decoding the match (the edge characters of a
	// base64 run only carry part of a byte).
	b64   bool
	align int8
	raw   string
	// full is set when the pattern is a prefix of a longer form (hash
	// digests): the match is checked against full.
	full string
}

// hashPrefix is how many characters of a digest go into the automaton.
const hashPrefix = 20

// minPlain is the shortest value searched as plain text.
const minPlain = 4

// formSet collects patterns for one automaton, merging duplicates.
type formSet struct {
	idx  map[string]int
	pats [][]byte
	info [][]pat
}

func newFormSet() *formSet { return &formSet{idx: map[string]int{}} }

func (f *formSet) add(s string, p pat) {
	if len(s) < minPlain {
		return
	}
	i, ok := f.idx[s]
	if !ok {
		i = len(f.pats)
		f.idx[s] = i
		f.pats = append(f.pats, []byte(s))
		f.info = append(f.info, nil)
	}
	for _, q := range f.info[i] {
		if q.v == p.v && q.gps == p.gps && q.raw == p.raw && q.align == p.align && q.full == p.full && strings.Join(q.enc, ">") == strings.Join(p.enc, ">") {
			return
		}
	}
	f.info[i] = append(f.info[i], p)
}

// normalisations returns the spellings of a value that apps use, most
// specific first: as written, separator and case variants, and per type
// the usual alternative forms (E.164 and national phone numbers, MAC
// spellings, IMEI without check digit, UUID without dashes).
func normalisations(typ, v string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(v)
	add(strings.ToLower(v))
	add(strings.ToUpper(v))
	c := stripSeps(v)
	add(c)
	add(strings.ToLower(c))
	add(strings.ToUpper(c))
	switch {
	case typ == "mac" || typ == "bssid" || parseMAC(v, true) != "":
		if m := parseMAC(stripSeps(v), true); m != "" {
			for _, s := range []string{m, strings.ReplaceAll(m, ":", "-")} {
				add(s)
				add(strings.ToUpper(s))
			}
			cm := strings.ReplaceAll(m, ":", "")
			add(cm[0:4] + "." + cm[4:8] + "." + cm[8:12])
		}
	case typ == "phone" || typ == "msisdn":
		for _, s := range phoneForms(v) {
			add(s)
		}
	case typ == "imei" && len(c) == 15 && allDigits(c):
		add(c[:14])
		add(c[:2] + "-" + c[2:8] + "-" + c[8:14] + "-" + c[14:])
	}
	return out
}

// phoneForms returns E.164 with and without "+", the 00 prefix, and the
// national forms (with trunk prefix, and the bare national number).
func phoneForms(v string) []string {
	region := "ZZ"
	if !strings.HasPrefix(strings.TrimSpace(v), "+") {
		region = "DE"
	}
	n, err := phonenumbers.Parse(v, region)
	if err != nil {
		return nil
	}
	e := phonenumbers.Format(n, phonenumbers.E164)
	nat := phonenumbers.Format(n, phonenumbers.NATIONAL)
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	return []string{e, e[1:], "00" + e[1:], nat, stripSeps(nat), nsn, phonenumbers.Format(n, phonenumbers.INTERNATIONAL)}
}

// b64Inner returns, for each of the three byte alignments a value can have
// inside a longer base64 blob, the run of base64 characters that depends
// only on the value's bytes.
func b64Inner(s string) []string {
	out := make([]string, 3)
	for k := 0; k < 3; k++ {
		buf := make([]byte, k+len(s))
		copy(buf[k:], s)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		start := 0
		if k > 0 {
			start = k + 1 // k=1: chars 0-1 touch the filler; k=2: chars 0-2
		}
		l := len(buf)
		end := l / 3 * 4
		switch l % 3 {
		case 1:
			end++
		case 2:
			end += 2
		}
		if end-start >= 6 {
			out[k] = enc[start:end]
		}
	}
	return out
}

func toURLAlphabet(s string) string {
	return strings.NewReplacer("+", "-", "/", "_").Replace(s)
}

// addValueForms adds every searched form of known value vi to the
// case-insensitive (ci) and case-sensitive (cs) pattern sets.
func addValueForms(ci, cs *formSet, vi int32, typ, value string) {
	norms := normalisations(typ, value)
	if len(value) < minPlain {
		return
	}
	plain := []string{"plain"}
	for _, n := range norms {
		ci.add(strings.ToLower(n), pat{v: vi, enc: plain, bound: true})
		if q := url.QueryEscape(n); q != n {
			ci.add(strings.ToLower(q), pat{v: vi, enc: []string{"url", "plain"}, bound: true})
		}
		if q := url.PathEscape(n); q != n {
			ci.add(strings.ToLower(q), pat{v: vi, enc: []string{"url", "plain"}, bound: true})
		}
		ci.add(hex.EncodeToString([]byte(n)), pat{v: vi, enc: []string{"hex", "plain"}, bound: true})
		for k, b := range b64Inner(n) {
			if b == "" {
				continue
			}
			p := pat{v: vi, enc: []string{"base64", "plain"}, b64: true, align: int8(k), raw: n}
			cs.add(b, p)
			cs.add(toURLAlphabet(b), p)
		}
		for _, h := range []struct {
			name string
			sum  []byte
		}{
			{"md5", md5sum(n)}, {"sha1", sha1sum(n)}, {"sha256", sha256sum(n)},
		} {
			hx := hex.EncodeToString(h.sum)
			ci.add(hx[:hashPrefix], pat{v: vi, enc: []string{h.name, "plain"}, bound: true, full: hx})
			b := base64.RawStdEncoding.EncodeToString(h.sum)
			cs.add(b[:hashPrefix], pat{v: vi, enc: []string{"base64", h.name, "plain"}, bound: true, full: b})
			u := toURLAlphabet(b)
			cs.add(u[:hashPrefix], pat{v: vi, enc: []string{"base64", h.name, "plain"}, bound: true, full: u})
		}
	}
}

func md5sum(s string) []byte    { h := md5.Sum([]byte(s)); return h[:] }
func sha1sum(s string) []byte   { h := sha1.Sum([]byte(s)); return h[:] }
func sha256sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// coordForms returns a coordinate written with 4, 5 and 6 decimals,
// rounded and truncated.
func coordForms(x float64) []string {
	seen := map[string]bool{}
	var out []string
	for d := 4; d <= 6; d++ {
		p := math.Pow10(d)
		for _, y := range []float64{math.Round(x*p) / p, math.Trunc(x*p) / p} {
			s := strconv.FormatFloat(y, 'f', d, 64)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// KnownForm is one whole-token spelling of a --devices value.
type KnownForm struct {
	Identifier, Value, Form string
}

// KnownForms lists the whole-token spellings of every known value (as
// written, its normalisations in lower and upper case, URL-escaped, hex,
// base64 in both alphabets with and without padding, and its MD5, SHA1 and
// SHA256 digests in hex and base64; coordinates with 4 to 6 decimals), so
// that a report can mask a known identifier wherever it appears, also in
// fields the scanner does not search. Base64 runs that depend on the
// value's alignment inside a longer blob are not whole tokens and are
// left out.
func (s *Scanner) KnownForms() []KnownForm {
	var out []KnownForm
	seen := map[string]bool{}
	add := func(k known, f string) {
		if len(f) < minPlain || seen[f] {
			return
		}
		seen[f] = true
		out = append(out, KnownForm{Identifier: k.typ, Value: k.value, Form: f})
	}
	for _, k := range s.values {
		if k.gps {
			a, b, _ := strings.Cut(k.value, ",")
			for _, c := range []string{a, b} {
				if x, err := strconv.ParseFloat(strings.TrimSpace(c), 64); err == nil {
					for _, f := range coordForms(x) {
						add(k, f)
					}
				}
			}
			continue
		}
		if len(k.value) < minPlain {
			continue
		}
		for _, n := range normalisations(k.typ, k.value) {
			// Case-insensitive spellings (the scanner matches them so).
			for _, f := range []string{n, url.QueryEscape(n), url.PathEscape(n), hex.EncodeToString([]byte(n)),
				hex.EncodeToString(md5sum(n)), hex.EncodeToString(sha1sum(n)), hex.EncodeToString(sha256sum(n))} {
				add(k, f)
				add(k, strings.ToLower(f))
				add(k, strings.ToUpper(f))
			}
			for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				add(k, e.EncodeToString([]byte(n)))
				for _, sum := range [][]byte{md5sum(n), sha1sum(n), sha256sum(n)} {
					add(k, e.EncodeToString(sum))
				}
			}
		}
	}
	return out
}
