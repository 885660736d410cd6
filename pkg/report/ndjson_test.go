package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

func TestNDJSONRecords(t *testing.T) {
	r := fixture()
	out := render(t, r, Options{Format: "ndjson"})
	var types []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v: %s", len(types)+1, err, sc.Text())
		}
		typ, _ := m["type"].(string)
		if typ == "" {
			t.Fatalf("line %d has no type: %s", len(types)+1, sc.Text())
		}
		switch typ {
		case "device", "destination", "leak", "finding":
			if m["device"] == nil {
				t.Errorf("%s record without device key: %s", typ, sc.Text())
			}
		case "flow":
			if m["id"] == nil || m["device"] == nil {
				t.Errorf("flow record without id/device: %s", sc.Text())
			}
		}
		if typ == "device" && (m["destinations"] != nil || m["leaks"] != nil) {
			t.Errorf("device record repeats nested lists: %s", sc.Text())
		}
		types = append(types, typ)
	}
	count := map[string]int{}
	for _, ty := range types {
		count[ty]++
	}
	want := map[string]int{"flow": 5, "dns": 2, "tls": 1, "http": 2, "device": 3, "destination": 11, "leak": 8,
		"finding": 5, "summary": 4, "warning": 2, "counters": 1}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%d %q records, want %d", count[k], k, v)
		}
	}
	if types[0] != "flow" || types[5] != "dns" || types[len(types)-1] != "counters" || types[len(types)-2] != "summary" {
		t.Errorf("record order %v", types)
	}
}
