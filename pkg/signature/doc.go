// Package signature loads, checks and compiles vendor signatures: YAML files
// that say who is behind a destination (vendor, country of HQ) and why it
// matters (service, category, severity hint), with the public reports that
// say so.
//
// A pack is a directory of YAML files, one vendor per file (schema in
// docs/signatures.md). Load strictly decodes every file (unknown keys, bad
// regexes, CIDRs or ports are errors carrying file:line:col), then compiles
// all matchers once into a Set: a reversed-label suffix map for domains,
// binary prefix tries for CIDRs, maps for ASNs and TLS fingerprints, and
// regexes only where a pattern asks for one. Lookups do not get slower as
// the number of signatures grows, and MatchDomain does not allocate.
//
// The most specific match wins (see Match); Lint reports duplicates, ties,
// redundant patterns and failing examples.
package signature
