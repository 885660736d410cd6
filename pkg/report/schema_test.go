package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/phonehome/phonehome/internal/golden"
	"github.com/phonehome/phonehome/pkg/audit"
)

var schemaPath = filepath.Join("..", "..", "docs", "schema", "report.schema.json")

// TestSchemaUpToDate keeps the published schema equal to the generated one.
func TestSchemaUpToDate(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if golden.Update() {
		if err := os.MkdirAll(filepath.Dir(schemaPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale; run go test ./pkg/report -update\n%s", schemaPath, golden.Diff(got, want))
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateJSON(t *testing.T, s *jsonschema.Schema, out []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return s.Validate(inst)
}

func TestJSONMatchesSchema(t *testing.T) {
	s := compileSchema(t)
	filtered := Apply(fixture(), Filter{Devices: []string{"pixel-7"}, MinSeverity: audit.Medium})
	for name, r := range map[string]*audit.Report{
		"fixture": fixture(), "hostile": hostileFixture(), "empty": {}, "filtered": filtered,
	} {
		if err := validateJSON(t, s, render(t, r, Options{Format: "json"})); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSchemaRejects checks the schema is strict enough to catch drift.
func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	good := string(render(t, fixture(), Options{Format: "json"}))
	for name, bad := range map[string]string{
		"unknown key":       strings.Replace(good, `"incomplete": false`, `"incomplete": false, "extra": 1`, 1),
		"bad severity":      strings.Replace(good, `"severity": "critical"`, `"severity": "urgent"`, 1),
		"bad time":          strings.Replace(good, `"first_seen": "2026-03-14T09:26:55Z"`, `"first_seen": "yesterday"`, 1),
		"missing devices":   strings.Replace(good, `"devices": [`, `"devicez": [`, 1),
		"negative bytes":    strings.Replace(good, `"bytes_up": 31877`, `"bytes_up": -1`, 1),
		"schema version":    strings.Replace(good, `"schema_version": "`+audit.SchemaVersion+`"`, `"schema_version": "0.1"`, 1),
		"port out of range": strings.Replace(good, `"port": 5228`, `"port": 70000`, 1),
	} {
		if bad == good {
			t.Errorf("%s: replacement did not apply", name)
			continue
		}
		if err := validateJSON(t, s, []byte(bad)); err == nil {
			t.Errorf("%s: schema accepted invalid output", name)
		}
	}
}

// TestDeviceRecordCoversDevice keeps the NDJSON device record in step with
// audit.Device: every JSON key is in the record or written as records of
// its own.
func TestDeviceRecordCoversDevice(t *testing.T) {
	keys := func(typ reflect.Type) map[string]bool {
		m := map[string]bool{}
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			m[name] = true
		}
		return m
	}
	rec := keys(reflect.TypeFor[deviceRecord]())
	nested := map[string]bool{"destinations": true, "leaks": true, "findings": true, "summary": true}
	for k := range keys(reflect.TypeFor[audit.Device]()) {
		if !rec[k] && !nested[k] {
			t.Errorf("audit.Device key %q is missing from deviceRecord", k)
		}
	}
}
