package engine

import (
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/enrich"
	"github.com/phonehome/phonehome/pkg/leak"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
)

// Masking (unless ShowEvidence) is pkg/enrich's (see its mask.go): the
// engine keeps every leak row's spellings (below) and hands them, with the
// whole-token forms of the --devices identifiers, to enrich.NewMasker.
// Spooled records get the same replacement as they are streamed; HTTP
// Basic credentials are masked in each event before it is kept.

// maxLeakSpellings bounds the spellings kept per leak row.
const maxLeakSpellings = 16

// addSpellings adds the spellings of add missing from have, up to the cap.
func addSpellings(have, add []string) []string {
	for _, s := range add {
		if len(have) >= maxLeakSpellings {
			break
		}
		if !slices.Contains(have, s) {
			have = append(have[:len(have):len(have)], s)
		}
	}
	return have
}

// newMasker returns the masker for the leaks found and the known
// identifiers, or nil when nothing is to be masked. It reads the leaks
// before buildDevices masks their values.
func (e *engine) newMasker() *leak.Masker {
	if e.cfg.ShowEvidence {
		return nil
	}
	var found []enrich.Spelling
	for _, d := range e.inv.devs {
		for _, l := range d.leaks {
			for _, sp := range l.Spellings {
				found = append(found, enrich.Spelling{Identifier: l.Identifier, Value: l.Value, Form: sp})
			}
			found = append(found, enrich.Spelling{Identifier: l.Identifier, Value: l.Value, Form: l.Value})
		}
	}
	var known []leak.KnownForm
	if e.scanner != nil {
		known = e.scanner.KnownForms()
	}
	return enrich.NewMasker(found, known)
}

// onlyName selects the one string of a flow record that can carry a
// leaked text: its server name (addresses and the device ID are not
// masked).
func onlyName(key []byte) bool { return string(key) != "name" }

// maskSecrets masks the credentials of Basic Authorization headers in an HTTP
// event (unless ShowEvidence): "Basic dXNlcjpwYXNz" is one base64 decode
// away from the password. The event given is not modified; a changed copy
// is returned.
func (e *engine) maskSecrets(ev audit.Event) audit.Event {
	if e.cfg.ShowEvidence {
		return ev
	}
	he, ok := ev.Fields.(*phttp.Event)
	if !ok || he.Request == nil {
		return ev
	}
	idx := -1
	for i, h := range he.Request.Headers {
		if isBasicAuth(h) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return ev
	}
	rq := *he.Request
	rq.Headers = slices.Clone(rq.Headers)
	for i := idx; i < len(rq.Headers); i++ {
		if h := &rq.Headers[i]; isBasicAuth(*h) {
			h.Value = "Basic ********"
		}
	}
	c := *he
	c.Request = &rq
	ev.Fields = &c
	return ev
}

// isBasicAuth: an Authorization or Proxy-Authorization header with Basic
// credentials. Other schemes (Digest, Bearer...) carry no password in
// clear; bearer tokens are found by the leak scan as api_key.
func isBasicAuth(h phttp.Header) bool {
	if !strings.EqualFold(h.Name, "Authorization") && !strings.EqualFold(h.Name, "Proxy-Authorization") {
		return false
	}
	scheme, _, _ := strings.Cut(strings.TrimSpace(h.Value), " ")
	return strings.EqualFold(scheme, "basic")
}
