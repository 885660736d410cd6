package leak

import (
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

func TestFlowBehaviour(t *testing.T) {
	row := func(id, v, loc string, frame uint64) audit.Leak {
		return audit.Leak{Identifier: id, Value: v, Location: loc, Frame: frame, Count: 1}
	}
	private := func(l audit.Leak) audit.Leak { l.Private = true; return l }
	for _, tc := range []struct {
		name     string
		dest     audit.Dest
		leaks    []audit.Leak
		kept     []string
		findings []string
	}{
		{"history, search and IMEI in one message over HTTP",
			audit.Dest{Name: "log.browser.example-analytics.com", Channel: "HTTP"},
			[]audit.Leak{
				row("imei", "867891045582412", "body:data>$.imei", 7),
				row(BrowsingHistory, "https://www.example-news.com/a", "body:data>$.events[0].url", 7),
				row(BrowsingHistory, "https://www.google.com/search?q=x+y", "body:data>$.events[1].url", 7),
				row(SearchQuery, "x y", "body:data>$.events[1].url", 7),
				row(AppUsage, "app_open: com.android.settings", "body:data>$.events[2].pkg", 7),
				row("android_id", "df3d43bf047edbe6", "url.query:aid", 7),
			},
			[]string{"imei", BrowsingHistory, BrowsingHistory, SearchQuery, AppUsage, "android_id"},
			[]string{"high behaviour-linked: browsing history (2 URLs), search queries (1 term) and app usage (1 record) linked to imei, android_id in the same message, sent to log.browser.example-analytics.com"},
		},
		{"private mode raises and says it",
			audit.Dest{Name: "t.example-analytics.com", Channel: "HTTP"},
			[]audit.Leak{row("imei", "867891045582412", "body:imei", 3), private(row(BrowsingHistory, "https://www.example.org/p", "body:u", 9))},
			[]string{"imei", BrowsingHistory},
			[]string{"critical behaviour-linked: browsing history (1 URL) linked to imei in the same flow, sent to t.example-analytics.com, in private (incognito) mode"},
		},
		{"resettable identifier over TLS",
			audit.Dest{Name: "t.example-analytics.com", Channel: "TLS1.3 (decrypted)"},
			[]audit.Leak{row("advertising_id", "x", "body:gaid", 3), row(AppUsage, "click: Cart", "body:screen", 3)},
			[]string{"advertising_id", AppUsage},
			[]string{"low behaviour-linked: app usage (1 record) linked to advertising_id in the same message, sent to t.example-analytics.com"},
		},
		{"private without identifier",
			audit.Dest{Name: "t.example.net", Channel: "HTTP"},
			[]audit.Leak{private(row(BrowsingHistory, "https://www.example-shop.org/p", "body:u", 9))},
			[]string{BrowsingHistory},
			[]string{"high behaviour-private-mode: browsing history (1 URL) sent with a private-browsing flag set, sent to t.example.net"},
		},
		{"the destination's own pages are not history",
			audit.Dest{Name: "sa.bbc.co.uk", Channel: "HTTP"},
			[]audit.Leak{
				row(BrowsingHistory, "http://www.bbc.com/news", "url.query:u", 4),
				row(BrowsingHistory, "https://www.google.com/search?q=bbc+weather", "url.query:r", 4),
				row(SearchQuery, "bbc weather", "url.query:r>q", 4),
				row("device_id", "0123456789abcdef", "url.query:did", 4),
			},
			[]string{BrowsingHistory, SearchQuery, "device_id"},
			[]string{"medium behaviour-linked: browsing history (1 URL) and search queries (1 term) linked to device_id in the same message, sent to sa.bbc.co.uk"},
		},
		{"a search on the search engine itself",
			audit.Dest{Name: "www.google.com", Channel: "HTTP"},
			[]audit.Leak{row(BrowsingHistory, "https://www.google.de/search?q=a+b", "body:u", 4), row(SearchQuery, "a b", "body:u", 4), row("imei", "867891045582412", "body:imei", 4)},
			[]string{"imei"},
			nil,
		},
		{"no behaviour", audit.Dest{Name: "x.example.com"}, []audit.Leak{row("imei", "867891045582412", "body:imei", 4)}, []string{"imei"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept, fs := FlowBehaviour(slices.Clone(tc.leaks), tc.dest)
			var ids, got []string
			for _, l := range kept {
				ids = append(ids, l.Identifier)
			}
			for _, f := range fs {
				got = append(got, f.Severity.String()+" "+f.Kind+": "+f.Message)
			}
			if !slices.Equal(ids, tc.kept) {
				t.Errorf("kept %v, want %v", ids, tc.kept)
			}
			if !slices.Equal(got, tc.findings) {
				t.Errorf("findings\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.findings, "\n  "))
			}
		})
	}
}
