package audit

import (
	"slices"
	"testing"
)

func TestIdentifierTable(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range Identifiers() {
		if seen[id.Name] {
			t.Errorf("%s listed twice", id.Name)
		}
		seen[id.Name] = true
		if !id.Key && !id.Reported {
			t.Errorf("%s is neither a key class nor reported", id.Name)
		}
		if got, ok := LookupIdentifier(id.Name); !ok || got != id {
			t.Errorf("LookupIdentifier(%s) = %+v, %v", id.Name, got, ok)
		}
		if id.Class == ClassCredential && id.Mask != MaskSecret && id.Mask != MaskUserSecret {
			t.Errorf("credential %s is only partly masked", id.Name)
		}
	}
	rep := ReportedIdentifiers()
	if slices.Contains(rep, "gps_lat") || !slices.Contains(rep, "gps") || rep[len(rep)-1] != "basic_auth" {
		t.Errorf("ReportedIdentifiers = %v", rep)
	}
	keys := KeyClasses()
	if slices.Contains(keys, "basic_auth") || !slices.Contains(keys, "gps_lon") {
		t.Errorf("KeyClasses = %v", keys)
	}
	if id, ok := LookupIdentifier("shoe_size"); ok || id.Name != "shoe_size" || id.Class != ClassContext || id.Mask != MaskPartial {
		t.Errorf("unknown identifier = %+v, %v", id, ok)
	}
}
