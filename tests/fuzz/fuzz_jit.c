/*
 * Fuzz target for the translator (src/jit). The input's first byte picks:
 *  - even: a program drawn by tests/unit/jit_gen.h from the input's bytes,
 *    run on the interpreter and on the translator (chained, no budget);
 *    any difference in registers, flags, memory or the exception aborts;
 *  - odd: the input's bytes as code (32- or 64-bit), run on the
 *    translator with a budget: whatever the guest does must not crash,
 *    hang, or reach host memory outside the guest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/jit_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct machine ref, jit;

static void diff_program(const uint8_t *data, size_t size)
{
	struct jg_rng r = { .bytes = data, .len = size };
	static struct jg_prog p;
	static uint8_t mem[DATA_SIZE];
	enum cpu_exit e1, e2;

	jg_program(&p, &r, 1 + jg_pick(&r, 48));
	for (unsigned i = 0; i < DATA_SIZE; i++)
		mem[i] = (uint8_t)(i * 131 + 7);
	ref.cpu->icount = jit.cpu->icount = 0;
	machine_load(&ref, &p, mem);
	machine_load(&jit, &p, mem);
	e1 = cpu_run(ref.cpu, 0);
	e2 = cpu_run(jit.cpu, 0);
	if (e1 != e2 || !same(&ref, &jit, "fuzz")) {
		fprintf(stderr, "fuzz_jit: exits %d / %d\n", e1, e2);
		print_prog(&p);
		abort();
	}
}

static void raw_code(const uint8_t *data, size_t size, bool mode64)
{
	static struct jg_prog p;
	static uint8_t mem[DATA_SIZE];
	struct cpu_state *s = &jit.cpu->s;
	uint64_t budget = 512;

	memset(&p, 0, sizeof(p));
	p.len = size < JG_CODE_MAX ? (unsigned)size : JG_CODE_MAX;
	memcpy(p.code, data, p.len);
	p.regs[3] = JG_DATA + 0x80;
	p.regs[11] = JG_DATA + 0x180;
	p.regs[4] = JG_STACK;
	machine_load(&jit, &p, mem);
	if (!mode64) {
		/* flat 32-bit protected mode, paging on (the same tables work: PAE off is not needed for flat 0-1 GiB) */
		s->efer = 0;
		s->cr4 = RV_CR4_OSFXSR;
		s->cr0 &= ~(uint64_t)RV_CR0_PG;
		s->seg[RV_CS].attrib = 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G;
		cpu_update_mode(jit.cpu);
	}
	for (int exits = 0; exits < 16 && budget; exits++) {
		uint64_t before = jit.cpu->icount;
		enum cpu_exit why = cpu_run(jit.cpu, budget);
		uint64_t ran = jit.cpu->icount - before;

		budget = ran >= budget ? 0 : budget - ran;
		if (why == CPU_EXIT_SHUTDOWN || why == CPU_EXIT_INVALID || why == CPU_EXIT_BUDGET ||
		    why == CPU_EXIT_HLT)
			break;
		/* I/O and MMIO reads complete with all ones */
		if ((why == CPU_EXIT_IO || why == CPU_EXIT_MMIO) && jit.cpu->replay.count < CPU_REPLAY_MAX)
			jit.cpu->replay.value[jit.cpu->replay.count++] = ~0ull;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ref.cpu) {
		machine_init(&ref, false);
		machine_init(&jit, true);
	}
	if (size < 1)
		return 0;
	if (!(data[0] & 1))
		diff_program(data + 1, size - 1);
	else
		raw_code(data + 1, size - 1, data[0] & 2);
	return 0;
}
