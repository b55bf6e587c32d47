// Command tollgate is an authorization server for Envoy and Istio: an ext_authz v3
// gRPC service that verifies bearer JWTs and decides with Rego policies.
//
// Usage:
//
//	tollgate serve --config FILE      run the server
//	tollgate check --server ADDR ...  send one Check request and print the decision
//	tollgate check --config FILE ...  decide one request in-process and say why
//	tollgate token --sign-with KEY    mint a token with a local key (demos, tests)
//	tollgate import --config FILE D   copy data file D into the store
//	tollgate keys rotate|list         rotate or list the STS signing keys
//	tollgate envoy validate FILE|DIR  validate Envoy and Istio configurations
//	tollgate version                  print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes shared by every command.
const (
	exitOK     = 0
	exitDenied = 1 // a refused request, or a check that denied
	exitUsage  = 2 // bad flags or arguments, or an error before any decision
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"serve", "run the ext_authz server", runServe},
	{"check", "decide one request, by a running server or in-process, and print the decision", runCheck},
	{"token", "mint a signed access token with a local private key (demos and tests)", runToken},
	{"import", "copy a data file's APIs, applications and subscriptions into the store", runImport},
	{"export", "write the store's APIs, applications and subscriptions as a data file", runExport},
	{"keys", "list or rotate the STS signing keys in the store", runKeys},
	{"envoy", "validate Envoy and Istio configurations that put Tollgate in front of an API", runEnvoy},
	{"app", "manage applications, their STS keys and IdP client-ID bindings (admin API)", runApp},
	{"api", "manage APIs and their resources' scopes; import OpenAPI (admin API)", runAPI},
	{"subscribe", "subscribe an application to an API (admin API)", runSubscribe},
	{"unsubscribe", "remove an application's subscription to an API (admin API)", runUnsubscribe},
	{"subscription", "block, unblock or list subscriptions (admin API)", runSubscription},
	{"version", "print the version", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tollgate COMMAND [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tollgate COMMAND -h' for a command's flags.")
}

// parseFlags parses a command's flags and refuses positional arguments. It returns the
// exit code to use when parsing did not succeed.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	return parseArgs(fs, args, stderr, 0)
}

// parseArgs parses a command's flags followed by exactly n positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer, n int) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	switch {
	case fs.NArg() > n:
		fmt.Fprintf(stderr, "tollgate %s: unexpected argument %q\n", fs.Name(), fs.Arg(n))
		return exitUsage, false
	case fs.NArg() < n:
		fmt.Fprintf(stderr, "tollgate %s: expected %d argument(s); see 'tollgate %s -h'\n", fs.Name(), n, fs.Name())
		return exitUsage, false
	}
	return 0, true
}
