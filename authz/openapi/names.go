package openapi

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxName is the longest API name the catalog accepts.
const maxName = 128

var notInName = regexp.MustCompile(`[^a-z0-9._-]+`)

// nameFromTitle derives an API name from info.title: lowercased, each run of other
// characters than a-z, 0-9, '.', '_' and '-' replaced by '-', trimmed, and cut to the
// catalog's limit.
func nameFromTitle(info *openapi3.Info) (string, error) {
	var title string
	if info != nil {
		title = info.Title
	}
	name := notInName.ReplaceAllString(strings.ToLower(title), "-")
	name = strings.Trim(name, "-._")
	if len(name) > maxName {
		name = strings.TrimRight(name[:maxName], "-._")
	}
	if name == "" {
		return "", fmt.Errorf("info.title: %q gives no usable API name; pass a name", title)
	}
	return name, nil
}

// apiContext returns the API's context path: explicit when set, otherwise the path of
// the first server's URL; either way with a leading and no trailing slash.
func apiContext(explicit string, servers openapi3.Servers) (string, error) {
	if explicit != "" {
		return normalizeContext(explicit), nil
	}
	if len(servers) == 0 || servers[0] == nil {
		return "", errors.New("servers: none to take the API context from; pass --context")
	}
	p, err := serverPath(servers[0])
	if err != nil {
		return "", fmt.Errorf("servers[0].url: %w", err)
	}
	ctx := normalizeContext(p)
	if ctx == "/" {
		return "", fmt.Errorf("servers[0].url: %q has no path to take the API context from; pass --context", servers[0].URL)
	}
	return ctx, nil
}

// serverPath returns the path of a server's URL, its variables replaced by their
// defaults. An absolute URL and a relative one starting with / both give their path.
func serverPath(s *openapi3.Server) (string, error) {
	raw := s.URL
	for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
		if v := s.Variables[name]; v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q: %w; pass --context", s.URL, err)
	}
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(u.Path, "/") && u.Path != "" {
		return "", fmt.Errorf("%q is relative to where the document is served, which is unknown; pass --context", s.URL)
	}
	if strings.ContainsAny(u.Path, "{}") {
		return "", fmt.Errorf("%q has a variable without a default in its path; pass --context", s.URL)
	}
	return u.EscapedPath(), nil
}

// normalizeContext gives a context path a leading and no trailing slash; the root is /.
func normalizeContext(c string) string {
	return "/" + strings.Trim(c, "/")
}
