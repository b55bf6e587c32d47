// Package routetest holds request paths for tests of Tollgate behind proxies: paths
// whose meaning depends on who normalises them.
package routetest

// ConfusingPaths are request paths that one proxy or backend resolves differently from
// another. With the quickstart data (examples/data.yaml) and the tests' data, each
// would reach the public GET /orders/docs/* under one reading and /orders/42 or
// /payments/1 under another. Tollgate refuses every one with 400 invalid_request, in
// every mode, with or without a token.
var ConfusingPaths = []string{
	"/orders/docs//../42",
	"/orders/docs/../42",
	"/orders/docs/./../42",
	"/orders/docs/x/../../42",
	"/orders/docs/%2e%2e/42",
	"/orders/docs/%2E%2E/42",
	"/orders/docs/.%2e/42",
	"/orders/docs/%2e./42",
	"/orders/docs/..%2F42",
	"/orders/docs/..%2f42",
	"/orders/docs/%2e%2e%2f42",
	"/orders/docs/x%2F..%2F..%2F42",
	"/orders/docs/%252e%252e/42",
	"/orders/docs/%252F..%252F42",
	"/orders/docs/%25%32%65%25%32%65/42",
	"/orders/docs/..;/42",
	"/orders/docs/..;x=1/42",
	"/orders/docs/%2e%2e;/42",
	"/orders/docs/x/%2E%2E%3B/42",
	"/orders/docs/.;/42",
	"/orders/docs/..\\42",
	"/orders/docs/..%5C42",
	"/orders/docs/..%5c42",
	"/orders/docs/%255C..%255C42",
	"/orders//42",
	"//orders/42",
	"/orders/docs///intro",
	"/orders/docs/intro//",
	"/orders/42/..",
	"/orders/42/.",
	"/orders/docs/..",
	"/orders/%2e%2e/payments/1",
	"/./orders/42",
	"/orders/docs/..%00/42",
	"/orders/docs/intro/..?x=1",
}
