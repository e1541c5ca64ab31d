# Host-CPU oracle: every instruction form run natively and on the soft CPU (src/cpu alone), compared.
# `make test-oracle` runs the CI-sized set; ORACLE_ARGS=--long (or --filter, --seed, -v) for more.

ORACLE_SRC := $(wildcard tests/oracle/*.c)
ORACLE_HDR := $(wildcard tests/oracle/*.h)
ORACLE_BIN := $(BUILD)/tests/oracle/oracle
ORACLE_ARGS ?=

# Until libringvm-cpu.a defines cpu_run() the harness is built native-only (-DORACLE_NO_SOFT).
$(ORACLE_BIN): $(ORACLE_SRC) $(ORACLE_HDR) $(BUILD)/libringvm-cpu.a $(BUILD)/libringvm-jit.a
	@mkdir -p $(dir $@)
	@if nm $(BUILD)/libringvm-cpu.a 2>/dev/null | grep -q ' T cpu_run$$'; then soft=; \
	 else soft=-DORACLE_NO_SOFT; echo "oracle: no cpu_run in libringvm-cpu.a yet: native side only"; fi; \
	 echo "$(CC) ... -o $@ $(ORACLE_SRC) $(BUILD)/libringvm-jit.a $(BUILD)/libringvm-cpu.a $$soft"; \
	 $(CC) $(filter-out -MMD -MP,$(CFLAGS)) $$soft -o $@ $(ORACLE_SRC) $(BUILD)/libringvm-jit.a \
	   $(BUILD)/libringvm-cpu.a $(LDFLAGS) $(LDLIBS)

# Twice: the interpreter, then the translator (src/jit), against the same host results.
test-oracle: $(ORACLE_BIN)
	$(ORACLE_BIN) $(ORACLE_ARGS)
	$(ORACLE_BIN) --translate $(ORACLE_ARGS)
