package envoyconf

import (
	"regexp"
	"strings"

	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// listMatches reports whether one of l's patterns matches s, as Envoy's
// ListStringMatcher does; false for a nil list.
func listMatches(l *matcherv3.ListStringMatcher, s string) bool {
	for _, m := range l.GetPatterns() {
		if matches(m, s) {
			return true
		}
	}
	return false
}

// matches evaluates one StringMatcher on s. A regex is RE2, as in Envoy, and must match
// the whole of s; a custom matcher never matches here.
func matches(m *matcherv3.StringMatcher, s string) bool {
	fold := func(v string) string { return v }
	if m.GetIgnoreCase() {
		fold = strings.ToLower
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return fold(s) == fold(p.Exact)
	case *matcherv3.StringMatcher_Prefix:
		return strings.HasPrefix(fold(s), fold(p.Prefix))
	case *matcherv3.StringMatcher_Suffix:
		return strings.HasSuffix(fold(s), fold(p.Suffix))
	case *matcherv3.StringMatcher_Contains:
		return strings.Contains(fold(s), fold(p.Contains))
	case *matcherv3.StringMatcher_SafeRegex:
		return fullMatch(p.SafeRegex.GetRegex(), s)
	}
	return false
}

// fullMatch reports whether the RE2 expression expr matches all of s; false when expr
// does not compile.
func fullMatch(expr, s string) bool {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	return err == nil && re.MatchString(s)
}
