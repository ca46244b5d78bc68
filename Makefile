# SPDX-License-Identifier: GPL-2.0
# dmakit: the two commands are `make check` and `make demo` (README.md).
#
#   make check [LANES="lint stock iommu iommu-lazy bounce stock-6.1 iommu-6.1 debug zynqmp selfcheck"]
#              [TESTS=suite,...]
#   make demo              boot the stock lane into the guided tour
#   make shell LANE=stock  boot a lane with the module loaded and a shell
#   make tests             build the VM test programs, the CLI and examples (static)
#   make tests-arm64       the same cross-built for arm64 (the zynqmp lane), in
#                          $(BUILD)/arm64
#   make lib               build libdmakit (static and shared) and dmakit.pc
#   make install [DESTDIR=] [PREFIX=/usr/local]   library, headers, CLI, docs
#   make module            build dmakit.ko for Debian's 6.12 (build/kmod-deb6.12)
#   make bench             run bench/ in the bench lane (non-debug kernel);
#                          tables go to docs/results/

LANES ?= lint stock iommu iommu-lazy bounce stock-6.1 iommu-6.1 debug zynqmp selfcheck
TESTS ?=
LANE ?= stock
BUILD := build

CC ?= gcc
TEST_CFLAGS := -O2 -g -Wall -Werror -static -D_GNU_SOURCE \
	-Iinclude/uapi -I$(BUILD)/kselftest
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
TOOL_CFLAGS := -O2 -g -Wall -Wextra -Werror -static -D_GNU_SOURCE -Iinclude/uapi

.PHONY: all setup check bench demo shell tests tests-arm64 userland module clean

all: module tests lib

setup:
	@scripts/setup

module: setup
	@scripts/build-module deb6.12 >/dev/null

tests: setup userland

userland: $(TEST_PROGS) $(BENCH_PROGS) $(BUILD)/tools/dmakit examples

# the zynqmp lane's guest is arm64: the same programs, static, from bookworm's
# aarch64-linux-gnu-gcc (scripts/setup installs it)
tests-arm64: setup
	@$(MAKE) --no-print-directory userland BUILD=$(BUILD)/arm64 \
		CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar

# an arm64 lane among LANES (or LANE) needs that build as well (selfcheck
# boots zynqmp too)
ARM64_LANES := zynqmp selfcheck
arm64_for = $(if $(filter $(ARM64_LANES),$(1)),tests-arm64)

$(BUILD)/bench/%: bench/%.c bench/kernel_bench.h tests/uring_tcp.h include/uapi/dmakit.h
	@mkdir -p $(@D)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/kselftest/kselftest_harness.h:
	@scripts/get-kselftest $(BUILD)/kselftest

$(BUILD)/tests/%: tests/%.c tests/dmakit_test.h tests/uring_tcp.h include/uapi/dmakit.h \
		$(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lpthread

# ---- libdmakit, the CLI on it, examples, install (docs/lib.md) ----------
# The headers are staged in $(BUILD)/include as they are installed
# (<dmakit/dmakit.h> and <dmakit/uapi/dmakit.h>), so that in-tree builds
# include them exactly as users do.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DOCDIR ?= $(PREFIX)/share/doc/dmakit
LIB_VERSION := 0.1.0
LIB_SONAME := libdmakit.so.0
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIB_VERSION)|'
LIB_HEADERS := $(BUILD)/include/dmakit/dmakit.h $(BUILD)/include/dmakit/uapi/dmakit.h
LIB_CFLAGS := -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I$(BUILD)/include \
	-fvisibility=hidden
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror -static -D_GNU_SOURCE -I$(BUILD)/include
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: lib examples install

lib: $(BUILD)/lib/libdmakit.a $(BUILD)/lib/$(LIB_SONAME) $(BUILD)/lib/dmakit.pc

examples: $(EXAMPLES)

$(BUILD)/include/dmakit/dmakit.h: lib/dmakit.h
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/include/dmakit/uapi/dmakit.h: include/uapi/dmakit.h
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/lib/static/dmakit.o: lib/dmakit.c $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/shared/dmakit.o: lib/dmakit.c $(LIB_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/lib/libdmakit.a: $(BUILD)/lib/static/dmakit.o
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/lib/$(LIB_SONAME): $(BUILD)/lib/shared/dmakit.o
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs -o $(BUILD)/lib/libdmakit.so.$(LIB_VERSION) $^
	ln -sf libdmakit.so.$(LIB_VERSION) $@
	ln -sf $(LIB_SONAME) $(BUILD)/lib/libdmakit.so

$(BUILD)/lib/dmakit.pc: lib/dmakit.pc.in Makefile
	@mkdir -p $(@D)
	$(PC_SED) $< >$@

# the CLI: main.c dispatches to the cmd_*.c files (tools/cli.h)
TOOL_SRCS := $(wildcard tools/*.c)

$(BUILD)/tools/dmakit: $(TOOL_SRCS) tools/cli.h $(LIB_HEADERS) $(BUILD)/lib/libdmakit.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(TOOL_SRCS) $(BUILD)/lib/libdmakit.a

$(BUILD)/examples/%: examples/%.c $(LIB_HEADERS) $(BUILD)/lib/libdmakit.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(BUILD)/lib/libdmakit.a

install: lib $(BUILD)/tools/dmakit
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/dmakit/uapi $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(BUILD)/tools/dmakit $(DESTDIR)$(BINDIR)/dmakit
	install -m 644 $(BUILD)/lib/libdmakit.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/lib/libdmakit.so.$(LIB_VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libdmakit.so.$(LIB_VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libdmakit.so
	$(PC_SED) lib/dmakit.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/dmakit.pc
	install -m 644 lib/dmakit.h $(DESTDIR)$(INCLUDEDIR)/dmakit/dmakit.h
	install -m 644 include/uapi/dmakit.h $(DESTDIR)$(INCLUDEDIR)/dmakit/uapi/dmakit.h
	install -m 644 examples/*.c examples/Makefile $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 docs/cli.md docs/lib.md docs/abi.md $(DESTDIR)$(DOCDIR)/
# ---- end of libdmakit block ----------------------------------------------

check: setup tests $(call arm64_for,$(LANES))
	@DMAKIT_TESTS=$(TESTS) vm/check $(LANES)

bench: setup tests
	@scripts/run-bench

demo: setup tests
	@vm/run-lane stock demo

shell: setup tests $(call arm64_for,$(LANE))
	@vm/run-lane $(LANE) shell

clean:
	rm -rf $(BUILD)

# --- install: DKMS and udev -------------------------------------------------
#   make install-dkms [KVER=...]  source to /usr/src/dmakit-<version>, then
#                                 dkms add, build and install for KVER (default:
#                                 the running kernel); later kernels get it
#                                 from dkms' own hooks (AUTOINSTALL)
#   make install-udev             udev/60-dmakit.rules, and the dmakit group
#   make uninstall-dkms uninstall-udev  (after changing the sources without a
#                                 new version: uninstall-dkms, then install-dkms)
# With DESTDIR only the files are staged (no dkms, groupadd or udevadm).
# The lint lane checks both (scripts/check-dkms, scripts/check-udev).
DMAKIT_VERSION := $(shell sed -n 's/^\#define DMAKIT_VERSION[[:space:]]*"\(.*\)"/\1/p' kernel/dmakit.h)
KVER ?= $(shell uname -r)
DESTDIR ?=
UDEV_RULES_DIR ?= /etc/udev/rules.d
DKMS_SRC := $(DESTDIR)/usr/src/dmakit-$(DMAKIT_VERSION)

.PHONY: install-dkms install-udev uninstall-dkms uninstall-udev

install-dkms:
	@scripts/dkms-source $(DKMS_SRC) >/dev/null
	@echo "install-dkms: sources in $(DKMS_SRC)"
ifeq ($(DESTDIR),)
	@dkms status -m dmakit -v $(DMAKIT_VERSION) | grep -q . || \
		dkms add -m dmakit -v $(DMAKIT_VERSION)
	dkms install -m dmakit -v $(DMAKIT_VERSION) -k $(KVER)
endif

uninstall-dkms:
ifeq ($(DESTDIR),)
	-dkms remove -m dmakit -v $(DMAKIT_VERSION) --all
endif
	rm -rf $(DKMS_SRC)

install-udev:
	install -D -m 0644 udev/60-dmakit.rules $(DESTDIR)$(UDEV_RULES_DIR)/60-dmakit.rules
ifeq ($(DESTDIR),)
	@getent group dmakit >/dev/null || groupadd --system dmakit
	@if udevadm control --reload 2>/dev/null; then \
		udevadm trigger --subsystem-match=misc --action=add; \
	else echo "install-udev: udevd is not running; the rule applies from its next start"; fi
endif

uninstall-udev:
	rm -f $(DESTDIR)$(UDEV_RULES_DIR)/60-dmakit.rules
