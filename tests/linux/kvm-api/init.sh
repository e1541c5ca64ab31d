#!/bin/sh
# /init.d/run in the kvm-api initramfs (tests/linux/kvm-api.sh): loads
# kvm_amd on ringvm's nested SVM, shows /dev/kvm, runs /kvm_api, prints the
# kernel's log after the module load and powers off. The host side reads
# the lines that start with "kvm-api:" and "kvm_api:".
if modprobe kvm_amd; then
	echo "kvm-api: kvm_amd loaded"
else
	echo "kvm-api: modprobe kvm_amd failed"
fi
if [ -c /dev/kvm ]; then
	echo "kvm-api: /dev/kvm is there"
	/kvm_api
	echo "kvm-api: kvm_api ended with status $?"
fi
echo "kvm-api: dmesg follows"
dmesg
sync
poweroff -f
