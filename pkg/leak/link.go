package leak

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"golang.org/x/net/publicsuffix"
)

// Finding kinds raised by FlowBehaviour.
const (
	// KindBehaviourLinked: behavioural data and a device identifier
	// travelled in the same message or flow, so the activity is tied to
	// one device and, through it, one person.
	KindBehaviourLinked = audit.KindBehaviourLinked
	// KindBehaviourPrivate: behavioural data sent with a private-browsing
	// flag set, and no device identifier beside it.
	KindBehaviourPrivate = audit.KindBehaviourPrivate
)

// linkIdentifiers are the device identifiers that make behavioural data
// personal, strongest first (hardware and subscriber identifiers, then
// resettable ones).
var linkIdentifiers = []string{
	"imei", "imeisv", "meid", "imsi", "iccid", "phone", "email", "mac", "serial",
	"android_id", "advertising_id", "device_id",
}

// FlowBehaviour is applied once to the leak rows of one flow before they
// are filed under the device (dest is the flow's destination: its name
// and channel). It drops behavioural rows that are the destination's own
// pages — a URL on the destination's registrable domain (or one with the
// same name under another suffix: amazon.de to amazon.com), and the
// search terms read from such a URL — and returns the rows kept plus the
// flow's findings: KindBehaviourLinked when behavioural data and a device
// identifier travelled together, else KindBehaviourPrivate when the data
// carried a private-browsing flag.
func FlowBehaviour(leaks []audit.Leak, dest audit.Dest) ([]audit.Leak, []audit.Finding) {
	has := false
	for i := range leaks {
		if IsBehaviour(leaks[i].Identifier) {
			has = true
			break
		}
	}
	if !has {
		return leaks, nil
	}
	own := ownSite(dest.Name)
	// Locations of first-party URLs, and of third-party ones.
	var ownLoc, otherLoc []string
	for _, l := range leaks {
		if l.Identifier == BrowsingHistory {
			if own != "" && urlSite(l.Value) == own {
				ownLoc = append(ownLoc, l.Location)
			} else {
				otherLoc = append(otherLoc, l.Location)
			}
		}
	}
	kept := leaks[:0:0]
	for _, l := range leaks {
		switch {
		case l.Identifier == BrowsingHistory && own != "" && urlSite(l.Value) == own:
			continue
		case l.Identifier == SearchQuery && under(l.Location, ownLoc) && !under(l.Location, otherLoc):
			continue
		}
		kept = append(kept, l)
	}
	// What travelled together.
	var counts [3]int
	var first uint64
	private := false
	bFrames := map[uint64]bool{}
	for _, l := range kept {
		switch l.Identifier {
		case BrowsingHistory:
			counts[0]++
		case SearchQuery:
			counts[1]++
		case AppUsage:
			counts[2]++
		default:
			continue
		}
		bFrames[l.Frame] = true
		private = private || l.Private
		if first == 0 || l.Frame < first {
			first = l.Frame
		}
	}
	if counts == [3]int{} {
		return kept, nil
	}
	var ids []string
	strong, sameMessage := false, false
	var at audit.Leak
	for _, id := range linkIdentifiers {
		for _, l := range kept {
			if l.Identifier != id {
				continue
			}
			if !contains(ids, id) {
				ids = append(ids, id)
			}
			if c, _ := audit.LookupIdentifier(id); c.Class == audit.ClassStrong {
				strong = true
			}
			if bFrames[l.Frame] {
				sameMessage = true
			}
		}
	}
	for _, l := range kept {
		if IsBehaviour(l.Identifier) && l.Frame == first {
			at = l
			break
		}
	}
	what := behaviourSummary(counts)
	to := ""
	if dest.Name != "" {
		to = ", sent to " + dest.Name
	}
	mode := ""
	if private {
		mode = ", in private (incognito) mode"
	}
	if len(ids) == 0 {
		if !private {
			return kept, nil
		}
		return kept, []audit.Finding{{Severity: audit.Medium + plainStep(dest.Channel), Kind: KindBehaviourPrivate,
			Message: what + " sent with a private-browsing flag set" + to, Frame: at.Frame, Time: at.Time, Count: 1}}
	}
	where := "in the same flow"
	if sameMessage {
		where = "in the same message"
	}
	sev := audit.Medium
	if strong {
		sev = audit.High
	}
	sev += plainStep(dest.Channel) - 1
	if private {
		sev++
	}
	sev = min(max(sev, audit.Low), audit.Critical)
	return kept, []audit.Finding{{Severity: sev, Kind: KindBehaviourLinked,
		Message: what + " linked to " + strings.Join(ids, ", ") + " " + where + to + mode,
		Frame:   at.Frame, Time: at.Time, Count: 1}}
}

// plainStep is 1 for a channel anyone on the path reads (HTTP, MQTT,
// home-made encryption...; audit's channel table), else 0: TLS, decrypted
// or not, let only the server read the data.
func plainStep(channel string) audit.Severity {
	if audit.Channel(channel).Plaintext() {
		return 1
	}
	return 0
}

// behaviourSummary reads "browsing history (3 URLs), search queries (2)
// and app usage (1 event)".
func behaviourSummary(c [3]int) string {
	var parts []string
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	if c[0] > 0 {
		parts = append(parts, "browsing history ("+plural(c[0], "URL", "URLs")+")")
	}
	if c[1] > 0 {
		parts = append(parts, "search queries ("+plural(c[1], "term", "terms")+")")
	}
	if c[2] > 0 {
		parts = append(parts, "app usage ("+plural(c[2], "record", "records")+")")
	}
	switch len(parts) {
	case 1:
		return parts[0]
	case 2:
		return parts[0] + " and " + parts[1]
	}
	return parts[0] + ", " + parts[1] + " and " + parts[2]
}

// under reports whether loc is one of locs or inside one of them.
func under(loc string, locs []string) bool {
	for _, l := range locs {
		if loc == l || strings.HasPrefix(loc, l+">") {
			return true
		}
	}
	return false
}

// ownSite returns the name of a host's registrable domain without its
// public suffix ("amazon" for www.amazon.de), or "" for an address or a
// name without a registrable domain.
func ownSite(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || strings.IndexByte(host, ':') >= 0 || host[len(host)-1] >= '0' && host[len(host)-1] <= '9' {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return labelOf(d)
}

// urlSite is ownSite of a URL's host.
func urlSite(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	return ownSite(u.Hostname())
}

// LocateFinding adds the destination's country to the message of a
// behaviour finding once enrichment has located it: "sent to X" becomes
// "sent to X in SG". Other findings are left as they are.
func LocateFinding(fi *audit.Finding) {
	if fi.Kind != KindBehaviourLinked && fi.Kind != KindBehaviourPrivate || len(fi.Dest.Country) != 2 || fi.Dest.Name == "" {
		return
	}
	to := "sent to " + fi.Dest.Name
	if i := strings.Index(fi.Message, to); i >= 0 && !strings.HasPrefix(fi.Message[i+len(to):], " in ") {
		fi.Message = fi.Message[:i+len(to)] + " in " + fi.Dest.Country + fi.Message[i+len(to):]
	}
}
