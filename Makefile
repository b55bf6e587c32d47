# Tollgate: the two commands a new user needs are `make run` and `make test`.

GO          ?= go
BIN         := bin/tollgate
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 300000x
# FuzzValidate runs the whole Envoy and Istio validator on each input, so it gets a
# tenth of the executions, and a bound on the minimisation of each new input.
FUZZTIME_VALIDATE ?= 30000x
GO_FILES     = $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')

.PHONY: all build run test fmt-check vet staticcheck rego-test go-test proxies fuzz clean

all: build

## build: compile bin/tollgate
build:
	$(GO) build -o $(BIN) ./cmd/tollgate

## run: fill the quickstart store from examples/data.yaml (printing new STS credentials
## once), then start `tollgate serve` on examples/config.yaml
run: build
	$(BIN) import --config examples/config.yaml --credentials examples/data.yaml
	$(BIN) serve --config examples/config.yaml

## test: formatting, vet, staticcheck, Rego tests (100% coverage), Go tests with -race (with
## real nginx and caddy, installed by `proxies` when missing), fuzzing
test: fmt-check vet staticcheck rego-test go-test fuzz

fmt-check:
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) tool opa fmt --fail --list policies/ examples/policies/ >/dev/null || { echo "opa fmt needed in policies/ or examples/policies/"; exit 1; }

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

## rego-test: the shipped policy, and the example policies on top of it
rego-test:
	$(GO) tool opa test --verbose policies/ examples/policies/
	$(GO) tool opa test --coverage --threshold 100 policies/ examples/policies/ >/dev/null || \
		{ echo "Rego tests must cover every line of policies/ and examples/policies/ (run: go tool opa test --coverage policies/ examples/policies/)"; exit 1; }

go-test: proxies
	$(GO) test -race -count=1 ./...

## proxies: install Debian's nginx, its headers-more module and caddy when one is missing;
## the end-to-end tests run examples/nginx.conf and examples/Caddyfile through them, and
## fail (never skip) without them. Quiet when all are there. Needs root (or sudo): CI
## starts on a clean machine as root. A package's own service is kept from starting
## while it installs (a policy-rc.d that says no, as in Docker images, removed after):
## Debian's nginx would start on port 80 and stay, and fails to install when that start
## fails. The tests run their own nginx and caddy, on their own ports and files.
PROXY_PKGS  := nginx libnginx-mod-http-headers-more-filter caddy
NGINX_MORE  := /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so
POLICY_RC_D := /usr/sbin/policy-rc.d
proxies:
	@if command -v nginx >/dev/null && command -v caddy >/dev/null && [ -f $(NGINX_MORE) ]; then exit 0; fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "installing $(PROXY_PKGS) for the proxy end-to-end tests"; \
	if [ ! -e $(POLICY_RC_D) ]; then \
		printf '#!/bin/sh\nexit 101\n' | $$sudo tee $(POLICY_RC_D) >/dev/null && $$sudo chmod 755 $(POLICY_RC_D); \
		trap '$$sudo rm -f $(POLICY_RC_D)' EXIT; \
	fi; \
	install="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PROXY_PKGS)"; \
	$$install >/dev/null 2>&1 || { $$sudo apt-get update -qq && $$install >/dev/null; } || \
		{ echo "could not install $(PROXY_PKGS): install them, then run make test again"; exit 1; }

## fuzz: run each fuzz target for FUZZTIME executions; go test fuzzes one target per run.
## A count, not a duration: Go 1.26's coordinator can fail a duration run with a spurious
## "context deadline exceeded" at the deadline (go.dev/issue/75804, fixed in Go 1.27).
## An input that fails is saved in the package's testdata/fuzz: commit it with the fix.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzNormalize$$' -fuzztime=$(FUZZTIME) ./authz/route
	$(GO) test -run='^$$' -fuzz='^FuzzMatch$$' -fuzztime=$(FUZZTIME) ./authz/route
	$(GO) test -run='^$$' -fuzz='^FuzzExtract$$' -fuzztime=$(FUZZTIME) ./authz/token
	$(GO) test -run='^$$' -fuzz='^FuzzInQuery$$' -fuzztime=$(FUZZTIME) ./authz/token
	$(GO) test -run='^$$' -fuzz='^FuzzTokenRequest$$' -fuzztime=$(FUZZTIME) ./authz/sts
	$(GO) test -run='^$$' -fuzz='^FuzzValidate$$' -fuzztime=$(FUZZTIME_VALIDATE) -fuzzminimizetime=5s ./authz/envoyconf

clean:
	rm -rf bin bench/bin bench/out

## bench: measure Tollgate beside a floor server of our own on pinned cores and print
## the table of docs/performance.md (a few minutes; not part of `make test`). Knobs:
## BENCH_DURATION per throughput phase, BENCH_LATENCY per one-at-a-time phase,
## BENCH_CHECKS before the scale server's memory is read, BENCH_FLAGS for the rest
## (bench/bin/tollgate-bench run -h). Installs h2load (nghttp2-client) if it is missing.
BENCH_DURATION   ?= 10s
BENCH_LATENCY    ?= 5s
BENCH_CHECKS     ?= 1000000
BENCH_SERVER_CPU ?= 1
BENCH_CLIENT_CPU ?= 0
BENCH_FLAGS      ?=

.PHONY: bench bench-build bench-tools

bench: bench-tools bench-build
	taskset -c $(BENCH_CLIENT_CPU) bench/bin/tollgate-bench run -tollgate bench/bin/tollgate -out bench/out \
		-duration $(BENCH_DURATION) -latency $(BENCH_LATENCY) -checks $(BENCH_CHECKS) \
		-server-cpu $(BENCH_SERVER_CPU) -client-cpu $(BENCH_CLIENT_CPU) $(BENCH_FLAGS)

bench-build:
	$(GO) build -o bench/bin/tollgate ./cmd/tollgate
	$(GO) build -o bench/bin/tollgate-bench ./bench

bench-tools:
	@command -v taskset >/dev/null || { echo "make bench needs taskset (util-linux)"; exit 1; }
	@command -v h2load >/dev/null || { \
		command -v apt-get >/dev/null || { echo "make bench needs h2load (nghttp2); install it"; exit 1; }; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get install -y nghttp2-client || { $$sudo apt-get update && $$sudo apt-get install -y nghttp2-client; }; }
