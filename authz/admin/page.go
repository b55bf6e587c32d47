package admin

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
)

// List limits: ?limit=N is 1..maxLimit, defaultLimit when left out.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// List is one page of a list answer. NextPageToken, when set, asks for the next page.
type List[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// page is what a list request asks for: at most limit items whose sort keys follow
// after.
type page struct {
	limit int
	after string
}

// parsePage reads ?limit and ?page_token. A page token is the base64url of the sort
// key of the last item of the page before; it stays valid whatever changes since.
func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return page{}, errInvalid("limit must be a number from 1 to %d", maxLimit)
		}
		p.limit = n
	}
	after, err := base64.RawURLEncoding.DecodeString(q.Get("page_token"))
	if err != nil {
		return page{}, errInvalid("page_token is not one this server gave")
	}
	p.after = string(after)
	return p, nil
}

// paginate returns the page p asks for of items, in the order of key, and the token
// of the next page, empty on the last one. The page is never nil, so that it is
// rendered as [].
func paginate[T any](items []T, key func(T) string, p page) ([]T, string) {
	sorted := append(make([]T, 0, len(items)), items...)
	slices.SortFunc(sorted, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	start, _ := slices.BinarySearchFunc(sorted, p.after, func(item T, after string) int {
		if key(item) <= after {
			return -1
		}
		return 1
	})
	end := min(start+p.limit, len(sorted))
	if end == len(sorted) {
		return sorted[start:end], ""
	}
	return sorted[start:end], base64.RawURLEncoding.EncodeToString([]byte(key(sorted[end-1])))
}
