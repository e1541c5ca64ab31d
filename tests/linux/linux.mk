# test-linux: boots Debian 12's stock kernel (downloaded once into the cache by
# scripts/fetch-kernel) and checks how far it gets. Not part of `make test`:
# it needs the network the first time and takes minutes on the soft CPU.
test-linux: $(BUILD)/ringvm
	RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh tests/linux/boot-early.sh
