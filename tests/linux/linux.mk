# test-linux: boots Debian 12's stock kernel (downloaded once into the cache by
# scripts/fetch-kernel) with each entry and checks how far it gets, then to a
# busybox shell (scripts/make-initramfs) that must answer and power off. Not
# part of `make test`: it needs the network the first time and takes minutes
# on the soft CPU.
test-linux: $(BUILD)/ringvm
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/boot-early.sh
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/boot-shell.sh

# test-selftests: runs the kernel's x86 selftests (Debian's linux-source-6.1,
# built static by scripts/build-x86-selftests) in the guest; minutes on the
# soft CPU, and the network the first time.
test-selftests: $(BUILD)/ringvm
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/selftests.sh

# test-kvm-selftests: runs the kernel's KVM selftests (the x86_64 set of
# Debian's linux-source-6.1, built static by scripts/build-kvm-selftests) in
# a guest with --cpu svm=on, on its kvm_amd (tests/linux/kvm-selftests.sh;
# explained results in tests/linux/kvm-selftests-known.txt). About 10
# minutes; part of `make test-long`. `make test` runs the quick part.
.PHONY: test-kvm-selftests
test-kvm-selftests: $(BUILD)/ringvm
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/kvm-selftests.sh

# test-linux-shell: boots Debian's kernel to the busybox shell with --cpus 1,
# 2 (the kernel's own decompressor, --decompress guest) and 4, the 32-bit
# entry once (its own decompressor too) and the bare vmlinux (taken out of
# the bzImage by scripts/extract-vmlinux), and checks the running system through
# the serial console (tests/linux/shell.sh), after the bad inputs around the
# real kernel (tests/linux/bad-input.sh). About 10 minutes on the soft CPU.
test-linux-shell: $(BUILD)/ringvm
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/bad-input.sh
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) bash tests/linux/shell.sh

# test-virtio: the virtio devices under Debian's own drivers (issue 4):
# tests/linux/virtio-disk.sh (two boots: MSI-X, then INTx with pci=nomsi
# ending in a SIGKILL after sync), virtio-net.sh and virtio-console.sh (one
# boot each). VMM=qemu runs the same scripts on QEMU (TCG) to check them;
# RVT_TAP=1 (as root) adds a boot of virtio-net.sh over a host tap device.
VIRTIO_TESTS = disk net console
test-virtio: $(BUILD)/ringvm
	@st=0; for t in $(VIRTIO_TESTS); do \
	  RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) bash tests/linux/virtio-$$t.sh || st=1; \
	done; exit $$st

# test-linux-ci: the part of `make test` that boots the real kernel: the bad
# inputs around it, the console checks (--cpus 1, 2, 4, the 32-bit entry and
# a bare vmlinux; LINUX_SHELL_CONFIGS to choose, see tests/linux/shell.sh), the virtio tests (LINUX_VIRTIO=0 leaves
# them out), the x86 selftests on 1 vCPU (LINUX_SELFTESTS=0 leaves them
# out), kvm_amd with kvm_api in the guest (test-kvm-api), native user code
# (test-native-user), then the quick
# part of the KVM selftests under nested SVM (KVM_SELFTESTS_QUICK=1, about
# a minute; LINUX_KVM_SELFTESTS=0 leaves them out). A kernel that cannot
# be downloaded fails the run here
# (LINUX_REQUIRE=1) rather than passing silently.
LINUX_SELFTESTS ?= 1
LINUX_KVM_SELFTESTS ?= 1
LINUX_VIRTIO ?= 1
test-linux-ci: $(BUILD)/ringvm
	LINUX_REQUIRE=1 RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/bad-input.sh
	LINUX_REQUIRE=1 $(if $(LINUX_SHELL_CONFIGS),LINUX_SHELL_CONFIGS="$(LINUX_SHELL_CONFIGS)") \
	  RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) bash tests/linux/shell.sh
	@if [ "$(LINUX_VIRTIO)" = 1 ]; then \
	  LINUX_REQUIRE=1 $(MAKE) --no-print-directory test-virtio VMM=ringvm; fi
	@if [ "$(LINUX_SELFTESTS)" = 1 ]; then \
	  LINUX_REQUIRE=1 RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/selftests.sh; fi
	LINUX_REQUIRE=1 $(MAKE) --no-print-directory test-kvm-api
	LINUX_REQUIRE=1 $(MAKE) --no-print-directory test-native-user
	@if [ "$(LINUX_KVM_SELFTESTS)" = 1 ]; then \
	  LINUX_REQUIRE=1 KVM_SELFTESTS_QUICK=1 RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) \
	    sh tests/linux/kvm-selftests.sh; fi

# test-kvm-api: kvm_amd in the guest on ringvm's nested SVM, /dev/kvm, and
# tests/linux/kvm-api/kvm_api running L2 guests through it (issue 9), on
# both engines; tests/linux/kvm-api.sh. kvm_api goes into a busybox
# initramfs, so it is linked static and built without the sanitizers.
KVM_API_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
$(BUILD)/tests/linux/kvm_api: tests/linux/kvm-api/kvm_api.c tests/linux/kvm-api/l2.asm
	@mkdir -p $(dir $@)
	nasm -f elf64 -o $@-l2.o tests/linux/kvm-api/l2.asm
	$(CC) $(KVM_API_CFLAGS) -static -o $@ tests/linux/kvm-api/kvm_api.c $@-l2.o

test-kvm-api: $(BUILD)/ringvm $(BUILD)/tests/linux/kvm_api
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/kvm-api.sh

# test-native-user: guest user code on the host CPU (--native-user, issue 8):
# tests/linux/native-user/native_user's checks on the translator and
# natively, 1 and 2 vCPUs (tests/linux/native-user.sh; static, like
# kvm_api), then the x86 selftests with every user process native that
# computes at all between system calls (RINGVM_NATIVE_HOT_US=1; logs in
# $(BUILD)/native/linux).
$(BUILD)/tests/linux/native_user: tests/linux/native-user/native_user.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -o $@ $<

test-native-user: $(BUILD)/ringvm $(BUILD)/tests/linux/native_user
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/native-user.sh
	@mkdir -p $(BUILD)/native
	@printf '#!/bin/sh\nexec "%s" "$$@" --native-user=on\n' "$(abspath $(BUILD))/ringvm" >$(BUILD)/native/ringvm
	@chmod +x $(BUILD)/native/ringvm
	@if [ "$(LINUX_SELFTESTS)" = 1 ]; then \
	  RINGVM_NATIVE_HOT_US=1 RINGVM=$(BUILD)/native/ringvm BUILD=$(BUILD)/native sh tests/linux/selftests.sh && \
	  if grep -q 'native user code is off: cannot start' $(BUILD)/native/linux/selftests.err; then \
	    echo "SKIP: no native user code in the selftests run: $$(grep -m1 'native user code is off' $(BUILD)/native/linux/selftests.err)"; \
	  elif grep -q 'native user code is off' $(BUILD)/native/linux/selftests.err || \
	       ! grep -q 'stats: native user code' $(BUILD)/native/linux/selftests.err; then \
	    echo "FAIL: the selftests' user code did not run natively: $$(grep -m1 'native user code' $(BUILD)/native/linux/selftests.err)"; exit 1; \
	  else echo "PASS: x86 selftests with user code native"; fi; fi
