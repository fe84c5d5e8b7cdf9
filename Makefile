# bootwright: see README.md. Every target works on a fresh Debian 12
# machine with Go; `make test` installs the apt packages it needs.

GO        ?= go
BIN       := bin/bootwright
FUZZTIME  ?= 10s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -X main.version=$(VERSION)

# Fuzz targets run for FUZZTIME each by `make test` (package:target).
FUZZ_TARGETS := \
	./dhcpboot:FuzzPacket \
	./tftpboot:FuzzCleanPath \
	./menus:FuzzLoad \
	./menus:FuzzParseMAC

.PHONY: all build test deps check unit fuzz vmtest readmetest bench lint clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bootwright

## test: everything CI runs: static checks, race tests, fuzz smoke, real clients and VMs.
test: deps check unit fuzz readmetest vmtest

deps:
	scripts/install-deps.sh

## check: go vet, gofmt and go mod tidy must leave the tree unchanged.
check:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	done

readmetest: build
	test/readme/run.sh

vmtest: build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/vm/run.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed; skipping"; fi

clean:
	rm -rf bin test/vm/work
