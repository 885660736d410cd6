package policy

import (
	"sort"
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
	if len(p.Rules) == 0 {
		out = append(out, Issue{Pos: Pos{File: p.File, Line: 1, Col: 1}, Msg: "no rules: every capture passes"})
	}
	for _, r := range p.Rules {
		out = append(out, r.Check.lint(r)...)
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
