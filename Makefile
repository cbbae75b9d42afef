# Build, check and test ssekit. GNU make.
#
#   make run         build the demo's wasm bundle and serve the demo (ARGS=-h for its flags)
#   make web         build the demo's wasm bundle into web/static, precompressed
#   make test        vet, host tests, browser tests: what CI runs (.ci/run)
#   make vet         no build outputs or big files in git, gofmt, go vet (host and js/wasm)
#   make test-go     go test -race ./... on the host
#   make test-wasm   the js/wasm packages' tests, in headless Chromium
#   make test-examples  vet and test the examples (examples/goapp: go-app), each its own module
#   make fuzz        every Fuzz target for $(FUZZTIME) each
#   make bench       ssekit side by side with go-sse and r3labs, short (bench/, < 3 min)
#   make bench-full  the whole comparison, written to bench/RESULTS.md
#   make bench-go    the module's own Go benchmarks (go test -bench)
#   make tools       bin/go_js_wasm_exec, the browser test runner
#   make chromium    install Chromium when it is missing (root + apt-get)
#   make nginx       install nginx when it is missing (root + apt-get), for the fault suite
#   make soak        the fault suite's soak, not in CI: $(SOAK) (10m) of churn over HTTP/1.1 and HTTP/2
#   make clean       remove bin/ and generated build outputs

GO ?= go
BIN := $(CURDIR)/bin
FUZZTIME ?= 30s
# TESTFLAGS go to go test in test-go and test-wasm, e.g. TESTFLAGS=-run=TestX.
TESTFLAGS ?=

WASM_EXEC := $(BIN)/go_js_wasm_exec

# The js/wasm package patterns: ./wasm/..., ./shared/... and ./internal/..., each only when
# its folder holds Go files (go list warns about patterns that match nothing).
JS_PATTERNS = $(strip $(foreach d,wasm shared internal,$(if $(shell find $(d) -name '*.go' -not -path '*/testdata/*' 2>/dev/null | head -n 1),./$(d)/...)))

# The race detector needs cgo, and cgo a C compiler. Without one (a machine
# with only Go installed) the host tests run without -race, with a warning.
RACE ?= $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race)

.PHONY: all run web test vet test-go test-wasm test-examples tools chromium nginx soak fuzz bench bench-full bench-go clean

# The demo's bundle: the wasm app, wasm_exec.js from the toolchain that built
# it, and brotli and gzip copies of both, all embedded by the demo server.
GOROOT_WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/wasm_exec.js
STATIC := web/static
BUNDLE_SRC := $(shell find web wasm shared internal -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum

run: web
	$(GO) run ./cmd/ssekit-demo $(ARGS)

web: $(STATIC)/app.wasm.br

$(STATIC)/app.wasm: $(BUNDLE_SRC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o $@ ./web/app

$(STATIC)/wasm_exec.js: $(GOROOT_WASM_EXEC)
	cp $< $@

$(STATIC)/app.wasm.br: $(STATIC)/app.wasm $(STATIC)/wasm_exec.js
	$(GO) run ./web/cmd/precompress $(STATIC)/app.wasm $(STATIC)/wasm_exec.js

all: test

# Sub-makes keep the order vet, test-go, test-wasm even under make -j.
test:
	@$(MAKE) --no-print-directory vet
	@$(MAKE) --no-print-directory test-go
	@$(MAKE) --no-print-directory test-wasm
	@$(MAKE) --no-print-directory test-examples

vet:
	@scripts/check-tree.sh
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
ifneq ($(strip $(JS_PATTERNS)),)
	GOOS=js GOARCH=wasm $(GO) vet $(JS_PATTERNS)
else
	@echo "vet: no Go files in wasm/, shared/ or internal/ yet; skipping the js/wasm vet"
endif

# The host tests include the browser tests of browsertest, hence chromium,
# the end-to-end tests of the demo, which embeds the bundle, and the fault
# suite's tests behind nginx.
test-go: chromium nginx web
ifeq ($(RACE),)
	@echo "test-go: WARNING: cgo is off (no C compiler?), so the race detector is too; install gcc to enable it" >&2
endif
	$(GO) test $(RACE) -count=1 $(TESTFLAGS) ./...

# Only packages with test files for js/wasm; go test runs each test binary
# through $(WASM_EXEC), which runs it in headless Chromium. -exec disables
# go test's result cache, so -count=1 changes nothing but says so.
test-wasm: tools chromium
ifeq ($(strip $(JS_PATTERNS)),)
	@echo "test-wasm: no Go files in wasm/, shared/ or internal/ yet; nothing to test in the browser"
else
	@if [ -z "$$(find wasm -name '*.go' -not -path '*/testdata/*' 2>/dev/null | head -n 1)" ]; then \
		echo "test-wasm: no Go files in wasm/ yet; testing the rest in the browser"; fi
	@pkgs=$$(GOOS=js GOARCH=wasm $(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(JS_PATTERNS)) || exit 1; \
	if [ -z "$$pkgs" ]; then echo "test-wasm: no js/wasm package has tests yet"; exit 0; fi; \
	echo GOOS=js GOARCH=wasm $(GO) test -count=1 -exec=$(WASM_EXEC) $(TESTFLAGS) $$pkgs; \
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec=$(WASM_EXEC) $(TESTFLAGS) $$pkgs
endif

# examples/goapp is a module of its own, so that go-app never enters this
# module's go.mod (and ./... here does not reach it). Its test builds the
# example's wasm app and drives it in headless Chromium. Its js/wasm
# packages are vetted for js/wasm too; the server's are not, since its
# browser test imports chromedp, which does not build for js.
test-examples: chromium
	cd examples/goapp && $(GO) vet ./...
	cd examples/goapp && GOOS=js GOARCH=wasm $(GO) vet ./app/... ./events/... ./live/... ./ui/...
	cd examples/goapp && $(GO) test -count=1 ./...

tools:
	$(GO) build -buildvcs=false -o $(WASM_EXEC) ./browsertest/cmd/go_js_wasm_exec

chromium:
	@path=$$(scripts/ensure-chromium.sh) && echo "chromium: $$path"

nginx:
	@path=$$(scripts/ensure-nginx.sh) && echo "nginx: $$path"

# The soak of the fault suite (faulttest/soak_test.go): SOAK=30s for a short
# check. It prints a summary table; it stops by itself after SOAK, the
# retention age and the checks, well within SOAK_TIMEOUT.
SOAK ?= 10m
SOAK_TIMEOUT ?= 1h

soak:
	SOAK=$(SOAK) $(GO) test -count=1 -run '^TestSoak$$' -v -timeout=$(SOAK_TIMEOUT) ./faulttest/

# Every Fuzz target of the module, one after the other, found with
# go test -list in each package that has tests.
fuzz:
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg); \
		for name in $$(echo "$$list" | grep '^Fuzz' || true); do \
			echo "$(GO) test -run=NONE -fuzz=^$$name\$$ -fuzztime=$(FUZZTIME) $$pkg"; \
			$(GO) test -run=NONE -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

# The side-by-side harness lives in its own module, bench/, so that the
# peers it imports (tmaxmax/go-sse, r3labs/sse, launchdarkly/eventsource)
# never enter this module's go.mod. Its figures never fail the build; its
# exit status says only whether every measurement could be made.
# BENCHFLAGS go to the harness, e.g. BENCHFLAGS=-scenario=fanout,decode.
BENCHFLAGS ?=

bench:
	cd bench && $(GO) run ./cmd/ssekit-bench -short $(BENCHFLAGS)

bench-full:
	cd bench && $(GO) run ./cmd/ssekit-bench -out RESULTS.md $(BENCHFLAGS)

# The module's own benchmarks: every Benchmark of ./..., with allocations.
bench-go:
	$(GO) test -run=NONE -bench=. -benchmem ./...

clean:
	rm -rf $(BIN)
	find . -path ./.git -prune -o -type f \( -name '*.wasm' -o -name '*.wasm.br' -o -name '*.wasm.gz' -o -name wasm_exec.js -o -name wasm_exec.js.br -o -name wasm_exec.js.gz \) -print -exec rm -f {} +
