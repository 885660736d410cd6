package leak

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// searchEngine is one web search engine: the host names it answers on and
// the URL query parameter(s) that hold the terms the user typed.
//
// Facts, as each engine's own search form submits them (the URL of a
// results page, also given in the engines' OpenSearch descriptions) and as
// browsers configure them (Firefox search-config-v2 "searchTermParamName";
// Chromium components/search_engines/prepopulated_engines.json
// "search_url" templates, where {searchTerms} marks the parameter).
type searchEngine struct {
	name   string
	label  string   // registrable domain without its public suffix ("google" for google.de)
	hosts  []string // or exact host names / suffixes when the label alone is too broad
	params []string
	path   string // required path prefix, "" for any
}

var searchEngines = []searchEngine{
	{name: "Google", label: "google", params: []string{"q", "as_q"}},
	{name: "Bing", label: "bing", params: []string{"q"}},
	{name: "DuckDuckGo", label: "duckduckgo", params: []string{"q"}},
	{name: "Baidu", label: "baidu", params: []string{"wd", "word", "kw"}},
	{name: "Yandex", label: "yandex", params: []string{"text"}},
	{name: "Yandex", hosts: []string{"ya.ru"}, params: []string{"text"}},
	{name: "Yahoo", hosts: []string{"search.yahoo.com", "search.yahoo.co.jp"}, params: []string{"p"}},
	{name: "Ecosia", label: "ecosia", params: []string{"q"}},
	{name: "Startpage", label: "startpage", params: []string{"query", "q"}},
	{name: "Qwant", label: "qwant", params: []string{"q"}},
	{name: "Brave Search", hosts: []string{"search.brave.com"}, params: []string{"q"}},
	{name: "Naver", hosts: []string{"search.naver.com", "m.search.naver.com"}, params: []string{"query"}},
	{name: "Daum", hosts: []string{"search.daum.net"}, params: []string{"q"}},
	{name: "Sogou", label: "sogou", params: []string{"query", "keyword"}},
	{name: "360 Search", hosts: []string{"so.com", "www.so.com", "m.so.com"}, params: []string{"q"}},
	{name: "Shenma", hosts: []string{"sm.cn", "m.sm.cn", "yz.m.sm.cn"}, params: []string{"q"}},
	{name: "Seznam", hosts: []string{"search.seznam.cz"}, params: []string{"q"}},
	{name: "Ask", label: "ask", params: []string{"q"}},
	{name: "AOL", hosts: []string{"search.aol.com"}, params: []string{"q"}},
	{name: "Mojeek", label: "mojeek", params: []string{"q"}},
	{name: "YouTube", label: "youtube", params: []string{"search_query"}, path: "/results"},
}

// searchParams returns the query parameters holding search terms on a
// URL of host and path, or nil when the host is not a known search engine.
func searchParams(host, path string) []string {
	if e := engineOf(host); e != nil && (e.path == "" || strings.HasPrefix(path, e.path)) {
		return e.params
	}
	return nil
}

// SearchEngine names the search engine answering on host, or "".
func SearchEngine(host string) string {
	if e := engineOf(host); e != nil {
		return e.name
	}
	return ""
}

func engineOf(host string) *searchEngine {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label := labelOf(host)
	for i := range searchEngines {
		e := &searchEngines[i]
		if e.label != "" && e.label == label || contains(e.hosts, host) {
			return e
		}
	}
	return nil
}

// labelOf returns the registrable domain's label before its public
// suffix: "google" for www.google.co.uk.
func labelOf(host string) string {
	ps, icann := publicsuffix.PublicSuffix(host)
	if !icann || len(host) <= len(ps)+1 {
		return ""
	}
	rest := host[:len(host)-len(ps)-1]
	return rest[strings.LastIndexByte(rest, '.')+1:]
}
