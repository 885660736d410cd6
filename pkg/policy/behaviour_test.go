package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// behaviourReport is firmware V2 plus the browser case's rows: history and
// a search to an analytics host, app usage to another.
func behaviourReport() *audit.Report {
	r := firmwareReport(true)
	d := &r.Devices[0]
	a := dst("hlog.browserstat-example.com", "161.117.97.20", 80, "SG", 45102, "", "HTTP", 1300)
	b := dst("events.launcher-example.com", "47.241.18.20", 80, "SG", 45102, "", "HTTP", 871)
	d.Destinations = append(d.Destinations, a, b)
	row := func(id string, dest audit.Destination, frame uint64) audit.Leak {
		return audit.Leak{Severity: audit.High, Identifier: id, Value: "****", Encoding: "url > base64 > gzip > plain", Location: "body:data>$.events[0].url", Dest: dest.Dest, Frame: frame, Count: 1}
	}
	d.Leaks = append(d.Leaks, row(audit.BrowsingHistory, a, 6), row(audit.SearchQuery, a, 6), row(audit.AppUsage, b, 30))
	return r
}

func TestDenyBehaviour(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		subjects   []string
	}{
		{"history and searches", "deny_behaviour: [browsing_history, search_query]", []string{
			"browsing_history to hlog.browserstat-example.com over HTTP", "search_query to hlog.browserstat-example.com over HTTP"}},
		{"any class", "deny_behaviour: [any]", []string{
			"browsing_history to hlog.browserstat-example.com over HTTP", "search_query to hlog.browserstat-example.com over HTTP",
			"app_usage to events.launcher-example.com over HTTP"}},
		{"app usage only", "deny_behaviour: [App_Usage]", []string{"app_usage to events.launcher-example.com over HTTP"}},
		// deny_identifiers is about identifiers: any does not take behaviour in.
		{"identifiers any", "deny_identifiers: [any]", []string{"imei to sdk.sensorsdata.cn over HTTP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: r\n    "+tc.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range Evaluate(behaviourReport(), p, Options{}).Violations {
				got = append(got, v.Subject)
			}
			slices.Sort(got)
			want := slices.Clone(tc.subjects)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("subjects %q, want %q", got, want)
			}
		})
	}
	// Lint: a class that is not behavioural is named with its position.
	p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  - id: r\n    deny_behaviour: [browsing_history, imei]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var issues []string
	for _, is := range Lint(p) {
		issues = append(issues, is.String())
	}
	if len(issues) != 1 || !strings.Contains(issues[0], `"imei" is not a behavioural class`) || !strings.HasPrefix(issues[0], "p.yaml:4:") {
		t.Errorf("lint %q", issues)
	}
}
