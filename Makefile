# SPDX-License-Identifier: GPL-2.0
# dmakit: the two commands are `make check` and `make demo` (README.md).
#
#   make check [LANES="lint stock iommu iommu-lazy bounce debug selfcheck"] [TESTS=suite,...]
#   make demo              boot the stock lane into the guided tour
#   make shell LANE=stock  boot a lane with the module loaded and a shell
#   make tests             build the VM test programs and the CLI (static)
#   make module            build dmakit.ko for Debian's kernel (build/kmod-stock)
#   make bench             run bench/ in the bench lane (non-debug kernel);
#                          tables go to docs/results/

LANES ?= lint stock iommu iommu-lazy bounce debug selfcheck
TESTS ?=
LANE ?= stock
BUILD := build

CC ?= gcc
TEST_CFLAGS := -O2 -g -Wall -Werror -static -D_GNU_SOURCE \
	-Iinclude/uapi -I$(BUILD)/kselftest
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
TOOL_CFLAGS := -O2 -g -Wall -Wextra -Werror -static -D_GNU_SOURCE -Iinclude/uapi

.PHONY: all setup check bench demo shell tests module clean

all: module tests

setup:
	@scripts/setup

module: setup
	@scripts/build-module stock >/dev/null

tests: setup $(TEST_PROGS) $(BENCH_PROGS) $(BUILD)/tools/dmakit

$(BUILD)/bench/%: bench/%.c bench/kernel_bench.h include/uapi/dmakit.h
	@mkdir -p $(@D)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/tools/dmakit: tools/dmakit.c include/uapi/dmakit.h
	@mkdir -p $(@D)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/kselftest/kselftest_harness.h:
	@scripts/get-kselftest $(BUILD)/kselftest

$(BUILD)/tests/%: tests/%.c tests/dmakit_test.h include/uapi/dmakit.h \
		$(BUILD)/kselftest/kselftest_harness.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lpthread

check: setup tests
	@DMAKIT_TESTS=$(TESTS) vm/check $(LANES)

bench: setup tests
	@scripts/run-bench

demo: setup tests
	@vm/run-lane stock demo

shell: setup tests
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
