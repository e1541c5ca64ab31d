# Fuzz targets (libFuzzer, clang). `make test-fuzz` builds them and runs each
# for a short bounded time; `make fuzz-long FUZZ_SECONDS=3600` runs longer.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 40
FUZZ_MB_SECONDS ?= 15
FUZZ_LINUX_SECONDS ?= 15
FUZZ_FLAGS    = -std=gnu11 -O1 -g -Iinclude -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -Wall -Wextra -Werror -Wno-unused-parameter
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_cpu
FUZZ_JIT_SECONDS ?= 30
FUZZ_JIT_BIN := $(BUILD)/fuzz/fuzz_jit
FUZZ_MB_BIN  := $(BUILD)/fuzz/fuzz_multiboot
BOOT_SRC     := src/boot/multiboot.c src/boot/guestmem.c
FUZZ_LINUX_BIN := $(BUILD)/fuzz/fuzz_linux
LINUX_SRC    := src/boot/linux.c src/boot/linux_entry.c src/boot/e820.c src/boot/guestmem.c \
                src/boot/payload.c src/boot/vmlinux.c

.PHONY: fuzz-long

# virtio: one target per tests/fuzz/fuzz_virtio_*.c (the queue walker, each
# device's request parser), all built on the device model and its backends.
FUZZ_VIRTIO_SECONDS ?= 10
VIRTIO_FUZZ_SRC := $(wildcard src/devices/virtqueue.c src/devices/virtio.c src/devices/virtio_*.c \
                     src/devices/pci.c src/backend/*.c)
FUZZ_VIRTIO_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_virtio_*.c))

$(BUILD)/fuzz/fuzz_virtio_%: tests/fuzz/fuzz_virtio_%.c tests/fuzz/virtio_fuzz.h tests/unit/net_frames.h $(VIRTIO_FUZZ_SRC) \
		$(wildcard src/devices/*.h src/backend/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(SLIRP_CFLAGS) -o $@ $< $(VIRTIO_FUZZ_SRC) $(SLIRP_LIBS) -lpthread

$(FUZZ_BIN): tests/fuzz/fuzz_cpu.c $(CPU_SRC) $(wildcard src/cpu/*.h include/ringvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_cpu.c $(CPU_SRC) -lpthread -lm

# The translator, against the interpreter (tests/unit/jit_gen.h programs) and on raw code.
$(FUZZ_JIT_BIN): tests/fuzz/fuzz_jit.c tests/unit/jit_diff.h tests/unit/jit_gen.h $(CPU_SRC) $(JIT_SRC) \
		$(wildcard src/cpu/*.h src/jit/*.h include/ringvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_jit.c $(CPU_SRC) $(JIT_SRC) -lpthread -lm

$(FUZZ_MB_BIN): tests/fuzz/fuzz_multiboot.c $(BOOT_SRC) $(wildcard src/boot/*.h include/ringvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_multiboot.c $(BOOT_SRC)

$(FUZZ_LINUX_BIN): tests/fuzz/fuzz_linux.c $(LINUX_SRC) $(wildcard src/boot/*.h include/ringvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_linux.c $(LINUX_SRC) $(DECOMP_LIBS)

test-fuzz: $(FUZZ_BIN) $(FUZZ_JIT_BIN) $(FUZZ_MB_BIN) $(FUZZ_LINUX_BIN) $(FUZZ_VIRTIO_BIN)
	tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_SECONDS)
	tests/fuzz/run.sh $(FUZZ_JIT_BIN) $(FUZZ_JIT_SECONDS)
	tests/fuzz/run.sh $(FUZZ_MB_BIN) $(FUZZ_MB_SECONDS)
	tests/fuzz/run.sh $(FUZZ_LINUX_BIN) $(FUZZ_LINUX_SECONDS)
	for f in $(FUZZ_VIRTIO_BIN); do tests/fuzz/run.sh $$f $(FUZZ_VIRTIO_SECONDS) || exit 1; done

fuzz-long: $(FUZZ_BIN) $(FUZZ_JIT_BIN) $(FUZZ_MB_BIN) $(FUZZ_LINUX_BIN) $(FUZZ_VIRTIO_BIN)
	for f in $(FUZZ_VIRTIO_BIN); do tests/fuzz/run.sh $$f $(or $(FUZZ_LONG_SECONDS),3600) || exit 1; done
	tests/fuzz/run.sh $(FUZZ_BIN) $(or $(FUZZ_LONG_SECONDS),3600)
	tests/fuzz/run.sh $(FUZZ_JIT_BIN) $(or $(FUZZ_LONG_SECONDS),3600)
	tests/fuzz/run.sh $(FUZZ_MB_BIN) $(or $(FUZZ_LONG_SECONDS),3600)
	tests/fuzz/run.sh $(FUZZ_LINUX_BIN) $(or $(FUZZ_LONG_SECONDS),3600)
