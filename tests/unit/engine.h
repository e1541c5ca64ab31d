/*
 * Unit tests that run guest code run on both of the soft CPU's engines:
 * tests/run-unit.sh runs each binary that uses this header twice, with
 * RINGVM_TEST_ENGINE=interpreter and =translator (the default).
 */
#ifndef RV_TEST_ENGINE_H
#define RV_TEST_ENGINE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "jit/jit.h"
#include "ringvm/ringvm.h"

static inline bool test_translate(void)
{
	const char *e = getenv("RINGVM_TEST_ENGINE");

	return !e || strcmp(e, "interpreter") != 0;
}

/* The VM configuration of the engine under test. */
static inline struct rv_vm_config test_vm_config(void)
{
	return (struct rv_vm_config){ .engine = RV_ENGINE_SOFT, .soft_interpreter = !test_translate() };
}

/* Zeroed memory for something holding a struct cpu: the low 2 GiB when translating (jit.h). */
static inline void *test_cpu_mem(size_t size)
{
	void *p;

	if (test_translate())
		return jit_alloc_low(size);
	p = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	if (p)
		memset(p, 0, size);
	return p;
}

static inline void test_cpu_mem_free(void *p, size_t size)
{
	if (test_translate())
		jit_free_low(p, size);
	else
		free(p);
}

/* After cpu_init(): attach a translator when translating (one VM-wide state per vCPU here). */
struct test_jit {
	struct jit_vm *vm;
	struct jit_vcpu *vcpu;
};

static inline int test_cpu_attach(struct cpu *cpu, struct test_jit *j)
{
	memset(j, 0, sizeof(*j));
	if (!test_translate())
		return 0;
	if (jit_vm_create(&j->vm, 4u << 20))
		return -1;
	return jit_vcpu_create(j->vm, cpu, &j->vcpu);
}

/*
 * The test wrote guest memory behind the vCPU's back, as DMA or the VMM
 * would: the translator drops what covers it (rv_vm_note_write() in a VM).
 */
static inline void test_note_write(struct test_jit *j, uint64_t gpa, uint64_t len)
{
	if (j->vm)
		jit_vm_dirty(j->vm, gpa, len);
}

/* Before cpu_fini(). */
static inline void test_cpu_detach(struct test_jit *j)
{
	jit_vcpu_destroy(j->vcpu);
	jit_vm_destroy(j->vm);
	memset(j, 0, sizeof(*j));
}

#endif
