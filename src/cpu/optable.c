/* The opcode tables of all instruction groups, merged once into dense per-map arrays. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/block.h"

static const struct opdesc *optable[MAP_NR][256];
/* Opcodes from the system table: they may change mode, CPL, paging or interrupt state */
static bool op_sys[MAP_NR][256];
static pthread_once_t optable_once = PTHREAD_ONCE_INIT;

static void optable_add(const struct opdesc *list, bool sys)
{
	for (const struct opdesc *d = list; d->fn; d++) {
		if (d->map >= MAP_NR || optable[d->map][d->opcode]) {
			/* two groups claim one opcode: a build error in spirit */
			fprintf(stderr, "ringvm: opcode map %u byte %02x registered twice (%s, %s)\n",
				d->map, d->opcode, d->name,
				d->map < MAP_NR ? optable[d->map][d->opcode]->name : "?");
			abort();
		}
		optable[d->map][d->opcode] = d;
		op_sys[d->map][d->opcode] = sys;
	}
}

static void optable_build(void)
{
	optable_add(cpu_ops_int, false);
	optable_add(cpu_ops_int2, false);
	optable_add(cpu_ops_sys, true);
	optable_add(cpu_ops_fpu, false);
	optable_add(cpu_ops_sse, false);
}

void cpu_optable_init(void)
{
	pthread_once(&optable_once, optable_build);
}

const struct opdesc *cpu_opdesc(unsigned map, unsigned opcode)
{
	if (map >= MAP_NR || opcode > 255)
		return NULL;
	return optable[map][opcode];
}

bool cpu_op_ends_block(unsigned map, unsigned opcode)
{
	return map >= MAP_NR || opcode > 255 || op_sys[map][opcode];
}
