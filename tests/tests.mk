# Test groups; each folder's .mk defines its target (test-oracle, test-guests, test-cli, test-fuzz, test-linux).
-include tests/oracle/oracle.mk
-include tests/guests/guests.mk
-include tests/cli/cli.mk
-include tests/fuzz/fuzz.mk
-include tests/linux/linux.mk
