# ringvm build. `make` builds build/ringvm, `make test` runs every test,
# `make asan` builds and tests with AddressSanitizer/UBSan in build-asan/.
# BUILD=dir puts the build elsewhere (parallel builds must not share one).

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
SANITIZE ?=
CFLAGS_WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wno-unused-parameter -Wvla -Wformat=2
CFLAGS  = -std=gnu11 $(OPT) -g $(CFLAGS_WARN) -fno-strict-aliasing -Iinclude -Isrc \
          -D_GNU_SOURCE -MMD -MP $(SANITIZE) $(EXTRA_CFLAGS)
LDFLAGS = $(SANITIZE) $(EXTRA_LDFLAGS)
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
SLIRP_LIBS   := $(or $(shell pkg-config --libs slirp 2>/dev/null),-lslirp)
CFLAGS += $(SLIRP_CFLAGS)
# The kernel payload's formats, decompressed on the host (src/boot/payload.c).
DECOMP_LIBS = -llzma -lz -lzstd -llz4
LDLIBS  = $(SLIRP_LIBS) $(DECOMP_LIBS) -lpthread -lm

CPU_SRC  := $(wildcard src/cpu/*.c)
JIT_SRC  := $(wildcard src/jit/*.c)
LIB_SRC  := $(wildcard src/accel/*.c src/vmm/*.c src/boot/*.c src/devices/*.c src/backend/*.c src/native/*.c) $(JIT_SRC)
CLI_SRC  := $(wildcard src/cli/*.c)

CPU_OBJ  := $(CPU_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all clean test test-unit test-oracle test-cli test-fuzz test-long asan demo demo-modes bench deps

all: $(BUILD)/ringvm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The CPU alone, usable with no VM around it (oracle tests, fuzzing).
$(BUILD)/libringvm-cpu.a: $(CPU_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The translator alone (with libringvm-cpu.a): the oracle tests drive it without a VM.
JIT_OBJ  := $(JIT_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/libringvm-jit.a: $(JIT_OBJ)
	@rm -f $@
	ar rcs $@ $^

# libringvm: the API, the engines, the VMM pieces.
$(BUILD)/libringvm.a: $(LIB_OBJ) $(CPU_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ringvm: $(CLI_OBJ) $(BUILD)/libringvm.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libringvm.a $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libringvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libringvm.a $(LDFLAGS) -lcmocka $(LDLIBS)

include tests/tests.mk

# The kernel boots run last and alone: they check the guest clock against
# host time, which parallel test jobs would only make noisier.
test: deps all test-unit test-oracle test-cli test-fuzz
	$(MAKE) --no-print-directory test-linux-ci
	@echo "all test groups passed"

test-unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LINUX_SHELL_CONFIGS=64:2 LINUX_SELFTESTS=0 LINUX_KVM_SELFTESTS=0 test

deps:
	scripts/deps

# The demo: Debian 12's stock kernel (downloaded once into ~/.cache/ringvm by
# scripts/fetch-kernel) with a busybox initramfs, booted to an interactive
# shell on the serial console. Ctrl-A x quits; `poweroff -f` powers off.
demo: deps all
	@kernel=$$(scripts/fetch-kernel --kernel) && initrd=$$(scripts/make-initramfs) && \
	  echo "ringvm: booting $$kernel to a shell (the soft CPU takes a minute or two; Ctrl-A x quits)" && \
	  $(BUILD)/ringvm run --kernel "$$kernel" --initrd "$$initrd" --append "console=ttyS0" \
	    --mem 512M --cpus $(or $(CPUS),1) --stats; \
	  status=$$?; [ $$status -eq 0 ] || [ $$status -eq 16 ] # poweroff, or Ctrl-A x

# The multiboot guest that walks real -> protected -> long mode and back.
demo-modes: deps all
	tests/guests/build.sh $(BUILD)/guests
	$(BUILD)/ringvm run --kernel $(BUILD)/guests/modes.bin --debug-exit --stats; \
	  status=$$?; [ $$status -eq 33 ] && echo "demo guest passed" || { echo "demo guest ended with status $$status"; exit 1; }

# Longer runs than CI's budget allows: long fuzzing, more oracle cases, the
# whole set of the kernel's KVM selftests.
test-long: fuzz-long test-kvm-selftests

clean:
	rm -rf build build-asan build-*

-include $(CPU_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d)

# bench: Debian's kernel on ringvm and QEMU (TCG) side by side, with in-guest
# jobs and the host as a baseline (bench/linux.sh; tens of minutes, results in
# $(BUILD)/bench/linux.jsonl; docs/bench.md), then the micro-benchmark guests
# (bench/run.sh). BENCH_RUNS=N runs each column N times (3); BENCH_QUICK=1
# checks the mechanics with tiny jobs in a few minutes.
bench: deps all
	@status=0; bench/linux.sh $(BUILD) || status=1; \
	  echo; echo "== micro-benchmark guests (bench/run.sh)"; \
	  bench/run.sh $(BUILD) || status=1; exit $$status

# bench-io: virtio disk (dd, O_DIRECT) and user-network HTTP throughput of the
# same guest on ringvm and QEMU (TCG) in one run (bench/io.sh); a few minutes.
.PHONY: bench-io
bench-io: all
	bench/io.sh $(BUILD)
