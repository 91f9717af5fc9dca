# SPDX-License-Identifier: GPL-2.0-or-later
# mod_rest: the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# Where Debian's ejabberd keeps its beams (ejabberd-23.01-1/, p1_* apps are in /usr/lib/erlang/lib).
ERL_LIBS ?= /usr/lib/x86_64-linux-gnu
export ERL_LIBS
CONTRIB_MODULES_PATH ?= $(HOME)/.ejabberd-modules
DEBIAN_PACKAGES := erlang-nox erlang-dev erlang-eunit rebar3 ejabberd erlang-p1-oauth2 php-cli php-curl

STAGE := _build/mod_rest
WORKER_SOURCES := $(shell find src -name '*.ts') tsconfig.json
ERL_SOURCES := $(wildcard erl/*.erl erl/*.app.src) rebar.config rebar.config.script

.PHONY: help deps browser build dist install uninstall run test test-unit test-erl test-integration test-matrix test-prosody torture lint clean original compare bench floor idempotency-variants

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# --- dependencies: installed only when missing, so a second run takes well under a second ---
deps: _build/.debian node_modules/.package-lock.json ## install Debian packages and npm packages if missing

_build/.debian:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p _build && touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The browser tests (test/integration/browser.test.ts) drive Debian's chromium (~300 MB with its
# libraries): installed on first need by the test targets, not by deps.
browser: _build/.chromium ## install Debian's chromium for the browser tests, if missing

_build/.chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); echo "Installing Debian's chromium (browser tests)"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null || \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; }
	@mkdir -p _build && touch $@

# --- build ---
build: deps $(STAGE)/.built ## build the Erlang stub and the worker into _build/mod_rest

priv/worker/main.js: node_modules/.package-lock.json $(WORKER_SOURCES)
	rm -rf priv/worker
	npx tsc -p tsconfig.json

# rebar3 rewrites only the beams whose sources changed, hence a stamp of our own.
_build/.erl-built: _build/.debian $(ERL_SOURCES)
	rebar3 compile
	touch $@

# The tree `make install` copies: an ejabberd contrib module (spec, ebin, priv, conf).
$(STAGE)/.built: priv/worker/main.js _build/.erl-built mod_rest.spec conf/mod_rest.yml package-lock.json
	rm -rf $(STAGE) && mkdir -p $(STAGE)/ebin $(STAGE)/priv $(STAGE)/conf
	cp _build/default/lib/mod_rest/ebin/*.beam _build/default/lib/mod_rest/ebin/mod_rest.app $(STAGE)/ebin/
	cp -r priv/worker $(STAGE)/priv/
	cp package.json package-lock.json $(STAGE)/priv/
	cd $(STAGE)/priv && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error && rm package-lock.json
	cp mod_rest.spec $(STAGE)/
	cp conf/mod_rest.yml $(STAGE)/conf/
	touch $@

install: build ## install into $CONTRIB_MODULES_PATH (default ~/.ejabberd-modules)
	rm -rf $(CONTRIB_MODULES_PATH)/mod_rest
	mkdir -p $(CONTRIB_MODULES_PATH)
	cp -r $(STAGE) $(CONTRIB_MODULES_PATH)/mod_rest
	rm -f $(CONTRIB_MODULES_PATH)/mod_rest/.built
	@echo "installed into $(CONTRIB_MODULES_PATH)/mod_rest"

# --- the ejabberd way: a contrib source package, compiled by the running ejabberd itself ---
DIST := _build/dist
dist: $(DIST)/mod_rest.tar.gz ## _build/dist/mod_rest/ (+ .tar.gz): a source package for `ejabberdctl module_install mod_rest`

# ext_mod compiles src/*.erl with ejabberd's own compiler and headers, then copies ebin, priv
# and conf into $CONTRIB_MODULES_PATH/mod_rest. module_check wants COPYING and a README:
# README.txt up to 24.x, README.md from 25.x, so the package has both, and the docs/ it links to.
$(DIST)/mod_rest.tar.gz: $(STAGE)/.built $(wildcard erl/*.erl) README.md $(wildcard docs/*.md) COPYING Makefile
	rm -rf $(DIST) && mkdir -p $(DIST)/mod_rest/src
	cp erl/*.erl $(DIST)/mod_rest/src/
	cp -r $(STAGE)/priv $(STAGE)/conf $(STAGE)/mod_rest.spec README.md COPYING $(DIST)/mod_rest/
	cp README.md $(DIST)/mod_rest/README.txt
	mkdir -p $(DIST)/mod_rest/docs && cp docs/*.md $(DIST)/mod_rest/docs/
	rm -rf $(DIST)/mod_rest/priv/node_modules/.bin   # symlinks to dev tools: not needed, and ext_mod copies files only
	tar -C $(DIST) --owner=0 --group=0 --sort=name -czf $@ mod_rest
	@echo "$(DIST)/mod_rest and $@: copy mod_rest/ to ~/.ejabberd-modules/sources/, then: ejabberdctl module_install mod_rest"

uninstall: ## remove it from $CONTRIB_MODULES_PATH
	rm -rf $(CONTRIB_MODULES_PATH)/mod_rest

# --- the main job: a throwaway ejabberd on loopback with mod_rest, in the foreground ---
run: build ## run a local ejabberd with mod_rest as the docs use it (HTTP 5285, c2s 5222, node mod_rest@localhost); Ctrl-C stops it
	npx tsx scripts/sandbox.ts run

# --- tests ---
test: build dist original browser ## every test: TypeScript units, EUnit, integration against a real ejabberd
	scripts/test-all.sh

test-unit: build ## mocha unit tests of the worker
	npx mocha 'test/unit/**/*.test.ts'

test-erl: build ## EUnit tests of the Erlang stub
	rebar3 eunit

test-integration: build dist original browser ## a real ejabberd, a real XMPP client
	npx mocha --timeout 60000 'test/integration/**/*.test.ts'

test-matrix: build dist original browser ## the integration suite on ejabberd 23.01 (this host), 24.12 and 26.07 (Debian chroots, built once; root)
	scripts/matrix/test-matrix.sh

# Prosody runs from the sid chroot of the matrix (scripts/prosody.ts), our ejabberd on the host.
PROSODY_CHROOT := $(or $(MOD_REST_CACHE),/var/cache/mod_rest)/chroots/sid
test-prosody: build ## our authenticated API and Prosody 13's mod_rest side by side on the same requests (sid chroot, built once; root)
	@scripts/matrix/chroot.sh sid >/dev/null
	@echo "target prosody: Prosody $$(cat $(PROSODY_CHROOT)/usr/lib/prosody/prosody.version) beside ejabberd $$(ls /usr/lib/x86_64-linux-gnu | sed -n 's/^ejabberd-\([0-9.]*\)-.*/\1/p')"
	timeout 600 npx mocha --timeout 60000 'test/prosody/**/*.test.ts'

torture: build original ## heavy runs, bounded: 100,000 inputs per parser property, 20 s of worker kills, 100,000 command names
	scripts/test-all.sh torture

lint: deps ## type-check everything, xref the Erlang side
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p test/tsconfig.json --noEmit
	rebar3 xref

clean: ## remove build output (not node_modules)
	rm -rf _build priv/worker .run

# --- the original contrib module, for side-by-side comparison (never on our node's code path) ---
ORIGINAL := _build/original/mod_rest
original: $(ORIGINAL)/ebin/mod_rest.beam ## fetch Debian's ejabberd-mod-rest into _build/original (not installed)

$(ORIGINAL)/ebin/mod_rest.beam: _build/.debian
	rm -rf _build/original && mkdir -p _build/original/deb $(ORIGINAL)/ebin
	cd _build/original/deb && apt-get download ejabberd-mod-rest >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get download ejabberd-mod-rest >/dev/null; }
	dpkg -x _build/original/deb/ejabberd-mod-rest_*.deb _build/original/deb/x
	cp _build/original/deb/x/usr/lib/*/ejabberd-*/ebin/mod_rest.beam $(ORIGINAL)/ebin/
	printf 'author: "Debian ejabberd-mod-rest"\ncategory: "http"\nsummary: "original, for comparison"\nhome: ""\nurl: ""\n' > $(ORIGINAL)/mod_rest.spec

# The design's floor (scripts/bench/floor/): a port round trip to a worker that echoes, then the
# original's work. For `BENCH_OURS=_build/floor/mod_rest make bench`; never installed.
FLOOR := _build/floor/mod_rest
floor: build $(FLOOR)/ebin/mod_rest.beam ## build the design's floor (a bound for ours) into _build/floor

$(FLOOR)/ebin/mod_rest.beam: scripts/bench/floor/mod_rest.erl scripts/bench/floor/echo-worker.js $(STAGE)/.built
	rm -rf $(FLOOR) && mkdir -p $(FLOOR)/ebin $(FLOOR)/priv/worker
	erlc -o $(FLOOR)/ebin -I $$(ls -d /usr/lib/*/ejabberd-*/include | head -1) scripts/bench/floor/mod_rest.erl
	cp -r $(STAGE)/priv/worker/port $(FLOOR)/priv/worker/
	cp scripts/bench/floor/echo-worker.js $(FLOOR)/priv/worker/main.js
	printf 'author: "mod_rest bench"\ncategory: "http"\nsummary: "the design floor, for comparison"\nhome: ""\nurl: ""\n' > $(FLOOR)/mod_rest.spec

idempotency-variants: build ## build two stripped variants of ours into _build/variants, to split a key's cost (docs/benchmarks.md)
	npx tsx scripts/bench/idempotency-variants.ts

compare: build original ## print the original and ours side by side on the same requests
	npx tsx scripts/compare-original.ts

# --- performance ---
bench: build original ## the original and ours side by side under the same load, then ours beside Prosody (BENCH_ROUNDS, BENCH_SECONDS, BENCH_API_*)
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get install -y -qq wrk >/dev/null || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }; }
	@# Prosody 13 for the authenticated API's figures (scripts/bench-api.ts): the sid chroot, as root.
	@[ "$$(id -u)" != 0 ] || scripts/matrix/chroot.sh sid >/dev/null
	npx tsx scripts/bench.ts
