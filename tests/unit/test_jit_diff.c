/*
 * Differential test of the translator against the interpreter, the
 * reference: random programs (jit_gen.h) run on both engines from the same
 * state, and everything must match: registers, RIP, flags (AF aside), the
 * exception raised, and memory (data, stack and the program itself, which
 * modifies itself). Each program runs twice on the translator, the second
 * time through its cached, chained code, after its bytes were restored
 * behind its back (reported as DMA would be).
 * RINGVM_DIFF_PROGRAMS, RINGVM_DIFF_SEED and RINGVM_DIFF_FIRST (the first
 * program to run) change the run.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define JD_ASSERT(x) assert_true(x)

#include "jit_diff.h"

static void on_alarm(int sig)
{
	static const char msg[] = "test_jit_diff: a program ran for 20 s: an engine loops\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/*
 * After a mismatch: the first instruction count after which the two differ
 * (both run again from the start, stopping after n instructions; the
 * translator then runs whole blocks that fit and the interpreter the rest).
 */
static void bisect(struct machine *ref, struct machine *jit, const struct jg_prog *p, const uint8_t *data)
{
	for (uint64_t n = 1; n < 100000; n++) {
		enum cpu_exit e1, e2;

		ref->cpu->icount = jit->cpu->icount = 0;
		machine_load(ref, p, data);
		machine_load(jit, p, data);
		e1 = cpu_run(ref->cpu, n);
		e2 = cpu_run(jit->cpu, n);
		if (e1 != e2 || !same(ref, jit, "bisect")) {
			fprintf(stderr, "  first difference after %llu instructions (rip %#llx before the last)\n",
				(unsigned long long)n, (unsigned long long)ref->cpu->s.rip);
			return;
		}
		if (e1 != CPU_EXIT_BUDGET) {
			fprintf(stderr, "  no difference when stopping after every instruction count: "
				"the runs without a budget differ\n");
			return;
		}
	}
}

static void test_random_programs(void **state)
{
	const char *np = getenv("RINGVM_DIFF_PROGRAMS"), *sd = getenv("RINGVM_DIFF_SEED");
	const char *first = getenv("RINGVM_DIFF_FIRST");
	unsigned programs = np ? (unsigned)strtoul(np, NULL, 0) : 3000;
	uint64_t seed = sd ? strtoull(sd, NULL, 0) : 0x6a17d1ffull;
	struct machine ref, jit;
	static uint8_t data[DATA_SIZE];
	unsigned bad = 0;

	(void)state;
	signal(SIGALRM, on_alarm);
	machine_init(&ref, false);
	machine_init(&jit, true);
	for (unsigned n = first ? (unsigned)strtoul(first, NULL, 0) : 0; n < programs && bad < 3; n++) {
		struct jg_rng r = { .s = seed * 1000003u + n };
		static struct jg_prog p;
		enum cpu_exit e1, e2;

		jg_program(&p, &r, 1 + jg_pick(&r, 40));
		/* every other program runs across a page boundary: blocks that run on into the next page */
		if (n & 1)
			p.at = JG_CODE_SLOT - JG_CODE_MAX - 1 - jg_pick(&r, p.len);
		for (unsigned i = 0; i < DATA_SIZE; i++)
			data[i] = (uint8_t)jg_rand(&r);
		ref.cpu->icount = jit.cpu->icount = 0;
		machine_load(&ref, &p, data);
		alarm(20);
		e1 = cpu_run(ref.cpu, 0);
		for (unsigned pass = 0; pass < 2; pass++) {
			char what[64];

			jit.cpu->icount = 0;
			machine_load(&jit, &p, data);
			e2 = cpu_run(jit.cpu, 0);
			snprintf(what, sizeof(what), "program %u, translator pass %u", n, pass);
			if (e1 != e2 || !same(&ref, &jit, what)) {
				fprintf(stderr, "  %s: exits %d / %d (seed %#llx)\n", what, e1, e2, (unsigned long long)seed);
				print_prog(&p);
				bisect(&ref, &jit, &p, data);
				bad++;
				break;
			}
		}
		alarm(0);
	}
	machine_fini(&ref);
	machine_fini(&jit);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_programs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
