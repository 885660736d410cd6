// Package signatures holds phonehome's bundled vendor signature pack: one
// YAML file per vendor (schema in docs/signatures.md), embedded in the
// binary. Third-party lists imported into the pack keep their licences in
// LICENSES/.
package signatures

import "embed"

// Version identifies this pack in reports; bump it when the pack changes.
const Version = "2026.12.01"

// FS holds the pack files at its root.
//
//go:embed *.yaml
var FS embed.FS
