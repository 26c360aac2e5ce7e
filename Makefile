# vindex — see README.md. `make run` serves, `make test` tests.
SHELL := /bin/bash
include Makefile.deps

GO  ?= go
BIN := $(CURDIR)/bin/vindex

.PHONY: build web web-deps web-test run test bench eval vet fmt-check generate check-generate migration
# The binary embeds the web app's build (web/dist), so the app is built first.
build: web
	$(GO) build -o $(BIN) ./cmd/vindex

# npm ci only when package-lock.json changed since the last install (its
# sha256 is kept in node_modules), then Vite's production build.
WEB_LOCK_STAMP := web/node_modules/.package-lock.sha256
web: web-deps
	cd web && npm run build --silent

web-deps:
	@want=$$(sha256sum web/package-lock.json | cut -d' ' -f1); \
	if [ "$$(cat $(WEB_LOCK_STAMP) 2>/dev/null)" != "$$want" ]; then \
		echo "web: npm ci"; \
		(cd web && npm ci --no-audit --no-fund --loglevel=error) && echo "$$want" > $(WEB_LOCK_STAMP); \
	fi

# Component tests (Vitest), then the end-to-end test: a real `vindex serve`
# driven through Debian's Chromium (screenshots in web/test-artefacts/).
web-test: build
	cd web && npm test --silent
	cd web && VINDEX_BIN=$(BIN) npm run e2e --silent

# Serves http://127.0.0.1:8080 with a managed PostgreSQL under .vindex/
# (set VINDEX_DATABASE_URL to use your own server instead).
run: deps build
	VINDEX_DATA_DIR=$${VINDEX_DATA_DIR:-$(CURDIR)/.vindex} $(BIN) serve

test: build vet fmt-check check-generate
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory web-test

# Benchmarks print their figures (wall time per minute of video, the share
# spent on orchestration, search speed up to 1M vectors, …), then the search
# quality table (make eval); they are never asserted in tests. The 1M-vector
# search run takes about 15 min and 6 GB: VINDEX_BENCH_1M=0 leaves it out.
bench:
	VINDEX_BENCH_1M=$${VINDEX_BENCH_1M:-1} $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 90m ./...
	$(MAKE) --no-print-directory eval

# Search quality on a generated, labelled set (recall@1/@5, MRR, start error
# per modality). Default models: tesseract + the hosted test provider; set
# VINDEX_EVAL_MODELS=local and VINDEX_MODEL_MIRROR for the local models.
eval:
	VINDEX_EVAL=1 $(GO) test ./internal/search/eval -run TestEval -count=1 -v -timeout 15m

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.deps/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

generate:
	$(GO) generate ./...

# Fails if generated code is stale (run `make generate` and commit).
check-generate: generate
	@git diff --exit-code -- ent graph || { echo "generated code is stale: run make generate and commit"; exit 1; }

# A new versioned migration from the ent schema: make migration NAME=add_things
migration:
	@test -n "$(NAME)" || { echo "usage: make migration NAME=what_it_does"; exit 2; }
	$(GO) run ./internal/store/migrategen -name $(NAME)
