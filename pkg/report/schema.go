package report

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// SchemaID is the $id of the JSON Schema of the json format.
const SchemaID = "https://github.com/phonehome/phonehome/docs/schema/report.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of the json output,
// generated from the audit types by reflection: one $defs entry per struct,
// fields without omitempty are required, unknown keys are rejected, and
// Event (which marshals itself) is an object with its common keys. The
// committed docs/schema/report.schema.json is this output; a test keeps
// them equal.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.structSchema(reflect.TypeFor[audit.Report]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "phonehome audit report"
	root["description"] = "Output of phonehome --format json, schema_version " + audit.SchemaVersion + "."
	root["$defs"] = g.defs
	props := root["properties"].(map[string]any)
	props["schema_version"] = map[string]any{"type": "string", "const": audit.SchemaVersion}
	if g.err != nil {
		return nil, g.err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("report: schema: %w", err)
	}
	return buf.Bytes(), nil
}

type schemaGen struct {
	defs map[string]any
	err  error
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	severityType = reflect.TypeFor[audit.Severity]()
	eventType    = reflect.TypeFor[audit.Event]()
	marshalerT   = reflect.TypeFor[json.Marshaler]()
	textMarshalT = reflect.TypeFor[encoding.TextMarshaler]()
)

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case severityType:
		var names []any
		for s := audit.None; s <= audit.Critical; s++ {
			names = append(names, s.String())
		}
		return map[string]any{"type": "string", "enum": names}
	case eventType:
		g.defs["Event"] = map[string]any{
			"type":        "object",
			"description": "A decoded protocol event: common keys, then the fields of its type.",
			"required":    []any{"type", "frame", "ts"},
			"properties": map[string]any{
				"type":    map[string]any{"type": "string", "minLength": 1},
				"frame":   map[string]any{"type": "integer", "minimum": 0},
				"input":   map[string]any{"type": "string", "description": "path of the frame's input, when the run read several (frame numbers restart in each file)"},
				"ts":      map[string]any{"type": "string", "format": "date-time"},
				"flow_id": map[string]any{"type": "integer", "minimum": 1},
			},
		}
		return map[string]any{"$ref": "#/$defs/Event"}
	}
	if t.Implements(marshalerT) || t.Implements(textMarshalT) {
		g.err = fmt.Errorf("report: schema: no rule for %v, which marshals itself", t)
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer", "minimum": 0, "maximum": uint64(1)<<(8*t.Size()) - 1}
	case reflect.Uint, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		return map[string]any{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = true // placeholder against recursion
			g.defs[t.Name()] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	g.err = fmt.Errorf("report: schema: unsupported type %v", t)
	return map[string]any{}
}

// structSchema describes a struct's JSON object; embedded structs are
// flattened as encoding/json does.
func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []any{}
	g.fields(t, props, &required)
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.typeSchema(f.Type)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			*required = append(*required, name)
		}
	}
}
