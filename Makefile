# bootwright: see README.md. Every target works on a fresh Debian 12
# machine with Go; `make test` installs the apt packages it needs.

GO        ?= go
BIN       := bin/bootwright
# A count, not a duration: a -fuzztime duration trips a race in Go 1.26's
# fuzz coordinator (go.dev/issue/75804) that fails a clean run with
# "context deadline exceeded". 40000 runs take 5-15 s per target here.
FUZZTIME  ?= 40000x
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -X main.version=$(VERSION)

# Fuzz targets run FUZZTIME each by `make test` (package:target).
FUZZ_TARGETS := \
	./dhcpboot:FuzzPacket \
	./dhcp6boot:FuzzPacket \
	./tftpboot:FuzzCleanPath \
	./tftpboot:FuzzParseConfigName \
	./tftpboot:FuzzParseARP \
	./tftpboot:FuzzParseRequest \
	./menus:FuzzLoad \
	./internal/hw:FuzzParseMAC \
	./internal/answers:FuzzCheck \
	./templates:FuzzRender \
	./httpboot:FuzzRequest

.PHONY: all build test deps check unit fuzz readmetest answerstest vmtest dhcptest httptest httpstest httpsvmtest installtest doctortest \
	securitytest tftptest tftpvmtest loadertest pitest menutest arm64test ipv6test dhcp6test catalogtest catalog-fulltest replicatest replicaoutagetest replicavmtest deb packagetest bench bench-dhcp bench-http bench-tftp bench-storm lint clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bootwright

## test: everything CI runs: static checks, race tests, fuzz smoke, real clients and VMs.
test: deps check unit fuzz readmetest answerstest vmtest dhcptest httptest httpstest doctortest securitytest tftptest loadertest pitest menutest arm64test dhcp6test catalogtest replicatest

deps:
	scripts/install-deps.sh

## check: go vet, gofmt and go mod tidy must leave the tree unchanged.
check:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff

## unit: race tests; the state and lease contracts run against a throwaway PostgreSQL
## (scripts/deps/postgres.txt), which must be there: BOOTWRIGHT_REQUIRE_PG=1.
unit:
	BOOTWRIGHT_REQUIRE_PG=1 $(GO) test -race -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name, $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x -timeout 5m $$pkg; \
	done

readmetest: build
	test/readme/run.sh

## answerstest: shipped answer files through the real validators, and the real Debian installer fetching its preseed.
answerstest: deps build
	$(GO) test -count=1 -run 'Shipped|ToolsAgree' ./internal/answers -args -answers.require-tools
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/answers/preseed-vm.sh

vmtest: build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/vm/run.sh

dhcptest: build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/dhcp/run.sh

## menutest: the iPXE menu on a BIOS VM's screen (title, entries, help, default, countdown,
## footer read from VGA text memory) and a UEFI VM's; pictures in test/menu/work/
## (UPDATE_DOCS=1 copies them to docs/); about 1 min.
menutest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/menu/run.sh

## pitest: loader raspberrypi without a Pi: a model of a Pi 4's DHCP beside dnsmasq
## (proxy), alone (full) and against dnsmasq set up per Raspberry Pi's tutorial, then
## the Pi's files over TFTP with tftp-hpa under its serial prefix; about 25 s.
pitest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/raspberrypi/run.sh

## replicatest: two and three replicas on one throwaway PostgreSQL in namespaces:
## dhclient and perfdhcp on one LAN and behind dhcrelay, one OFFER per DISCOVER,
## no address twice, a replica killed by PID mid-run and rejoining, install once
## with the callback sent to the other replica; 55-90 s.
replicatest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/replicas/run.sh

## replicaoutagetest: PostgreSQL stopped for 30 s under two replicas: renewals and
## menus answered, new leases refused then resumed, the window's events kept;
## about 45 s, not in make test (BOOTWRIGHT_OUTAGE_SECONDS shortens it).
replicaoutagetest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/replicas/run.sh outage

## replicavmtest (not in `test`): a QEMU VM boots through replica a, its installer's
## callback goes to replica b, its second boot through a gets the local disk; 16-38 s.
replicavmtest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/replicas/run.sh vm

## dhcp6test: ISC dhclient -6 against --dhcp6-mode full in namespaces: lease, Renew at
## T1, Release, the lease kept across a restart and kill -9; about 40 s, most of it T1.
dhcp6test: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/ipv6/dhclient.sh

## ipv6test: VMs over IPv6 (not in `make test`: six VMs, 5-8 min): OVMF's PXEv6 on an
## IPv6-only link (DHCPv6 with option 61, TFTP over IPv6, iPXE's DHCPv6, the menu at
## http://[addr]:8080/), OVMF's HTTPv6 Boot and a BIOS iPXE ROM on that link, one
## machine over IPv4 and IPv6 on a dual-stack link (both times printed), behind
## dhcrelay -6, and proxy mode beside dnsmasq's DHCPv6.
ipv6test: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/ipv6/run.sh

## catalogtest: the installer catalog against a stand-in upstream (nginx serving each
## distribution's layout): catalog check, an HTML page refused, entries per arch (x86,
## arm64), VMs booting through the cache with one upstream fetch, memtest86+, a wrong
## checksum on the console and in the timeline, the Windows entry's injected files;
## 70-120 s on a quiet machine, 273 s at load average 50-140.
catalogtest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/catalog/run.sh

## catalog-fulltest: catalogtest plus the real Debian 12 installer booted from the
## catalog's entry through the cache, checked against its real SHA256SUMS, to its first
## question, and an arm64 VM (AAVMF) booting debian-13's arm64 files (Debian's arm64
## kernel, test/arm64/fetch.sh) through the cache; not in make test (4-9 minutes: 241 s
## at load average 20-40, 518 s at 100-200 without the arm64 VM).
catalog-fulltest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) BOOTWRIGHT_CATALOG_INSTALLER=1 BOOTWRIGHT_CATALOG_ARM64=1 test/catalog/run.sh

## doctortest: `bootwright doctor` as a PXE client in namespaces against full
## mode, dnsmasq without boot options (E53), a proxy with 4011 dropped (E55), nothing (E51).
doctortest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/doctor/run.sh

## securitytest: as nobody with one capability and by --user (systemd-analyze verify, the
## unit's sandbox against strace), a DHCP flood and an API loop while dhclient
## gets its lease, SIGTERM during TFTP and HTTP transfers, and a host trying
## every way to another machine's answer files (test/security/answers.sh,
## full and proxy mode and behind a relay). About 2 min.
securitytest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/security/privileges.sh
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/security/flood.sh
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/security/shutdown.sh
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/security/answers.sh

## tftptest: the real binary's TFTP server against tftp-hpa, atftp and curl:
## files, traversal, 100 concurrent clients, single port, busy cap, rendered menus.
tftptest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/tftp/run.sh

## tftpvmtest: windowsize granted, then refused (--tftp-max-windowsize 1), for
## OVMF's and AAVMF's firmware PXE fetching their NBPs and for the Secure Boot
## chain (shim, signed GRUB, Debian's signed kernel over TFTP). The options
## asked and granted and the ACK counts are read from pcaps, and every file's
## download times are printed. Six TCG VM boots, one at a time. Measured at
## 85-115 s in seven runs; not in make test.
tftpvmtest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/tftp/firmware.sh

## loadertest: BIOS VMs through pxelinux.0 and lpxelinux.0, UEFI VMs through GRUB's network
## image (firmware PXE and iPXE ROM), a BIOS VM told grub falling back to iPXE;
## each to its rendered menu and the test kernel. Secure Boot enforced: shim,
## signed GRUB and Debian's signed kernel over TFTP; unsigned snponly.efi and
## an unsigned kernel refused. Proxy mode beside dnsmasq: pxelinux.0, GRUB and
## Secure Boot. Twelve VMs: the two short BIOS boots first, then four at a time; about 2 min.
loadertest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/loaders/run.sh

## arm64test: 64-bit ARM VMs (qemu-system-aarch64 -M virt -cpu cortex-a57, AAVMF, TCG)
## with Debian 12's arm64 kernel, and one x86 BIOS and one x86 UEFI VM, off one
## server and one menu: AAVMF firmware PXE -> ipxe-arm64.efi -> menu; GRUB
## (grubaa64.efi, modules and grub.cfg over TFTP, kernel over HTTP); UEFI HTTP
## Boot; Secure Boot (shimaa64 -> grubaa64 -> signed kernel) and an unsigned
## iPXE refused. test/arm64/fetch.sh downloads the arm64 .debs once (about
## 62 MB, checked against the index) into test/arm64/work/cache. Seven VMs,
## four at a time: 45-118 s in all over twelve runs here, the load average from
## other jobs at 4-30 (each ARM64 VM 24-92 s, the refused one 10-21 s), so all
## of it runs in `make test`.
arm64test: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/arm64/run.sh

## deb: bin/bootwright_VERSION_amd64.deb with dpkg-deb (deploy/deb/build.sh): the binary,
## the systemd unit, sysusers, /etc/default/bootwright, the man page from --help.
deb:
	deploy/deb/build.sh

## packagetest (not in `test`; 2 min idle, 7.5 loaded, 14 the first time): the .deb built twice (same bytes), lintian, installed,
## started, reloaded, removed and purged under systemd in a throwaway Debian root
## (systemd-nspawn in a namespace); the container image built with podman from
## deploy/Containerfile and run in a namespace. See README, "Packages".
packagetest: deps
	test/packages/deb.sh
	test/packages/container.sh

## bench-tftp: bootwright beside tftpd-hpa and dnsmasq on loopback, same files, same client.
bench-tftp: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) bench/tftp/run.sh

bench-dhcp: build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) bench/dhcp/run.sh

## httptest: /assets/ against curl (Range, conditional requests, traversal,
## stream cap, sendfile under strace) and a 100-machine boot storm.
httptest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/http/run.sh

## httpstest: the HTTPS listener against curl --cacert in a namespace: same routes
## as HTTP, a certificate rotated without a restart, bad pairs refused (exit 2). 15 s.
httpstest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/https/run.sh

## httpsvmtest: real firmware against HTTPS (not in `test`: seven VMs, about 2 min): iPXE
## refusing a lab CA (BIOS, UEFI), iPXE trusting the CA enrolled in OVMF, UEFI HTTP
## Boot over https:// with and without the CA, the default (iPXE on http://).
httpsvmtest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/https/firmware.sh

## installtest: a real unattended Debian 12 install through bootwright from a local mirror
## (test/install/mirror.sh), BIOS then UEFI; not in `test`: long under TCG.
installtest: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) test/install/run.sh $(FW)

## bench-http: bootwright beside nginx on loopback, same files, same wrk runs.
bench-http: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) bench/http/run.sh

## bench-storm: an end-to-end boot storm, 100 and then 1000 simulated UEFI machines
## (DHCP, TFTP, iPXE's DHCP, menus and a 64 MiB kernel+initrd over HTTP),
## against bootwright --dhcp-mode full and against dnsmasq + nginx, in
## namespaces, one after the other. One to two minutes.
bench-storm: deps build
	BOOTWRIGHT_BIN=$(CURDIR)/$(BIN) bench/storm/run.sh

bench: bench-dhcp bench-http bench-tftp bench-storm
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed; skipping"; fi
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed; skipping"; fi

clean:
	rm -rf bin test/vm/work
