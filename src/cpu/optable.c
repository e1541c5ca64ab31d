/* The opcode tables of all instruction groups, merged once into dense per-map arrays. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu.h"

static const struct opdesc *optable[MAP_NR][256];
static pthread_once_t optable_once = PTHREAD_ONCE_INIT;

static void optable_add(const struct opdesc *list)
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
	}
}

static void optable_build(void)
{
	optable_add(cpu_ops_int);
	optable_add(cpu_ops_int2);
	optable_add(cpu_ops_sys);
	optable_add(cpu_ops_fpu);
	optable_add(cpu_ops_sse);
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
