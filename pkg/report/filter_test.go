package report

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

func ids(r *audit.Report) []string {
	var out []string
	for _, d := range r.Devices {
		out = append(out, d.ID)
	}
	return out
}

func TestApply(t *testing.T) {
	const phone, cam, pi = "mac:3c:28:6d:aa:bb:cc", "mac:a4:cf:12:34:56:78", "mac:dc:a6:32:01:02:03"
	tests := []struct {
		name     string
		f        Filter
		devices  []string
		leaks    int
		findings int
		flows    int
		worst    audit.Severity
	}{
		{"none", Filter{}, []string{phone, cam, pi}, 8, 5, 5, audit.Critical},
		{"by name", Filter{Devices: []string{"pixel-7"}}, []string{phone}, 4, 2, 2, audit.Critical},
		{"by id", Filter{Devices: []string{cam}}, []string{cam}, 4, 3, 3, audit.Critical},
		{"by MAC with dashes", Filter{Devices: []string{"DC-A6-32-01-02-03"}}, []string{pi}, 0, 0, 0, audit.None},
		{"several", Filter{Devices: []string{"Pixel-7", "dca6.3201.0203"}}, []string{phone, pi}, 4, 2, 2, audit.Critical},
		{"unknown device", Filter{Devices: []string{"toaster"}}, nil, 0, 0, 0, audit.None},
		{"min high", Filter{MinSeverity: audit.High}, []string{phone, cam, pi}, 5, 1, 5, audit.Critical},
		{"min critical", Filter{MinSeverity: audit.Critical}, []string{phone, cam, pi}, 2, 0, 5, audit.Critical},
		{"category", Filter{Categories: []string{"Advertising"}}, []string{phone, cam, pi}, 3, 1, 5, audit.Critical},
		{"category + severity", Filter{Categories: []string{"iot-cloud"}, MinSeverity: audit.High}, []string{phone, cam, pi}, 1, 1, 5, audit.High},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Apply(fixture(), tc.f)
			if g := ids(got); !slices.Equal(g, tc.devices) {
				t.Errorf("devices %v, want %v", g, tc.devices)
			}
			var leaks, findings int
			for _, d := range got.Devices {
				leaks += len(d.Leaks)
				findings += len(d.Findings)
				for _, l := range d.Leaks {
					if l.Severity < tc.f.MinSeverity {
						t.Errorf("leak below min severity: %v", l.Severity)
					}
				}
			}
			if leaks != tc.leaks || findings != tc.findings {
				t.Errorf("leaks/findings %d/%d, want %d/%d", leaks, findings, tc.leaks, tc.findings)
			}
			s := got.Summary
			if s.Devices != len(tc.devices) || s.Leaks != tc.leaks || s.Findings != tc.findings || s.WorstSeverity != tc.worst {
				t.Errorf("summary %+v, want devices %d leaks %d findings %d worst %v", s, len(tc.devices), tc.leaks, tc.findings, tc.worst)
			}
			if len(got.Flows) != tc.flows {
				t.Errorf("flows %d, want %d", len(got.Flows), tc.flows)
			}
			for _, e := range got.Events {
				if !slices.ContainsFunc(got.Flows, func(f audit.Flow) bool { return f.ID == e.FlowID }) {
					t.Errorf("event of dropped flow %d kept", e.FlowID)
				}
			}
		})
	}
}

func TestApplyCategoryResummarizes(t *testing.T) {
	got := Apply(fixture(), Filter{Categories: []string{"advertising"}})
	phone := got.Devices[0]
	if len(phone.Destinations) != 2 {
		t.Fatalf("destinations %d, want 2", len(phone.Destinations))
	}
	s := phone.Summary
	if s.BytesUp != 12044+4388 || s.BytesDown != 60211+1630 {
		t.Errorf("bytes %d/%d", s.BytesUp, s.BytesDown)
	}
	if len(s.ByCountry) != 2 || s.ByCountry[0].Key != "IE" || s.ByCountry[1].Key != "NL" {
		t.Errorf("by country %+v", s.ByCountry)
	}
	// The owner key stays the AS number, labelled (it was "AS32934
	// Facebook, Inc." here and "AS32934" unfiltered).
	if len(s.ByOwner) != 2 || s.ByOwner[0].Key != "AS32934" || s.ByOwner[0].Label != "Facebook, Inc." {
		t.Errorf("by owner %+v", s.ByOwner)
	}
	if !slices.Equal(s.ThirdParties, []string{"Example Adnet", "Meta"}) {
		t.Errorf("third parties %v", s.ThirdParties)
	}
	if want := share(4388, 12044+4388); s.PlaintextShare != want {
		t.Errorf("plaintext share %v, want %v", s.PlaintextShare, want)
	}
	if s.WorstSeverity != audit.Critical || s.WorstFinding != "imei leaked to t.adnet-example.net (HTTP)" {
		t.Errorf("worst %v %q", s.WorstSeverity, s.WorstFinding)
	}
	cam := got.Devices[1]
	if len(cam.Destinations) != 0 || cam.Summary.BytesUp != 0 || cam.Summary.WorstSeverity != audit.None {
		t.Errorf("camera keeps %d destinations, %d bytes, worst %v", len(cam.Destinations), cam.Summary.BytesUp, cam.Summary.WorstSeverity)
	}
}

func TestApplyNil(t *testing.T) {
	if Apply(nil, Filter{}) != nil {
		t.Error("Apply(nil) != nil")
	}
}

// TestApplySummaryAsEngine: a filter that drops rows writes the summary of
// the rows it kept exactly as the engine writes one (audit.Summarize): the
// worst finding keeps its channel or destination, owners keep their AS key.
func TestApplySummaryAsEngine(t *testing.T) {
	tests := []struct {
		name  string
		f     Filter
		dev   int
		worst string
	}{
		{"min high, leak", Filter{MinSeverity: audit.High}, 0, "imei leaked to t.adnet-example.net (HTTP)"},
		{"min high, camera", Filter{MinSeverity: audit.High}, 1, "location leaked to log.ipcam-cloud.cn (HTTP)"},
		{"category", Filter{Categories: []string{"advertising"}}, 0, "imei leaked to t.adnet-example.net (HTTP)"},
		{"uncategorised, finding", Filter{Categories: []string{""}}, 0,
			"encrypted traffic on a non-standard port with no TLS handshake (203.0.113.9)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture()
			for i := range in.Devices {
				audit.Summarize(&in.Devices[i]) // as the engine made them
			}
			got := Apply(in, tc.f).Devices[tc.dev].Summary
			if got.WorstFinding != tc.worst {
				t.Errorf("worst finding %q, want %q", got.WorstFinding, tc.worst)
			}
			for _, o := range got.ByOwner {
				if strings.Contains(o.Key, " ") {
					t.Errorf("owner key %q carries its label", o.Key)
				}
			}
			// Keeping every row gives the unfiltered summary back.
			all := Apply(in, Filter{MinSeverity: audit.Info}).Devices[tc.dev].Summary
			if want := in.Devices[tc.dev].Summary; !reflect.DeepEqual(all, want) {
				t.Errorf("summary changed by a filter that keeps everything:\n%+v\n%+v", all, want)
			}
		})
	}
}
