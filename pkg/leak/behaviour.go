package leak

import (
	"bytes"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/phonehome/phonehome/pkg/audit"
	"golang.org/x/net/publicsuffix"
)

// Behavioural data classes: what the user did, not who they are. They are
// found in the same inputs, fields and decoded layers as identifiers and
// reported as hits under these names (docs/leaks.md, "Behavioural data").
const (
	BrowsingHistory = audit.BrowsingHistory // an http(s) URL of a page, carried as a field value
	SearchQuery     = audit.SearchQuery     // search terms: a search engine's query parameter, or a search field
	AppUsage        = audit.AppUsage        // an app/screen opened, an event record, a file under user storage
)

// BehaviourClasses returns the behavioural classes in documentation order.
func BehaviourClasses() []string { return audit.BehaviourClasses() }

// IsBehaviour reports whether a hit's identifier is a behavioural class.
func IsBehaviour(identifier string) bool { return audit.IsBehaviour(identifier) }

// maxBehaviourValue is the longest field value read as a URL, a search
// term, a path or an event target.
const maxBehaviourValue = 4096

// behaviourSkipped names inputs whose URLs are the browser's own request
// metadata, not data an app chose to send: a Referer or Origin header names
// the page a request was made from, for every page load and every
// subresource; reporting it would flag all ordinary browsing.
//
// Messages a person writes (mail, chat, files sent over FTP) are skipped
// too: a link in an e-mail is what its author chose to share, not a
// record of what the device's user did.
func behaviourSkipped(base string) bool {
	var buf [32]byte
	b := buf[:0]
	if isASCII(base) && len(base) <= len(buf) {
		for i := 0; i < len(base); i++ {
			b = append(b, lowerTab[base[i]])
		}
	} else {
		b = []byte(strings.ToLower(base))
	}
	switch string(b) {
	case "header:referer", "header:origin", "header:host", "header:link", "url.path", "dns.qname", "coap.proxy_uri", "coap.path":
		return true
	}
	for _, p := range [...]string{"smtp.", "imap.", "pop3.", "xmpp.", "ftp."} {
		if len(b) >= len(p) && string(b[:len(p)]) == p { // bytes.HasPrefix would copy p
			return true
		}
	}
	return false
}

// notHistoryKeys are field keys whose URL value is plumbing, not a page the
// user visited: XML namespaces and schemas, OAuth and login hand-over
// targets, API endpoints and configured servers, resources (icons, images,
// downloads), legal pages.
var notHistoryKeys = keySet(
	"xmlns", "schema", "schemalocation", "context", "namespace", "ns", "dtd", "doctype", "profile",
	"redirecturi", "redirecturl", "redirect", "redirectto", "callback", "callbackurl", "callbackuri",
	"returnurl", "returnto", "return", "returnuri", "continue", "continueurl", "next", "nexturl",
	"successurl", "failureurl", "cancelurl", "errorurl", "loginurl", "logouturl", "service", "origin",
	"audience", "aud", "iss", "issuer", "scope", "endpoint", "server", "serverurl", "baseurl", "host",
	"api", "apiurl", "apihost", "webhook", "webhookurl", "notifyurl", "notificationurl", "reporturl",
	"updateurl", "configurl", "downloadurl", "download", "icon", "iconurl", "image", "imageurl", "img",
	"avatar", "avatarurl", "logo", "logourl", "thumbnail", "thumb", "cover", "pic", "picture", "poster",
	"license", "licenseurl", "privacy", "privacyurl", "privacypolicy", "terms", "termsurl", "tos",
	"homepage", "website", "support", "supporturl", "help", "helpurl", "docs", "documentation",
	"manifest", "manifesturl", "font", "stylesheet", "script", "src", "cdn", "proxy", "pac", "pacurl",
	"dsn", "uploadurl", "feed", "rss", "atom", "sitemap", "canonical", "amphtml", "preconnect",
)

// searchKeys are field keys that hold search terms when the value reads
// as words (validSearchTerm). Short generic keys (q, wd, text) count only
// as the query parameter of a known search engine's URL.
var searchKeys = keySet(
	"query", "searchquery", "searchterm", "searchterms", "searchkey", "searchkeyword", "searchword",
	"searchtext", "searchstring", "querytext", "querystring", "keyword", "keywords", "kw", "search",
	"searchkw", "searchinput", "userquery",
)

// eventKeys name the field of an event record that says what happened.
var eventKeys = keySet(
	"event", "events", "eventtype", "eventname", "eventaction", "eventkey", "eventid", "type", "action",
	"actiontype", "act", "ev", "evt", "en", "e", "ea",
)

// targetKeys name the field of an event record that says which app,
// screen or page it happened to.
var targetKeys = keySet(
	"package", "packagename", "pkg", "pkgname", "apppackage", "apppkg", "targetpackage", "targetpkg",
	"app", "appname", "activity", "activityname", "component", "componentname", "topactivity",
	"currentactivity", "screen", "screenname", "screenclass", "page", "pagename", "pageid", "view",
	"viewname", "fragment", "target", "targetname", "launchpkg", "openpkg", "frompkg", "topkg",
)

// eventVerbs are the words of an event name that mean the user opened,
// viewed or used something ("app_open", "$AppViewScreen", "pageView").
var eventVerbs = keySet(
	"open", "opened", "opening", "view", "viewed", "viewing", "pageview", "screenview", "click",
	"clicked", "tap", "tapped", "launch", "launched", "start", "started", "enter", "entered", "show",
	"shown", "visit", "visited", "browse", "resume", "resumed", "foreground", "impression", "expose",
	"exposure", "use", "used", "usage", "play", "read", "switch", "select", "selected",
)

// privateKeys name a private-browsing flag; a true value next to
// behavioural data raises its severity.
var privateKeys = keySet(
	"incognito", "isincognito", "incognitomode", "incognitotab", "inprivate", "private", "isprivate",
	"privatemode", "isprivatemode", "privatebrowsing", "privatetab", "privacymode", "secretmode",
	"stealth", "stealthmode",
)

func keySet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// nkey is a key name normalised as normKey does ("$screen_name" →
// "screenname"), held in place so that set lookups do not allocate.
type nkey struct {
	b [64]byte
	n int
}

func newKey(k []byte) nkey {
	var x nkey
	for _, c := range k {
		if x.n == len(x.b) {
			return nkey{}
		}
		switch {
		case c >= 'A' && c <= 'Z':
			x.b[x.n] = c + 32
			x.n++
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			x.b[x.n] = c
			x.n++
		}
	}
	return x
}

// parentKey normalises the key of the field a decoded layer came from:
// ok is false when it has no letter or digit; a key of more than 64 of
// them is held as the empty key.
func parentKey(k []byte) (x nkey, ok bool) {
	n := 0
	for _, c := range k {
		switch {
		case c >= 'A' && c <= 'Z':
			if n < len(x.b) {
				x.b[n] = c + 32
			}
			n++
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			if n < len(x.b) {
				x.b[n] = c
			}
			n++
		}
	}
	if n > len(x.b) {
		return nkey{}, true
	}
	x.n = n
	return x, n > 0
}

// in reports whether the key is in set m.
func (k *nkey) in(m map[string]bool) bool { return m[string(k.b[:k.n])] }

// behaviour runs the behavioural detectors over the layer's fields.
func (lc *layerCtx) behaviour() {
	if lc.st.noBehaviour {
		return
	}
	// A decoded layer is the value of its parent's field: a URL that was
	// %-escaped or base64-encoded arrives here whole.
	if lc.haspkey && !lc.whole {
		k := lc.pkey
		lc.behaviourValue(&k, -1, 0, len(lc.data))
	}
	for i := range lc.fields {
		f := &lc.fields[i]
		var k nkey
		if f.key == nil && f.ks >= 6 && equalFold(lc.data[f.ks-6:f.ks], "xmlns:") {
			k = newKey([]byte("xmlns")) // xmlns:s="http://schemas..." is a namespace, keyed "s"
		} else if f.key != nil {
			k = newKey(f.key)
		} else {
			k = newKey(lc.data[f.ks:f.ke])
		}
		if k.in(privateKeys) && truthy(lc.data[f.vs:f.ve]) {
			lc.st.private = true
		}
		ks := -1
		if f.key == nil && !lc.json {
			ks = f.ks
		}
		lc.behaviourValue(&k, ks, f.vs, f.ve)
	}
	lc.events()
}

// truthy reads a flag value: true, 1, yes, on.
func truthy(b []byte) bool {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(string(b)), `"'`)) {
	case "true", "1", "yes", "on", "y":
		return true
	}
	return false
}

// behaviourValue checks one field value (key normalised) for a page URL
// (browsing history, and the search terms in it), a search field and a
// file under user storage. ks is where a key/value text field's key
// starts, or -1.
func (lc *layerCtx) behaviourValue(key *nkey, ks, vs, ve int) {
	if ve <= vs || ve-vs > maxBehaviourValue {
		return
	}
	// Trim spaces and quotes (kv text keeps a JSON value's quotes).
	s, e := vs, ve
	for s < e && (lc.data[s] == ' ' || lc.data[s] == '\t' || lc.data[s] == '"' || lc.data[s] == '\'') {
		s++
	}
	for e > s && (lc.data[e-1] == ' ' || lc.data[e-1] == '\t' || lc.data[e-1] == '"' || lc.data[e-1] == '\'' || lc.data[e-1] == '\r' || lc.data[e-1] == '\n') {
		e--
	}
	v := lc.data[s:e]
	isURL := hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://")
	if bytes.IndexByte(v, '\\') >= 0 || !isURL && bytes.IndexByte(v, '%') >= 0 && pctEscaped(v) {
		return // decoded in a child layer, with this key
	}
	switch {
	case isURL:
		if key.in(notHistoryKeys) || ks >= 0 && inTag(lc.data, ks) {
			return
		}
		if lc.st.urls[string(v)] {
			return // the decoded copy of a URL reported in its parent layer
		}
		u, ok := pageURL(string(v))
		if !ok {
			return
		}
		if pctEscaped(v) {
			// Its %-escapes are undone in a child layer, which must not
			// report the same page again.
			if lc.st.urls == nil {
				lc.st.urls = map[string]bool{}
			}
			lc.st.urls[string(urlDecode(v))] = true
		}
		lc.add(Hit{Identifier: BrowsingHistory, Value: string(v), Encoding: lc.enc([]string{"plain"})}, s, e)
		lc.searchInURL(u, string(v), s)
	case len(v) > 8 && v[0] == '/':
		if !(hasPrefixFold(v, "/storage/") || hasPrefixFold(v, "/sdcard/") || hasPrefixFold(v, "/mnt/") || hasPrefixFold(v, "/data/media/")) {
			return
		}
		if p := userStoragePath(string(v)); p != "" {
			lc.add(Hit{Identifier: AppUsage, Value: "file: " + p, Encoding: lc.enc([]string{"plain"})}, s, e)
		}
	case key.in(searchKeys) && lc.searchContext():
		if t := validSearchTerm(string(v), true); t != "" {
			lc.add(Hit{Identifier: SearchQuery, Value: t, Encoding: lc.enc([]string{"plain"})}, s, e)
		}
	default:
		// A component is pkg/class: a '/' after a dotted name, no space.
		if len(v) < 7 || len(v) > 255 || bytes.IndexByte(v, '/') < 3 || bytes.IndexByte(v, '.') < 1 || bytes.IndexByte(v, ' ') >= 0 {
			return
		}
		if c := componentName(string(v)); c != "" {
			lc.add(Hit{Identifier: AppUsage, Value: "component: " + c, Encoding: lc.enc([]string{"plain"})}, s, e)
		}
	}
}

// inTag reports whether the key at ks is an attribute inside an HTML, SVG
// or XML start tag (<a href="...">): a document's link, not a page the
// user visited. Element text (<url>...</url>) is not inside a tag.
func inTag(b []byte, ks int) bool {
	if ks > 0 && b[ks-1] == '<' {
		return false // the element's own name: <url>value</url>
	}
	for i := ks - 1; i >= 0 && i >= ks-1024; i-- {
		switch b[i] {
		case '>':
			return false
		case '<':
			return i+1 < len(b) && (isAlnum(b[i+1]) || b[i+1] == '?' || b[i+1] == '!')
		}
	}
	return false
}

// searchContext: a search field counts in a body, header or cookie, or in
// any decoded layer other than %-escaping, not as a plain query parameter
// of the request itself (a search sent to the service that answers it).
func (lc *layerCtx) searchContext() bool {
	if !strings.HasPrefix(lc.st.base, "url") {
		return true
	}
	for _, c := range lc.chain() {
		if c != "url" {
			return true
		}
	}
	return false
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && equalFold(b[:len(p)], p)
}

// resourceExt are path endings of things a page loads, not pages.
var resourceExt = []string{
	".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".bmp", ".avif", ".js", ".mjs", ".css",
	".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp4", ".webm", ".m4a", ".mp3", ".ogg", ".wav", ".m3u8",
	".ts", ".json", ".xml", ".xsd", ".dtd", ".wsdl", ".apk", ".zip", ".gz", ".bin", ".img", ".pb", ".proto",
}

// pageURL parses an http(s) URL of a page on the Internet: a host name
// under an ICANN public suffix (no IP address, no LAN or single-label
// name), not a resource such as an image, script or API document.
func pageURL(v string) (*url.URL, bool) {
	q := strings.IndexByte(v, '?')
	for i := 0; i < len(v); i++ {
		// A space stands only in a query that a decoded layer's '+' became.
		if v[i] < ' ' || v[i] == 0x7f || v[i] == ' ' && (q < 0 || i < q) {
			return nil, false
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" || host[len(host)-1] >= '0' && host[len(host)-1] <= '9' || strings.IndexByte(host, ':') >= 0 {
		return nil, false // an address, not a name
	}
	if _, icann := publicsuffix.PublicSuffix(host); !icann {
		return nil, false
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(host); err != nil {
		return nil, false
	}
	if u.Path == "" && u.RawQuery == "" {
		// An origin (scheme://host, as location.origin and postMessage
		// write it), not a page: a page's href always has a path.
		return nil, false
	}
	p := strings.ToLower(u.Path)
	for _, x := range resourceExt {
		if strings.HasSuffix(p, x) {
			return nil, false
		}
	}
	return u, true
}

// searchInURL reports the search terms of a known search engine's URL,
// each at the span of its query parameter value in the layer.
func (lc *layerCtx) searchInURL(u *url.URL, v string, off int) {
	params := searchParams(strings.ToLower(u.Hostname()), u.Path)
	if len(params) == 0 {
		return
	}
	q := strings.IndexByte(v, '?')
	if q < 0 {
		return
	}
	raw := v[q+1:]
	if h := strings.IndexByte(raw, '#'); h >= 0 {
		raw = raw[:h]
	}
	pos := off + q + 1
	for len(raw) > 0 {
		part := raw
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			part, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		start := pos
		pos += len(part) + 1
		k, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			continue
		}
		if dk, err := url.QueryUnescape(k); err != nil || !contains(params, dk) {
			continue
		}
		term, err := url.QueryUnescape(val)
		if err != nil {
			continue
		}
		if t := validSearchTerm(term, false); t != "" {
			vs := start + len(k) + 1
			lc.add(Hit{Identifier: SearchQuery, Value: t, Encoding: lc.enc([]string{"plain"})}, vs, vs+len(val))
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// validSearchTerm returns the normalised terms (spaces collapsed), or ""
// when the value does not read as words typed by a person: no letter, a
// URL, markup or code (GraphQL and JSON queries, filters with = or
// braces), or a single long token that looks like an ID. strict adds the
// checks for fields found by key only (no ':' or '(' either).
func validSearchTerm(v string, strict bool) string {
	v = strings.Join(strings.Fields(v), " ")
	if v == "" || len(v) > 256 || !utf8.ValidString(v) || strings.Contains(v, "://") {
		return ""
	}
	letter := false
	for _, r := range v {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case r < 0x20 || r == 0x7f || r == '{' || r == '}' || r == '[' || r == ']' || r == '<' || r == '>' || r == '=' || r == '\\':
			return ""
		case strict && (r == ':' || r == '(' || r == ')' || r == '|' || r == '$' || r == '@'):
			return ""
		}
	}
	if !letter {
		return ""
	}
	l := strings.ToLower(v)
	switch l {
	case "true", "false", "null", "nil", "undefined", "none", "test", "search", "query", "all", "*",
		"enabled", "disabled", "enable", "disable", "on", "off", "yes", "no", "default", "auto", "empty", "unknown":
		return "" // flags and placeholders, not terms
	}
	if strict && strings.IndexByte(v, ' ') < 0 {
		// One token: an ID, a hash, a path or a dotted name is not a search.
		if len(v) >= 16 || isUUID(v) || strings.ContainsAny(v, "/._") || allHex(v) && len(v) >= 8 {
			return ""
		}
		if strings.HasPrefix(l, "select") || strings.HasPrefix(l, "mutation") {
			return ""
		}
	}
	return v
}

// userStoragePath returns a path under the user's shared storage (their
// own files: downloads, photos, documents, messenger media), or "". App
// private directories (Android/data, Android/obb) and bare storage roots
// are not user activity.
func userStoragePath(v string) string {
	if len(v) > 1024 || strings.ContainsAny(v, "\x00\r\n\t") || !utf8.ValidString(v) {
		return ""
	}
	var rest string
	for _, root := range []string{"/storage/emulated/0/", "/storage/emulated/legacy/", "/sdcard/", "/mnt/sdcard/", "/storage/sdcard0/", "/storage/self/primary/", "/data/media/0/"} {
		if strings.HasPrefix(v, root) {
			rest = v[len(root):]
			break
		}
	}
	if rest == "" && strings.HasPrefix(v, "/storage/") && len(v) > 19 && v[13] == '-' && v[18] == '/' && allHex(v[9:13]) && allHex(v[14:18]) {
		rest = v[19:] // a removable card: /storage/ABCD-1234/
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	if strings.EqualFold(first, "Android") {
		sec, _, _ := strings.Cut(strings.TrimPrefix(rest[len(first):], "/"), "/")
		if strings.EqualFold(sec, "data") || strings.EqualFold(sec, "obb") || sec == "" {
			return ""
		}
	}
	return v
}

// packageName reports a reverse-DNS Java/Android package or class name:
// 2+ dot-separated segments, each a letter then letters, digits or '_',
// the first lower-case.
func packageName(v string) bool {
	if len(v) < 5 || len(v) > 255 || strings.Count(v, ".") < 1 {
		return false
	}
	for i, seg := range strings.Split(v, ".") {
		if seg == "" || len(seg) > 64 {
			return false
		}
		c := seg[0]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') || i == 0 && !(c >= 'a' && c <= 'z') {
			return false
		}
		for j := 1; j < len(seg); j++ {
			c := seg[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	// A host name is not a package: "www.example.com" reads as one.
	first := v[:strings.IndexByte(v, '.')]
	if first == "www" || first == "api" || first == "cdn" {
		return false
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(v)); err == nil {
		if ps, icann := publicsuffix.PublicSuffix(strings.ToLower(v)); icann && !strings.Contains(ps, ".") && strings.HasSuffix(strings.ToLower(v), "."+ps) {
			// ends in a TLD (example.com): a host name unless it starts like a package
			switch first {
			case "com", "org", "net", "cn", "io", "de", "uk", "fr", "jp", "kr", "ru", "tv", "me", "co", "in", "br", "us":
			default:
				return false
			}
		}
	}
	return true
}

// componentName returns an Android component written as ComponentName
// flattens it ("com.android.settings/.Settings",
// "com.tencent.mm/com.tencent.mm.ui.LauncherUI"), or "".
func componentName(v string) string {
	pkg, cls, ok := strings.Cut(v, "/")
	if !ok || strings.IndexByte(cls, '/') >= 0 || !packageName(pkg) {
		return ""
	}
	if strings.HasPrefix(cls, ".") {
		if !packageName("x" + cls) {
			return ""
		}
	} else if !packageName(cls) || !strings.HasPrefix(cls, pkg+".") && strings.Count(cls, ".") < 2 {
		return ""
	}
	return v
}

// screenName accepts an event target that is not an app package: a class
// name (com.example.ui.MainActivity) or a short screen/page name, not a
// number, ID or URL.
func screenName(v string) bool {
	if v == "" || len(v) > 128 || !utf8.ValidString(v) || strings.Contains(v, "://") {
		return false
	}
	letter := false
	for _, r := range v {
		if unicode.IsLetter(r) {
			letter = true
		}
		if r < 0x20 || r == '{' || r == '[' || r == '<' {
			return false
		}
	}
	if !letter || isUUID(v) || allHex(v) && len(v) >= 8 {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "false", "null", "undefined", "none", "unknown", "default":
		return false
	}
	return true
}

// events finds event records: a JSON object (or a whole key/value layer)
// with an event field whose name has a verb of use (open, view, click,
// launch...) and a target field (package, activity, screen, page) in the
// same object or an object nested in it. Each target is one hit whose
// value reads "event: target".
func (lc *layerCtx) events() {
	// One pass sorts the fields into event fields with a verb and target
	// fields; records are then matched on those only, at most
	// maxEventFields of each, so a layer of 4096 fields stays linear.
	var verbs, targets []int
	for i := range lc.fields {
		f := &lc.fields[i]
		k := newKey(lc.keyBytes(f))
		switch {
		case k.in(eventKeys) && f.ve-f.vs <= 128 && len(verbs) < maxEventFields:
			if hasEventVerb(strings.Trim(strings.TrimSpace(string(lc.data[f.vs:f.ve])), `"'`)) {
				verbs = append(verbs, i)
			}
		case k.in(targetKeys) && f.ve-f.vs <= 256 && len(targets) < maxEventFields:
			targets = append(targets, i)
		}
	}
	if len(verbs) == 0 || len(targets) == 0 {
		return
	}
	for _, i := range verbs {
		f := &lc.fields[i]
		verb := strings.Trim(strings.TrimSpace(string(lc.data[f.vs:f.ve])), `"'`)
		parent := int32(-2) // a key/value layer is one record
		if lc.json && f.node >= 0 {
			parent = lc.nodes[f.node].parent
		}
		for _, j := range targets {
			g := &lc.fields[j]
			if parent == -2 && lc.json || parent != -2 && !lc.within(g.node, parent, 3) {
				continue
			}
			t := strings.Trim(strings.TrimSpace(string(lc.data[g.vs:g.ve])), `"'`)
			if strings.IndexByte(t, '%') >= 0 || strings.IndexByte(t, '\\') >= 0 {
				continue
			}
			if !(packageName(t) || componentName(t) != "" || screenName(t)) {
				continue
			}
			lc.add(Hit{Identifier: AppUsage, Value: verb + ": " + t, Encoding: lc.enc([]string{"plain"})}, g.vs, g.ve)
		}
	}
}

// maxEventFields bounds the event and target fields matched per layer.
const maxEventFields = 256

// within reports whether JSON node n is a member of object node p or of
// an object nested in it at most depth levels down.
func (lc *layerCtx) within(n, p int32, depth int) bool {
	if n < 0 {
		return false
	}
	n = lc.nodes[n].parent
	for d := 0; d <= depth && n >= -1; d++ {
		if n == p {
			return true
		}
		if n < 0 {
			return false
		}
		n = lc.nodes[n].parent
	}
	return false
}

// hasEventVerb splits an event name into words (at _ - . $ : spaces and
// lower-to-upper case changes) and looks for a verb of use.
func hasEventVerb(name string) bool {
	if name == "" || len(name) > 96 {
		return false
	}
	var w []byte
	check := func() bool {
		ok := len(w) > 0 && eventVerbs[string(w)]
		w = w[:0]
		return ok
	}
	prevLower := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if prevLower && check() {
				return true
			}
			w = append(w, c+32)
			prevLower = false
		case c >= 'a' && c <= 'z':
			w = append(w, c)
			prevLower = true
		case c >= '0' && c <= '9':
			prevLower = true
		default:
			if check() {
				return true
			}
			prevLower = false
		}
	}
	return check()
}
