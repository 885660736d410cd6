package audit

// Behavioural data classes: what the user did, not who they are. Leak
// rows carry them as Identifier (pkg/leak finds them; docs/leaks.md,
// "Behavioural data"), findings of the two kinds below say when such data
// was tied to a device identifier or sent in private-browsing mode.
const (
	BrowsingHistory = "browsing_history" // an http(s) URL of a page another site's server received
	SearchQuery     = "search_query"     // search terms
	AppUsage        = "app_usage"        // an app, screen or file the user opened

	// KindBehaviourLinked: behavioural data and a device identifier
	// travelled in the same message or flow.
	KindBehaviourLinked = "behaviour-linked"
	// KindBehaviourPrivate: behavioural data sent with a private-browsing
	// flag set, without a device identifier beside it.
	KindBehaviourPrivate = "behaviour-private-mode"
)

// BehaviourClasses returns the behavioural classes in documentation order.
func BehaviourClasses() []string { return []string{BrowsingHistory, SearchQuery, AppUsage} }

// IsBehaviour reports whether a leak's identifier is a behavioural class.
func IsBehaviour(identifier string) bool {
	switch identifier {
	case BrowsingHistory, SearchQuery, AppUsage:
		return true
	}
	return false
}
