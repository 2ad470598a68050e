# kstack developer entry points. Thin wrappers: the real work lives in hack/ and in Go.
# The Go build cache is left at its default location on purpose: warm rebuilds take
# seconds, cold ones minutes.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export PATH := /usr/local/go/bin:$(PATH)
# No VCS stamping unless asked for: it fails in clones owned by another user.
export GOFLAGS := $(or $(GOFLAGS),-buildvcs=false)

OUT        := _output
BIN        := $(OUT)/bin
TEST_TIMEOUT ?= 20m
FUZZTIME   ?= 10s
GOTEST_FLAGS ?=
NODES      ?= 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install host dependencies (etcd 3.7, containerd, runc, CNI plugins, iptables, ...). Root.
	hack/install-deps.sh

.PHONY: build
build: ## Build every binary under cmd/ into _output/bin/.
	@mkdir -p $(BIN)
	@if compgen -G 'cmd/*/main.go' >/dev/null; then \
		echo "go build -o $(BIN)/ ./cmd/... ./hack/pki"; \
		go build -o $(BIN)/ ./cmd/... ./hack/pki; \
	else \
		echo "build: no cmd/*/main.go yet"; \
	fi

.PHONY: kubectl-upstream
kubectl-upstream: ## Build the upstream kubectl used by the acceptance tests into _output/tools/.
	hack/build-upstream-kubectl.sh

.PHONY: upstream-control-plane
upstream-control-plane: ## Build upstream kube-apiserver, kube-scheduler and kube-controller-manager (v1.37) for the compatibility tests into _output/tools/.
	hack/build-upstream-control-plane.sh

.PHONY: test
test: build kubectl-upstream upstream-control-plane ## Run unit, integration and acceptance tests (upstream kubectl, scheduler, controller-manager; no skips).
	KSTACK_REQUIRE_E2E=1 KSTACK_REQUIRE_UPSTREAM=1 go test -timeout $(TEST_TIMEOUT) $(GOTEST_FLAGS) ./...

.PHONY: images
images: ## Build the test images (pause, busybox, testserver) as OCI archives into _output/images (no docker).
	hack/images.sh

.PHONY: test-e2e
test-e2e: build ## Run the root-only e2e tests: kube-proxy in network namespaces, the kubelet on its own containerd with CNI, a 3-node cluster.
	hack/test-e2e-proxy.sh
	hack/test-e2e-node.sh
	hack/test-e2e-cluster.sh

.PHONY: verify
verify: ## Check gofmt, go vet and go mod tidy (main module and test/tools).
	@out="$$(find . -name '*.go' -not -path './_output/*' -not -path './.git/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [[ -n "$$out" ]]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet ./...
	go mod tidy -diff
	cd test/tools && go vet ./... && go mod tidy -diff
	cd test/tools/upstream && go mod tidy -diff

.PHONY: fuzz
fuzz: ## Run every Fuzz* target for FUZZTIME (default 10s) each.
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

.PHONY: bench
bench: ## Run the apiserver benchmark program (test/bench/apiserver).
	@if [[ -d test/bench/apiserver ]]; then \
		go run ./test/bench/apiserver; \
	else \
		echo "bench: test/bench/apiserver does not exist yet"; \
	fi

.PHONY: up
up: build ## Start a local cluster (state in _output/local): NODES=1 (default) runs the node on the host, NODES=3 three nodes in network namespaces.
	NODES=$(NODES) hack/local-up.sh up

.PHONY: down
down: ## Stop what 'make up' started and remove its nodes (namespaces, bridges, rules, containers).
	hack/local-up.sh down

.PHONY: clean
clean: ## Remove build output (_output/). Stops a local cluster first.
	-@[[ -x hack/local-up.sh ]] && hack/local-up.sh down >/dev/null 2>&1 || true
	rm -rf $(OUT)
