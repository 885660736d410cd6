package report

import "testing"

func TestNeeds(t *testing.T) {
	tests := []struct {
		opt  Options
		want RecordNeeds
	}{
		{Options{}, RecordNeeds{}},
		{Options{Format: "table", Tables: []string{"leaks"}}, RecordNeeds{}},
		{Options{Format: "table", Tables: []string{"leaks", "flows"}}, RecordNeeds{Flows: true}},
		{Options{Format: "markdown", Tables: []string{" Flows"}}, RecordNeeds{Flows: true}},
		{Options{Format: "json"}, RecordNeeds{Flows: true, Events: true, Every: true}},
		{Options{Format: "NDJSON"}, RecordNeeds{Flows: true, Events: true, Every: true}},
		{Options{Format: "html"}, RecordNeeds{Flows: true}},
		{Options{Format: "csv"}, RecordNeeds{}},
		{Options{Format: "csv", CSVTable: "flows"}, RecordNeeds{Flows: true}},
		{Options{Format: "csv", Tables: []string{"leaks", "flows"}}, RecordNeeds{Flows: true}},
	}
	for _, tt := range tests {
		if got := tt.opt.Needs(); got != tt.want {
			t.Errorf("%+v: Needs() = %+v, want %+v", tt.opt, got, tt.want)
		}
	}
}
