package audit

import "github.com/phonehome/phonehome/pkg/severity"

// Severity orders findings; it is severity.Severity, named here so that
// report code keeps one vocabulary package.
type Severity = severity.Severity

// The severities, lowest first.
const (
	None     = severity.None
	Info     = severity.Info
	Low      = severity.Low
	Medium   = severity.Medium
	High     = severity.High
	Critical = severity.Critical
)

// ParseSeverity accepts the lower-case names (case-insensitive).
func ParseSeverity(s string) (Severity, error) { return severity.Parse(s) }
