package cireport

import (
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/policy"
)

// SARIF 2.1.0 types: only the properties phonehome fills.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      *sarifText     `json:"fullDescription,omitempty"`
		DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifInvocation struct {
		ExecutionSuccessful bool                `json:"executionSuccessful"`
		Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifResult struct {
		RuleID              string             `json:"ruleId"`
		RuleIndex           int                `json:"ruleIndex"`
		Level               string             `json:"level"`
		Message             sarifText          `json:"message"`
		Locations           []sarifLocation    `json:"locations,omitempty"`
		RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
		PartialFingerprints map[string]string  `json:"partialFingerprints"`
		Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
		Properties          map[string]any     `json:"properties,omitempty"`
	}
	sarifLocation struct {
		ID               *int           `json:"id,omitempty"`
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
		Message          *sarifText     `json:"message,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
		Region           *sarifRegion          `json:"region,omitempty"`
	}
	sarifArtifactLocation struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	sarifSuppression struct {
		Kind          string `json:"kind"`
		Status        string `json:"status"`
		Justification string `json:"justification"`
	}
)

// SARIFSchemaURI is the $schema written in SARIF output.
const SARIFSchemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

// FingerprintKey names phonehome's entry in partialFingerprints.
const FingerprintKey = "phonehomeViolation/v1"

// fileURI turns a path into a URI reference relative to the working
// directory, which is what code-scanning services resolve against the
// repository root; a path outside the working directory becomes an absolute
// file URI.
func fileURI(p string) string {
	if p == "" || p == "-" {
		return "stdin"
	}
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	p = filepath.Clean(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
	}
	return (&url.URL{Path: filepath.ToSlash(p)}).String()
}

// securitySeverity is GitHub code scanning's 0-10 score for a severity.
func securitySeverity(s audit.Severity) string {
	switch s {
	case audit.Critical:
		return "9.5"
	case audit.High:
		return "8.0"
	case audit.Medium:
		return "5.5"
	case audit.Low:
		return "3.0"
	}
	return "1.0"
}

// SARIF writes one run: a rule per policy rule, a result per violation
// located at the first capture file (with the device as logical location
// and the policy rule as related location), partialFingerprints from the
// violation fingerprint, and accepted external suppressions.
func SARIF(w io.Writer, res *policy.Result) error {
	drv := sarifDriver{Name: "phonehome", Version: res.Tool.Version, InformationURI: "https://github.com/phonehome/phonehome", Rules: []sarifRule{}}
	index := map[string]int{}
	for _, r := range res.Rules {
		sr := sarifRule{ID: r.ID, ShortDescription: sarifText{r.Text()}, DefaultConfiguration: sarifConfig{level(r.Severity)},
			Properties: map[string]any{"kind": r.Kind, "severity": r.Severity.String(), "security-severity": securitySeverity(r.Severity),
				"tags": []string{"privacy", "phonehome"}}}
		if r.Message != "" {
			sr.FullDescription = &sarifText{r.Description}
		}
		index[r.ID] = len(drv.Rules)
		drv.Rules = append(drv.Rules, sr)
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}, Invocations: []sarifInvocation{{ExecutionSuccessful: !res.Incomplete}}}
	for _, wn := range res.Warnings {
		n := sarifNotification{Level: "warning", Message: sarifText{wn.Message}}
		if wn.Pos.File != "" && wn.Pos.Line > 0 {
			n.Locations = []sarifLocation{{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifactLocation{fileURI(wn.Pos.File)},
				Region: &sarifRegion{StartLine: wn.Pos.Line, StartColumn: wn.Pos.Col}}}}
		}
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, n)
	}
	for _, v := range res.Violations {
		idx, ok := index[v.Rule]
		if !ok {
			continue
		}
		r := sarifResult{RuleID: v.Rule, RuleIndex: idx, Level: level(v.Severity),
			Message:             sarifText{deviceLabel(v.DeviceName, v.Device) + ": " + v.Detail},
			PartialFingerprints: map[string]string{FingerprintKey: v.Fingerprint},
			Properties:          map[string]any{"device": v.Device, "severity": v.Severity.String(), "count": v.Count, "subject": v.Subject}}
		if v.Frame != 0 {
			r.Properties["frame"] = v.Frame
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: v.DeviceName, FullyQualifiedName: v.Device, Kind: "device"}}}
		if len(res.Inputs) > 0 {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifactLocation{fileURI(res.Inputs[0])}}
		}
		r.Locations = []sarifLocation{loc}
		if p := rulePos(res, v.Rule); p.File != "" {
			id := 1
			rel := sarifLocation{ID: &id, Message: &sarifText{"rule " + v.Rule},
				PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifactLocation{fileURI(p.File)}}}
			if p.Line > 0 {
				rel.PhysicalLocation.Region = &sarifRegion{StartLine: p.Line, StartColumn: p.Col}
			}
			r.RelatedLocations = []sarifLocation{rel}
		}
		if v.Suppressed != nil {
			r.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: v.Suppressed.Reason + " (until " + v.Suppressed.Until + ")"}}
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: SARIFSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}})
}
