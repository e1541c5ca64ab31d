# test-cli: the ringvm command from the outside (bad input, exit statuses,
# the guest runner). Each tests/cli/*.sh gets RINGVM and BUILD in its environment.
CLI_TESTS := $(wildcard tests/cli/*.sh)

test-cli: $(BUILD)/ringvm
	@status=0; for t in $(CLI_TESTS); do \
		echo "== $$t"; \
		RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh $$t || status=1; \
	done; exit $$status
