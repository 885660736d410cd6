package leak

import (
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// TestMaskFollowsIdentifierTable: Mask, MaskSpelling and Severity read the
// mask style and class of audit's identifier table. session_token used to
// be hidden whole by Mask but shown in part by MaskSpelling (its own copy
// of the credential list did not have it).
func TestMaskFollowsIdentifierTable(t *testing.T) {
	tests := []struct {
		id, value, spelling, mask, spellingMask string
	}{
		{"session_token", "a1b2c3d4e5f6a7b8", "sid=a1b2c3d4e5f6a7b8", "********", "********"},
		{"password", "hunter22", "aHVudGVyMjI=", "********", "********"},
		{"api_key", "sk_live_abcdefgh1234", "c2tfbGl2ZV9hYmNkZWZnaDEyMzQ=", "********", "********"},
		{"basic_auth", "alice:hunter22", "YWxpY2U6aHVudGVyMjI=", "a****:********", "********"},
		{"email", "jane.doe@example.org", "jane.doe%40example.org", "j******e@example.org", "jane.***%********e.org"},
		{"mac", "a4:cf:12:34:56:78", "a4cf12345678", "a4:cf:12:**:**:**", "a4cf****5678"},
		{"imei", "356938035643809", "MzU2OTM4MDM1NjQzODA5", "3569*******3809", "MzU2************ODA5"},
	}
	for _, tt := range tests {
		if got := Mask(tt.id, tt.value); got != tt.mask {
			t.Errorf("Mask(%s, %q) = %q, want %q", tt.id, tt.value, got, tt.mask)
		}
		if got := MaskSpelling(tt.id, tt.value, tt.spelling); got != tt.spellingMask {
			t.Errorf("MaskSpelling(%s, %q) = %q, want %q", tt.id, tt.spelling, got, tt.spellingMask)
		}
	}
	for _, id := range audit.Identifiers() {
		if !id.Reported {
			continue
		}
		cred := id.Class == audit.ClassCredential
		if got := Severity(id.Name, Exposure{Plaintext: true, ThirdParty: true}); cred && got != audit.Critical {
			t.Errorf("credential %s sent in clear to a third party = %v, want critical", id.Name, got)
		}
		if cred != secret(id.Name) {
			t.Errorf("secret(%s) = %v, want %v", id.Name, secret(id.Name), cred)
		}
	}
}
