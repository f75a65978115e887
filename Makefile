# crowd-envelope: `make demo` and `make test` work on a fresh machine.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
# Every pytest run: a test that takes longer fails (pytest-timeout, by a
# signal, so fixtures still stop their redis-server).
PYTEST := $(PY) -m pytest -q -p no:cacheprovider --timeout=300 --timeout-method=signal
BIN := target/debug/crowd-envelope
# Accepted payloads of the last differential run, with native's encodings.
PARITY := target/parity/accepted.jsonl

# A recipe that fails leaves no half-made target behind (pkg/package.json).
.DELETE_ON_ERROR:

.PHONY: test test-package test-timeouts demo bench fuzz soak mutants mutants-core mutants-cli mutants-lua mutants-npm mutants-dashboard mutants-python build lint test-rust test-reference test-wasm test-npm test-python python-package pkg vectors parity clean

## Build the CLI (debug), with the dashboard and pkg/ built into it.
build: pkg
	@scripts/ensure.sh native-deps
	$(CARGO) build --features cli

## Everything CI runs: formatting, lints, Rust tests and doctests, the core's
## tests as wasm, the referee, the npm package as a consumer gets it, and
## the Python package.
test: lint test-timeouts test-rust test-wasm test-reference test-npm test-python test-package

## Each test runner's timeout, tried on a deliberately slow test in a
## scratch run: it fails in time and leaves no redis-server behind.
test-timeouts: python-package
	@scripts/ensure.sh node-modules redis
	PYTEST="$(PYTEST)" scripts/check-timeouts.sh

lint: pkg
	@scripts/ensure.sh native-deps node-modules
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets --all-features -- -D warnings
	$(CARGO) clippy -p crowd-envelope-python --all-targets -- -D warnings
	@# Every repository path a comment or doc names exists.
	python3 scripts/check-paths.py
	@# The packaged crate carries the page and the package's browser build.
	scripts/check-package.sh
	@# The dashboard's ES modules (// @ts-check), against the package's types.
	node_modules/.bin/tsc -p tsconfig.www.json
	@# What crates.io would get: the listed files, and not one warning.
	@out="$$($(CARGO) package --no-verify --allow-dirty --quiet 2>&1)"; \
	    if echo "$$out" | grep -q '^warning'; then echo "$$out"; exit 1; fi

## Rust unit, integration (a real redis-server) and doc tests; pkg/ first,
## as the program builds it in (tests/cli_serve.rs serves it).
test-rust: pkg
	@scripts/ensure.sh native-deps redis
	$(CARGO) test --all-features
	@# --all-features picks rustls; each TLS backend alone, once more.
	$(CARGO) test --features redis-tls --test redis rediss
	$(CARGO) test --features redis-rustls --test redis rediss

## The npm package, built from scratch into pkg/ (see scripts/build-pkg.sh)
## when its sources changed since the last build.
PKG_SOURCES := $(shell find src pkg-template -type f) Cargo.toml Cargo.lock package-lock.json \
	scripts/build-pkg.sh scripts/pkg-sources.mjs scripts/package-json.mjs tests/golden/asyncapi.json
pkg: pkg/package.json
pkg/package.json: $(PKG_SOURCES)
	scripts/build-pkg.sh
	touch $@

## The core's unit tests and API tests compiled to wasm, run in Node.
test-wasm:
	scripts/ensure.sh wasm-target wasm-bindgen
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner scripts/wasm-cargo.sh test --lib --test api

## The packed package in a scratch project: Node (ESM, CJS, corpus, native
## parity, Redis), strict TypeScript, Vite + headless Chromium, and the
## dashboard against redis-server and `crowd-envelope serve`.
test-npm: build pkg $(PARITY)
	tests/npm/run.sh

## The program as `cargo install` gets it from the packaged crate: serves
## its page from an empty directory (tests/package-install.sh).
test-package: pkg
	tests/package-install.sh

## The Python package (python/): the wheel maturin builds, installed into
## $(VENV), against the corpus and native's encodings.
test-python: python-package $(PARITY)
	@scripts/ensure.sh node-modules redis
	cd python/tests && $(PYTEST) test_package.py test_reference_parity.py test_redis.py test_group.py test_topologies.py typed_consumer.py
	cd python && $(CURDIR)/$(VENV)/bin/mypy --strict --no-incremental crowd_envelope tests/typed_consumer.py
	cd python && $(CURDIR)/node_modules/.bin/pyright

## The Python package built by maturin (debug profile) and installed into
## $(VENV), when its sources changed since the last install.
PYTHON_SOURCES := $(shell find src python/src python/crowd_envelope -type f) Cargo.toml Cargo.lock \
	python/Cargo.toml python/pyproject.toml
python-package: $(VENV)/.python-package
$(VENV)/.python-package: $(PYTHON_SOURCES) $(VENV)/.python-tools
	rm -rf target/wheels
	cd python && $(CURDIR)/$(VENV)/bin/maturin build --quiet --profile dev --out $(CURDIR)/target/wheels
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/crowd_envelope-*.whl
	touch $@

$(VENV)/.python-tools: python/requirements-dev.txt | $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

## The Python reference model, its corpus check and the differential run
## (20,000 payloads; it writes $(PARITY), which test-npm holds the package to).
test-reference: build $(VENV)/.installed
	cd tests/reference && CROWD_ENVELOPE_BIN=$(CURDIR)/$(BIN) $(PYTEST)

## The differential run at full size: 200,000 payloads, a new seed each time
## unless DIFF_SEED is set (about 2 minutes).
parity: build $(VENV)/.installed
	cd tests/reference && DIFF_PAYLOADS=200000 DIFF_SEED=$${DIFF_SEED:-$$RANDOM} CROWD_ENVELOPE_BIN=$(CURDIR)/$(BIN) \
		$(PYTEST) --timeout=1800 test_differential.py

$(PARITY): | build $(VENV)/.installed
	cd tests/reference && CROWD_ENVELOPE_BIN=$(CURDIR)/$(BIN) $(PYTEST) test_differential.py -k decoder

## Speed and size against what users would pick instead: target/bench/REPORT.md.
bench:
	benches/run.sh

## The decoder's differential test at a million payloads (CROWD_DIFF_CASES), then each
## fuzz target for FUZZ_SECONDS (default 300); crashes kept in fuzz/regressions/.
fuzz:
	scripts/fuzz.sh

## The chaos soak (scripts/soak.py): SOAK_MINUTES (default 10) of kill -9 of
## Redis and consumers, stops past the claim time, trims and hostile entries
## against the program, then exact accounting; exit 1 on any discrepancy.
## A 10-minute run writes docs/soak-stats.json, which the bench report quotes.
soak: build $(VENV)/.python-tools
	$(PY) scripts/soak.py

## Mutation testing of every language we ship (scripts/mutants-all.sh: each
## area below in turn, many hours on 2 cores), then caught and missed per
## area; exit 1 when an area is below 90 %. Survivors are killed by a test
## or explained in docs/mutants/EQUIVALENT*.md.
mutants:
	scripts/mutants-all.sh

## The pure core (cargo-mutants; about 35 minutes on 2 cores: pass
## MUTANTS_ARGS="--file src/decision.rs" for one module).
mutants-core:
	scripts/mutants.sh $(MUTANTS_ARGS)

## The command-line program, src/cli/ (cargo-mutants, .cargo/mutants-cli.toml;
## 336 mutants, each a rebuild and the CLI tests: hours; MUTANTS_ARGS="--file
## src/cli/serve/host.rs" for one file).
mutants-cli: build
	scripts/mutants.sh cli $(MUTANTS_ARGS)

## The transport's Lua scripts (scripts/mutants-lua.py: 226 mutants, each
## against the Redis tests that run its script, in a scratch worktree; hours
## on 2 cores: MUTANTS_LUA_ARGS="--file group/settle.lua" for one script).
mutants-lua:
	@scripts/ensure.sh native-deps redis
	scripts/mutants-lua.py $(MUTANTS_LUA_ARGS)

## The npm wrapper's TypeScript and the dashboard (StrykerJS,
## tests/mutants/stryker-*.json; about 50 minutes for npm, hours for the
## dashboard). STRYKER_ARGS go to Stryker.
mutants-npm mutants-dashboard: mutants-%: build pkg $(PARITY)
	scripts/mutants-js.sh $* $(STRYKER_ARGS)

## The Python package's Python (mutmut; about 4 minutes).
mutants-python: python-package
	scripts/mutants-python.sh

## Regenerate tests/vectors/corpus.jsonl from the reference model.
vectors: $(VENV)/.installed
	cd tests/reference && $(PY) gen_vectors.py

## A project-local virtualenv for the referee (never the system Python).
$(VENV)/.installed: tests/reference/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/reference/requirements.txt
	touch $@

## The codec on the sample predictions, then a live stream on a local
## redis-server: published, served to the dashboard, and tailed.
demo: build python-package
	@scripts/ensure.sh redis
	@DEMO_PYTHON=$(PY) bash examples/demo.sh $(BIN)

clean:
	rm -rf target pkg node_modules $(VENV)
