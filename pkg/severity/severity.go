// Package severity orders findings and leaks: the one scale shared by the
// decoders that raise findings and the report that ranks them.
package severity

import (
	"fmt"
	"strings"
)

// Severity orders findings. The zero value is None; comparisons are plain
// integer comparisons ("fail on >= high").
type Severity uint8

const (
	None Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"none", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// Parse accepts the lower-case names (case-insensitive).
func Parse(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return None, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a lower-case name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
