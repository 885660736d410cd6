package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/phonehome/phonehome/pkg/signature"
)

// Issue is a lint warning: the policy loads, but a rule probably does not
// do what its author meant.
type Issue struct {
	Pos Pos
	Msg string
}

func (i Issue) String() string { return i.Pos.String() + ": warning: " + i.Msg }

// Lint returns warnings about a loaded policy, sorted by position: names
// no detector or signature produces (a typo never matches, so the gate
// would pass silently), rules that can never fail or always fail.
func Lint(p *Policy) []Issue {
	var out []Issue
	cats := signature.Categories()
	if len(p.Rules) == 0 {
		out = append(out, Issue{Pos: Pos{File: p.File, Line: 1, Col: 1}, Msg: "no rules: every capture passes"})
	}
	for _, r := range p.Rules {
		at := func(key string) Pos {
			if pos, ok := r.pos[key]; ok {
				return pos
			}
			return r.Pos
		}
		switch r.Kind {
		case DenyCategories:
			for _, c := range r.Categories {
				if !slices.Contains(cats, c) {
					out = append(out, Issue{at("category:" + c), fmt.Sprintf("rule %s: no signature has category %q (known: %s)", r.ID, c, strings.Join(cats, ", "))})
				}
			}
		case DenyIdentifiers, DenyPlaintextIdentifiers:
			for _, c := range r.Identifiers {
				if c != "any" && !slices.Contains(knownIdentifiers, c) {
					out = append(out, Issue{at("identifier:" + c), fmt.Sprintf("rule %s: no detector reports identifier %q (known: any, %s)", r.ID, c, strings.Join(knownIdentifiers, ", "))})
				}
			}
		case DenyChannels:
			for _, c := range r.Channels {
				if !knownChannel(c) {
					out = append(out, Issue{at("channel:" + strings.ToLower(c)), fmt.Sprintf("rule %s: unknown channel %q (known: %s)", r.ID, c, knownChannels())})
				}
			}
		case MinTLSVersion:
			if r.MinTLS <= SSL2 {
				out = append(out, Issue{r.Pos, fmt.Sprintf("rule %s: min_tls_version %s allows every TLS version", r.ID, r.MinTLS)})
			}
		case MaxBytesPerDestination:
			if r.MaxBytes == 0 {
				out = append(out, Issue{r.Pos, fmt.Sprintf("rule %s: a budget of 0 bytes fails on every destination", r.ID)})
			}
		}
		if r.Kind == AllowCountries || r.Kind == DenyCountries {
			if dup := firstDup(r.Countries); dup != "" {
				out = append(out, Issue{r.Pos, fmt.Sprintf("rule %s: %s listed twice", r.ID, dup)})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Pos.Line != out[j].Pos.Line {
			return out[i].Pos.Line < out[j].Pos.Line
		}
		return out[i].Pos.Col < out[j].Pos.Col
	})
	return out
}

func firstDup(s []string) string {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}
