package leak

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// behaviourHits returns "class=value @location [chain]" for the
// behavioural hits of one input, plus "private" when flagged.
func behaviourHits(s *Scanner, in Input) []string {
	var out []string
	for _, h := range scanAll(s, in) {
		if !IsBehaviour(h.Identifier) {
			continue
		}
		x := fmt.Sprintf("%s=%s @%s [%s]", h.Identifier, h.Value, h.Location, strings.Join(h.Encoding, " > "))
		if h.Private {
			x += " private"
		}
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// browserCase is the 2020 browser report's payload shape: history,
// searches and app events with an IMEI, JSON in gzip in base64 in a
// URL-encoded form field.
func browserCase(private bool) string {
	js := fmt.Sprintf(`{"imei":"867891045582412","incognito":%v,"events":[`+
		`{"type":"page_view","url":"https://www.example-news.com/world/article-123?ref=home"},`+
		`{"type":"page_view","url":"https://www.google.com/search?q=cheap+flights+to+bali&ie=UTF-8"},`+
		`{"type":"page_view","url":"https://www.baidu.com/s?wd=%%E5%%A4%%A9%%E6%%B0%%94"},`+
		`{"e":"app_open","pkg":"com.android.settings"},`+
		`{"event":"$AppViewScreen","properties":{"$screen_name":"com.example.shop.CartActivity"}},`+
		`{"action":"open_file","path":"/storage/emulated/0/Download/payslip-2026-03.pdf"}]}`, private)
	return "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString(gz([]byte(js))))
}

func TestBehaviourDetectors(t *testing.T) {
	s := labScanner(t)
	chain := "url > base64 > gzip > plain"
	for _, tc := range []struct {
		name string
		in   Input
		want []string
	}{
		{"browser case", Input{Location: "body", Data: []byte(browserCase(false))}, []string{
			"app_usage=$AppViewScreen: com.example.shop.CartActivity @body:data>$.events[4].properties.$screen_name [" + chain + "]",
			"app_usage=app_open: com.android.settings @body:data>$.events[3].pkg [" + chain + "]",
			"app_usage=file: /storage/emulated/0/Download/payslip-2026-03.pdf @body:data>$.events[5].path [" + chain + "]",
			"browsing_history=https://www.baidu.com/s?wd=%E5%A4%A9%E6%B0%94 @body:data>$.events[2].url [" + chain + "]",
			"browsing_history=https://www.example-news.com/world/article-123?ref=home @body:data>$.events[0].url [" + chain + "]",
			"browsing_history=https://www.google.com/search?q=cheap+flights+to+bali&ie=UTF-8 @body:data>$.events[1].url [" + chain + "]",
			"search_query=cheap flights to bali @body:data>$.events[1].url [" + chain + "]",
			"search_query=天气 @body:data>$.events[2].url [" + chain + "]",
		}},
		{"browser case in private mode", Input{Location: "body", Data: []byte(`{"incognito":"true","url":"https://www.example.org/page"}`)}, []string{
			"browsing_history=https://www.example.org/page @body.json:$.url [plain] private",
		}},
		{"URL-encoded page in a query", Input{Location: "url.query", Data: []byte("ev=pv&dl=https%3A%2F%2Fshop.example.de%2Fcart%3Fitem%3D7&cid=1")}, []string{
			"browsing_history=https://shop.example.de/cart?item=7 @url.query:dl [url > plain]",
		}},
		{"unescaped URL in a form with a search", Input{Location: "body", Data: []byte("u=https://duckduckgo.com/?q=tax+advice&t=h_")}, []string{
			"browsing_history=https://duckduckgo.com/?q=tax+advice @body:u [plain]",
			"search_query=tax advice @body:q [plain]",
		}},
		{"form-escaped URL with spaces in its query", Input{Location: "body", Data: []byte("u=" + url.QueryEscape("https://m.baidu.com/s?word="+url.QueryEscape("租房 北京")))}, []string{
			"browsing_history=https://m.baidu.com/s?word=%E7%A7%9F%E6%88%BF+%E5%8C%97%E4%BA%AC @body:u [url > plain]",
			"search_query=租房 北京 @body:u>word [url > plain]",
		}},
		{"JSON-escaped URL", Input{Location: "body", Data: []byte(`{"page":"https:\/\/yandex.ru\/search\/?text=flu+symptoms"}`)}, []string{
			"browsing_history=https://yandex.ru/search/?text=flu+symptoms @body.json:$.page [plain]",
			"search_query=flu symptoms @body.json:$.page>text [plain]",
		}},
		{"search field in a telemetry body", Input{Location: "body", Data: []byte(`{"event":"search","keyword":"divorce lawyer"}`)}, []string{
			"search_query=divorce lawyer @body.json:$.keyword [plain]",
		}},
		{"component name", Input{Location: "body", Data: []byte(`{"top":"com.android.settings/.wifi.WifiSettings"}`)}, []string{
			"app_usage=component: com.android.settings/.wifi.WifiSettings @body.json:$.top [plain]",
		}},
		{"page in XML element text", Input{Location: "body", Data: []byte(`<r><url>https://www.example.org/a</url></r>`)}, []string{
			"browsing_history=https://www.example.org/a @body:url [plain]",
		}},
		{"event in an MQTT payload", Input{Location: "mqtt.payload", Data: []byte(`{"evt":"launch","package":"com.example.game"}`)}, []string{
			"app_usage=launch: com.example.game @mqtt.payload.json:$.package [plain]",
		}},
		{"event record in a form", Input{Location: "body", Data: []byte("ev=click&screen=CheckoutPage&t=1")}, []string{
			"app_usage=click: CheckoutPage @body:screen [plain]",
		}},
		// Not behaviour.
		{"sent from a web page", Input{Location: "url.query", Page: "http://www.example-news.com/", Data: []byte("dl=http%3A%2F%2Fwww.example-news.com%2F&q=x")}, nil},
		{"a link in an e-mail", Input{Location: "smtp.message", Data: []byte("Subject: read this\r\n\r\nurl: https://www.example-news.com/a\r\n")}, nil},
		{"an origin", Input{Location: "url.query", Data: []byte("xdm_o=http%3A%2F%2Fwww.bbc.com")}, nil},
		{"link in SVG after binary", Input{Location: "udp.payload", Data: []byte("\x08\x00\x45\x00\x23\x4c<svg xmlns=\"http://www.w3.org/2000/svg\">\n <a xlink:href=\"http://www.w3.org/Graphics/SVG/\" target=\"_parent\">")}, nil},
		{"link in HTML", Input{Location: "udp.payload", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><a href="http://www.w3.org/Graphics/SVG/">x</a></svg>`)}, nil},
		{"Referer header", Input{Location: "header:Referer", Data: []byte("https://www.google.com/search?q=cats")}, nil},
		{"OAuth redirect", Input{Location: "url.query", Data: []byte("client_id=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb")}, nil},
		{"XML namespace", Input{Location: "body", Data: []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><u:X xmlns:u="urn:x"/></s:Envelope>`)}, nil},
		{"image URL", Input{Location: "body", Data: []byte(`{"url":"https://cdn.example.com/a/b.png"}`)}, nil},
		{"LAN URL", Input{Location: "body", Data: []byte(`{"url":"http://192.168.1.1/index.html","u2":"http://router.local/"}`)}, nil},
		{"search sent to the search service", Input{Location: "url.query", Data: []byte("query=cheap+flights&page=2")}, nil},
		{"GraphQL query", Input{Location: "body", Data: []byte(`{"query":"query { viewer { login } }"}`)}, nil},
		{"ID under a search key", Input{Location: "body", Data: []byte(`{"keyword":"a7f3c9e1b2d4f6a8c0e2"}`)}, nil},
		{"app-private storage", Input{Location: "body", Data: []byte(`{"dir":"/storage/emulated/0/Android/data/com.x/cache","root":"/sdcard/"}`)}, nil},
		{"event without a verb", Input{Location: "body", Data: []byte(`{"type":"heartbeat","pkg":"com.example.app"}`)}, nil},
		{"MIME type and host names", Input{Location: "body", Data: []byte(`{"ct":"application/vnd.api+json","h":"www.example.com/path","x":"google.com/maps"}`)}, nil},
		{"targets of another event", Input{Location: "body", Data: []byte(`{"events":[{"e":"app_open"},{"e":"ping","pkg":"com.example.app"}]}`)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := behaviourHits(s, tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestBehaviourPrivateFlag(t *testing.T) {
	s := labScanner(t)
	for _, private := range []bool{false, true} {
		for _, h := range scanAll(s, Input{Location: "body", Data: []byte(browserCase(private))}) {
			if IsBehaviour(h.Identifier) && h.Private != private {
				t.Errorf("private=%v: hit %s=%s has Private=%v", private, h.Identifier, h.Value, h.Private)
			}
			if !IsBehaviour(h.Identifier) && h.Private {
				t.Errorf("identifier hit %s flagged private", h.Identifier)
			}
		}
	}
}

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct {
		v      string
		strict bool
		want   string
	}{
		{"cheap  flights", true, "cheap flights"},
		{"天气", true, "天气"},
		{"site:example.com jobs", false, "site:example.com jobs"},
		{"site:example.com jobs", true, ""},
		{"12345", false, ""},
		{"https://example.com/", false, ""},
		{"{viewer{id}}", false, ""},
		{"true", true, ""},
		{"Enabled", true, ""},
		{"c0ffee42", true, ""},
		{"com.example.app", true, ""},
	} {
		if got := validSearchTerm(tc.v, tc.strict); got != tc.want {
			t.Errorf("validSearchTerm(%q, %v) = %q, want %q", tc.v, tc.strict, got, tc.want)
		}
	}
}

func TestSearchEngines(t *testing.T) {
	for _, tc := range []struct{ host, path, want, param string }{
		{"www.google.com", "/search", "Google", "q"},
		{"www.google.co.uk", "/search", "Google", "q"},
		{"www.bing.com", "/search", "Bing", "q"},
		{"duckduckgo.com", "/", "DuckDuckGo", "q"},
		{"www.baidu.com", "/s", "Baidu", "wd"},
		{"yandex.ru", "/search/", "Yandex", "text"},
		{"search.yahoo.com", "/search", "Yahoo", "p"},
		{"www.youtube.com", "/results", "YouTube", "search_query"},
		{"www.youtube.com", "/watch", "YouTube", ""},
		{"www.example.com", "/search", "", ""},
		{"googleapis.com", "/", "", ""},
	} {
		if got := SearchEngine(tc.host); got != tc.want {
			t.Errorf("SearchEngine(%q) = %q, want %q", tc.host, got, tc.want)
		}
		p := searchParams(tc.host, tc.path)
		if (tc.param == "") != (len(p) == 0) || tc.param != "" && p[0] != tc.param {
			t.Errorf("searchParams(%q, %q) = %v, want %q first", tc.host, tc.path, p, tc.param)
		}
	}
}

func TestBehaviourMask(t *testing.T) {
	for _, tc := range []struct{ id, v, want string }{
		{BrowsingHistory, "https://www.example-clinic.com/a?b=c", "https://***.*******-******.com/*?*=*"},
		{BrowsingHistory, "http://news.example.co.uk/", "http://****.*******.co.uk/"},
		{SearchQuery, "cheap flights to bali", "chea* ******* ** bali"},
		{AppUsage, "app_open: com.android.settings", "app_open: com.a******.****ings"},
		{AppUsage, "file: /sdcard/DCIM/a.jpg", "file: /sdca**/****/a.jpg"},
	} {
		if got := Mask(tc.id, tc.v); got != tc.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", tc.id, tc.v, got, tc.want)
		}
	}
}

func TestBehaviourSeverity(t *testing.T) {
	for _, tc := range []struct {
		e    Exposure
		want string
	}{
		{Exposure{}, "low"},
		{Exposure{Plaintext: true}, "medium"},
		{Exposure{Plaintext: true, ThirdParty: true}, "high"},
		{Exposure{Plaintext: true, ThirdParty: true, Abroad: true}, "high"},
		{Exposure{Plaintext: true, ThirdParty: true, Private: true}, "critical"},
		{Exposure{Private: true}, "medium"},
		{Exposure{Local: true, Plaintext: true, Private: true}, "low"},
	} {
		for _, id := range BehaviourClasses() {
			if got := Severity(id, tc.e).String(); got != tc.want {
				t.Errorf("Severity(%s, %+v) = %s, want %s", id, tc.e, got, tc.want)
			}
		}
	}
}

// FuzzBehaviour feeds arbitrary inputs through the scanner and the flow
// step: behavioural hits must be well formed, their masks must hide the
// value's letters, and FlowBehaviour must keep a subset of the rows.
func FuzzBehaviour(f *testing.F) {
	s := labScanner(f)
	for _, seed := range []string{
		browserCase(false),
		browserCase(true),
		"dl=https%3A%2F%2Fshop.example.de%2Fcart%3Fitem%3D7",
		"u=https://duckduckgo.com/?q=tax+advice&t=h_",
		`{"page":"https:\/\/yandex.ru\/search\/?text=flu+symptoms","incognito":1}`,
		`{"event":"$AppViewScreen","properties":{"$screen_name":"com.example.shop.CartActivity"}}`,
		`{"top":"com.android.settings/.wifi.WifiSettings","f":"/sdcard/DCIM/a.jpg"}`,
		`<r><url>https://www.example.org/a</url><a href="https://www.example.org/b">x</a></r>`,
		"ev=click&screen=CheckoutPage&keyword=red+shoes",
		"u=" + url.QueryEscape("https://m.baidu.com/s?word="+url.QueryEscape("租房 北京")),
	} {
		f.Add("body", []byte(seed), "")
	}
	f.Add("url.query", []byte("dl=http%3A%2F%2Fa.example.com%2F"), "http://a.example.com/")
	f.Fuzz(func(t *testing.T, loc string, data []byte, page string) {
		var rows []audit.Leak
		for _, h := range scanAll(s, Input{Location: loc, Data: data, Page: page}) {
			if !IsBehaviour(h.Identifier) {
				continue
			}
			if page != "" {
				t.Fatalf("behavioural hit from a page's request: %+v", h)
			}
			if h.Value == "" || len(h.Encoding) == 0 || h.Offset < 0 || h.Offset > len(data) {
				t.Fatalf("bad hit %+v", h)
			}
			if m := Mask(h.Identifier, h.Value); m == h.Value && strings.IndexFunc(h.Value, func(r rune) bool { return r > '9' && r != '_' }) >= 0 && len(h.Value) >= 12 {
				t.Fatalf("Mask(%s, %q) hides nothing", h.Identifier, h.Value)
			}
			rows = append(rows, audit.Leak{Identifier: h.Identifier, Value: h.Value, Location: h.Location, Frame: 1, Private: h.Private})
		}
		n := len(rows)
		kept, fs := FlowBehaviour(append(rows, audit.Leak{Identifier: "imei", Value: "867891045582412", Frame: 1}), audit.Dest{Name: "x.example.com", Channel: "HTTP"})
		if len(kept) > n+1 || n > 0 && len(kept) < 1 || len(fs) > 1 {
			t.Fatalf("FlowBehaviour kept %d of %d rows, %d findings", len(kept), n+1, len(fs))
		}
	})
}
