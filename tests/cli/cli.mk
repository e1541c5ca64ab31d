# test-cli: the ringvm command from the outside (bad input, exit statuses,
# the guest runner). Each tests/cli/*.sh gets RINGVM and BUILD in its environment.
CLI_TESTS := $(wildcard tests/cli/*.sh)

# Helper programs linked with libringvm, built with the same flags (and sanitizers).
$(BUILD)/tests/cli/acpi_dump: tests/cli/acpi_dump.c $(BUILD)/libringvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libringvm.a $(LDFLAGS) $(LDLIBS)

test-cli: $(BUILD)/ringvm $(BUILD)/tests/cli/acpi_dump
	@status=0; for t in $(CLI_TESTS); do \
		echo "== $$t"; \
		RINGVM=$(BUILD)/ringvm BUILD=$(BUILD) sh $$t || status=1; \
	done; exit $$status
