package engine

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

// maskingInputs are the scenario captures, the planted-leak capture, the
// issue 14 capture and every capture of the shared corpus.
func maskingInputs(t *testing.T) []string {
	inputs := scenarioInputs(t, 1<<62) // scenarios only; the corpus below, all of it
	inputs = append(inputs, maskingCapture(t))
	if corpus.Dir() != "" {
		for _, e := range corpus.All(t) {
			inputs = append(inputs, e.Path)
		}
	}
	return inputs
}

// TestMaskingInvariants runs every input with masking and with
// --show-evidence and checks, in every output format:
//
//	(a) no spelling of any leak found (nor its value) stands as a whole
//	    token in any masked output, device identities (ID, MAC) aside;
//	(b) every output parses: JSON validates against docs/schema, every
//	    NDJSON line is JSON, every CSV table is CSV;
//	(c) masking changes nothing but leaked texts: the masked and the
//	    unmasked JSON and NDJSON have the same structure, numbers and
//	    literals, every string that differs holds a leaked spelling, and
//	    the same holds cell by cell for every CSV table.
func TestMaskingInvariants(t *testing.T) {
	schema := reportSchema(t)
	var captures, leaks, spellings, checks, differing int
	for _, in := range maskingInputs(t) {
		name := filepath.Base(in)
		// Each scenario with its own devices file; the issue 14 capture
		// with maskingDevicesYAML.
		cfg := labConfig(t)
		cfg.KeepFlows, cfg.KeepEvents = true, true
		switch name {
		case "masking.pcap":
			cfg = maskingConfig(t)
		case "demo.pcap":
			cfg.Known, cfg.Scanner = devicesFile(t, filepath.Join("..", "..", "fixtures", "demo-devices.yaml"))
		}
		if strings.Contains(in, string(filepath.Separator)+"pcaps"+string(filepath.Separator)) {
			// Corpus captures: generic detectors only, as a new user runs them.
			sc, err := leak.NewScanner(nil, leak.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Known, cfg.Scanner = nil, sc
		}
		for _, spool := range []bool{false, true} {
			cfg.SpoolRecords, cfg.SpoolDir = spool, t.TempDir()
			masked, ok := runAll(t, cfg, in)
			if !ok {
				continue
			}
			show := cfg
			show.ShowEvidence = true
			clear, _ := runAll(t, show, in)
			if !spool {
				captures++
			}
			// (a)
			texts := leakTexts(clear.rep, 4)
			if !spool {
				leaks += clear.leaks
				spellings += len(texts)
			}
			for format, out := range masked.out {
				if format == "json" || format == "ndjson" {
					out = jsonStrings(t, out) // numbers are never leaked texts
				}
				out = withoutIdentities(out, masked.rep)
				for _, s := range texts {
					checks++
					for _, form := range []string{s, jsonEscaped(s), html.EscapeString(s)} {
						if i := tokenIndex(out, form); i >= 0 {
							t.Errorf("%s spool=%v %s: leaked text %q in clear: …%s…", name, spool, format, s, snippet(out, i))
							break
						}
					}
				}
			}
			// (b)
			checkValid(t, schema, name, masked.out)
			checkValid(t, schema, name+" (--show-evidence)", clear.out)
			// (c)
			known := knownTexts(cfg)
			oracle := append(leakTexts(clear.rep, 1), known...)
			for _, s := range leakTexts(clear.rep, 4) {
				oracle = append(oracle, hex.EncodeToString([]byte(s))) // unknown events' head_hex
			}
			for _, f := range []string{"json", "ndjson"} {
				n, err := sameButLeaks(masked.out[f], clear.out[f], oracle)
				if err != nil {
					t.Errorf("%s spool=%v %s: %v", name, spool, f, err)
				}
				differing += n
			}
			for f := range outputOptions {
				if strings.HasPrefix(f, "csv-") {
					if n, err := sameCSVButLeaks(masked.out[f], clear.out[f], oracle); err != nil {
						t.Errorf("%s spool=%v %s: %v", name, spool, f, err)
					} else {
						differing += n
					}
				}
			}
		}
	}
	t.Logf("%d captures, %d leak rows, %d distinct leaked texts; %d text × format × spool checks; %d strings differ between masked and unmasked output, each holding a leaked text",
		captures, leaks, spellings, checks, differing)
}

func devicesFile(t *testing.T, path string) ([]lab.Device, *leak.Scanner) {
	t.Helper()
	lf, err := lab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := leak.NewScanner(lf.Devices, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return lf.Devices, sc
}

type runOutput struct {
	rep   *audit.Report
	out   map[string]string
	leaks int
}

func runAll(t *testing.T, cfg Config, in string) (runOutput, bool) {
	t.Helper()
	rep, err := Run(context.Background(), cfg, []string{in})
	if err != nil && !errors.Is(err, ErrDamaged) {
		return runOutput{}, false // not a capture at all: no report
	}
	defer func() {
		if rep.Records != nil {
			rep.Records.Close()
		}
	}()
	n := 0
	for _, d := range rep.Devices {
		n += len(d.Leaks)
	}
	return runOutput{rep: rep, out: writeAll(t, rep), leaks: n}, true
}

// leakTexts returns every spelling and value of every leak (from an
// unmasked report), longest first.
func leakTexts(rep *audit.Report, minLen int) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			for _, s := range append(slices.Clone(l.Spellings), l.Value) {
				if len(s) >= minLen && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

func knownTexts(cfg Config) []string {
	var out []string
	if cfg.Scanner != nil {
		for _, f := range cfg.Scanner.KnownForms() {
			out = append(out, f.Form)
		}
	}
	return out
}

// withoutIdentities removes the devices' IDs and MACs, which the report
// shows to say which device is which (a device's own MAC is also a known
// identifier).
func withoutIdentities(out string, rep *audit.Report) string {
	var olds []string
	for _, d := range rep.Devices {
		for _, s := range []string{d.ID, d.MAC, strings.ToUpper(d.MAC)} {
			if s != "" {
				olds = append(olds, s, jsonEscaped(s), html.EscapeString(s))
			}
		}
	}
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	for _, o := range olds {
		out = strings.ReplaceAll(out, o, "")
	}
	return out
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tokenIndex finds s in out where it stands as a whole token (no letter or
// digit glued to either end; a %XX escape before it counts as a boundary),
// or returns -1.
func tokenIndex(out, s string) int {
	if s == "" {
		return -1
	}
	for i := 0; ; {
		j := strings.Index(out[i:], s)
		if j < 0 {
			return -1
		}
		at := i + j
		end := at + len(s)
		left := at == 0 || !isAlnumByte(out[at-1]) || !isAlnumByte(s[0]) ||
			at >= 3 && out[at-3] == '%'
		right := end == len(out) || !isAlnumByte(out[end]) || !isAlnumByte(s[len(s)-1])
		if left && right {
			return at
		}
		i = at + 1
	}
}

func snippet(s string, i int) string {
	a, b := max(0, i-40), min(len(s), i+80)
	return s[a:b]
}

func reportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "schema", "report.schema.json"))
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
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkValid: JSON against the schema, NDJSON line by line, CSV.
func checkValid(t *testing.T, schema *jsonschema.Schema, name string, outs map[string]string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(outs["json"]))
	if err != nil {
		t.Errorf("%s json: %v", name, err)
	} else if err := schema.Validate(inst); err != nil {
		t.Errorf("%s json: %v", name, err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(outs["ndjson"], "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("%s ndjson line %d is not JSON: %.200s", name, i+1, line)
			break
		}
	}
	for f, out := range outs {
		if strings.HasPrefix(f, "csv-") {
			if _, err := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil {
				t.Errorf("%s %s: %v", name, f, err)
			}
		}
	}
}

// sameButLeaks compares masked and clear JSON texts (one document, or one
// per line) value by value; it returns how many strings differ.
func sameButLeaks(masked, clear string, oracle []string) (int, error) {
	dm := json.NewDecoder(strings.NewReader(masked))
	dc := json.NewDecoder(strings.NewReader(clear))
	dm.UseNumber()
	dc.UseNumber()
	n := 0
	for {
		var a, b any
		ea, eb := dm.Decode(&a), dc.Decode(&b)
		if ea == io.EOF && eb == io.EOF {
			return n, nil
		}
		if ea != nil || eb != nil {
			return n, fmt.Errorf("decode: %v / %v", ea, eb)
		}
		k, err := sameValue(a, b, "$", oracle)
		n += k
		if err != nil {
			return n, err
		}
	}
}

func sameValue(a, b any, path string, oracle []string) (int, error) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return 0, fmt.Errorf("%s: structure differs", path)
		}
		n := 0
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return n, fmt.Errorf("%s: key %q only in the masked output", path, k)
			}
			m, err := sameValue(v, w, path+"."+k, oracle)
			n += m
			if err != nil {
				return n, err
			}
		}
		return n, nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return 0, fmt.Errorf("%s: array differs", path)
		}
		n := 0
		for i := range x {
			m, err := sameValue(x[i], y[i], fmt.Sprintf("%s[%d]", path, i), oracle)
			n += m
			if err != nil {
				return n, err
			}
		}
		return n, nil
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, fmt.Errorf("%s: type differs", path)
		}
		return sameString(x, y, path, oracle)
	default:
		if a != b {
			return 0, fmt.Errorf("%s: %v masked, %v unmasked", path, a, b)
		}
		return 0, nil
	}
}

func sameString(masked, clear, path string, oracle []string) (int, error) {
	if masked == clear {
		return 0, nil
	}
	for _, s := range oracle {
		if strings.Contains(clear, s) {
			return 1, nil
		}
	}
	if strings.HasPrefix(clear, "Basic ") && masked == "Basic ********" {
		return 1, nil // credentials, masked whether or not found as a leak
	}
	return 0, fmt.Errorf("%s: %q became %q but holds no leaked text", path, clear, masked)
}

func sameCSVButLeaks(masked, clear string, oracle []string) (int, error) {
	a, err := csv.NewReader(strings.NewReader(masked)).ReadAll()
	if err != nil {
		return 0, err
	}
	b, err := csv.NewReader(strings.NewReader(clear)).ReadAll()
	if err != nil {
		return 0, err
	}
	if len(a) != len(b) {
		return 0, fmt.Errorf("%d rows masked, %d unmasked", len(a), len(b))
	}
	n := 0
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return n, fmt.Errorf("row %d: %d cells masked, %d unmasked", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			m, err := sameString(a[i][j], b[i][j], fmt.Sprintf("row %d col %d", i, j), oracle)
			n += m
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// jsonStrings returns the string values and keys of JSON texts (one
// document or one per line), one per line.
func jsonStrings(t *testing.T, js string) string {
	var b strings.Builder
	d := json.NewDecoder(strings.NewReader(js))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatalf("json: %v", err)
		}
		if s, ok := tok.(string); ok {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
}
