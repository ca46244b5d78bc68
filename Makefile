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
