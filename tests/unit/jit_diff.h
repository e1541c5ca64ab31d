/*
 * Two machines for the translator's differential checks (test_jit_diff.c,
 * tests/fuzz/fuzz_jit.c): one vCPU on the interpreter, one on the
 * translator, each with its own copy of the memory a jit_gen.h program
 * uses, and the comparison of their states.
 */
#ifndef RV_TEST_JIT_DIFF_H
#define RV_TEST_JIT_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "jit/jit.h"
#include "jit_gen.h"

#ifndef JD_ASSERT
#define JD_ASSERT(x) do { if (!(x)) abort(); } while (0)
#endif

#define SYS_PML4  0x1000u
#define SYS_GDT   0x2000u
#define SYS_STUBS 0x3000u
#define SYS_IDT   0x4000u
#define SYS_PDPT  0x6000u
#define SYS_PD    0x7000u
#define SYS_SIZE  0x10000u
#define DATA_SIZE 0x2000u

/* One engine's machine: its own copy of memory and its vCPU. */
struct machine {
	struct cpu *cpu;
	struct cpu_memmap map;
	uint8_t *sys, *code, *data;
	struct jit_vm *jvm;
	struct jit_vcpu *jv;
};

static inline void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline void build_sys(uint8_t *sys)
{
	uint64_t *pml4 = (uint64_t *)(void *)(sys + SYS_PML4);
	uint64_t *pdpt = (uint64_t *)(void *)(sys + SYS_PDPT);
	uint64_t *pd = (uint64_t *)(void *)(sys + SYS_PD);

	memset(sys, 0, SYS_SIZE);
	/* 0-1 GiB identity with 2 MiB pages; JG_UNMAPPED (1 GiB) is not mapped */
	pml4[0] = SYS_PDPT | 0x67;
	pdpt[0] = SYS_PD | 0x67;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0xe7;
	put64(sys + SYS_GDT + 8, 0x00af9b000000ffffull);
	put64(sys + SYS_GDT + 16, 0x00cf93000000ffffull);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t h = SYS_STUBS + 16 * i;
		uint8_t *g = sys + SYS_IDT + 16 * i;

		put64(g, (h & 0xffff) | (8ull << 16) | (0x8eull << 40) | (((h >> 16) & 0xffff) << 48));
		put64(g + 8, 0);
		memset(sys + h, 0xf4, 16);
	}
}

static inline void machine_init(struct machine *m, bool translate)
{
	memset(m, 0, sizeof(*m));
	m->sys = aligned_alloc(4096, SYS_SIZE);
	m->code = aligned_alloc(4096, JG_CODE_SLOT);
	m->data = aligned_alloc(4096, DATA_SIZE);
	JD_ASSERT(m->sys);
	JD_ASSERT(m->code);
	JD_ASSERT(m->data);
	m->map.count = 3;
	m->map.slot[0] = (struct cpu_mem_slot){ 0, SYS_SIZE, m->sys, CPU_SLOT_RAM };
	m->map.slot[1] = (struct cpu_mem_slot){ JG_CODE, JG_CODE_SLOT, m->code, CPU_SLOT_RAM };
	m->map.slot[2] = (struct cpu_mem_slot){ JG_DATA, DATA_SIZE, m->data, CPU_SLOT_RAM };
	m->map.generation = 1;
	build_sys(m->sys);
	if (translate) {
		m->cpu = jit_alloc_low(sizeof(*m->cpu));
		JD_ASSERT(m->cpu);
		cpu_init(m->cpu, &m->map);
		JD_ASSERT(jit_vm_create(&m->jvm, 8u << 20) == 0);
		JD_ASSERT(jit_vcpu_create(m->jvm, m->cpu, &m->jv) == 0);
	} else {
		m->cpu = aligned_alloc(64, (sizeof(*m->cpu) + 63) & ~(size_t)63);
		JD_ASSERT(m->cpu);
		cpu_init(m->cpu, &m->map);
	}
}

static inline void machine_fini(struct machine *m)
{
	if (m->jv) {
		jit_vcpu_destroy(m->jv);
		jit_vm_destroy(m->jvm);
	}
	cpu_fini(m->cpu);
	if (m->jv)
		jit_free_low(m->cpu, sizeof(*m->cpu));
	else
		free(m->cpu);
	free(m->sys);
	free(m->code);
	free(m->data);
}

/* Long mode, CPL 0, flat segments: the program's starting state. */
static inline void machine_load(struct machine *m, const struct jg_prog *p, const uint8_t *data)
{
	struct cpu_state *s = &m->cpu->s;

	uint64_t icount = m->cpu->icount;

	build_sys(m->sys);
	memset(m->code, 0xf4, JG_CODE_SLOT);
	memcpy(m->code + p->at, p->code, p->len);
	memcpy(m->data, data, DATA_SIZE);
	if (m->jvm) {
		/* written behind the vCPU's back, as by DMA: the translator drops what it had */
		jit_vm_dirty(m->jvm, 0, SYS_SIZE);
		jit_vm_dirty(m->jvm, JG_CODE, JG_CODE_SLOT);
		jit_vm_dirty(m->jvm, JG_DATA, DATA_SIZE);
	}
	/* whatever the last program did to the vCPU (a fuzzed one may do anything) */
	cpu_reset(m->cpu);
	m->cpu->icount = icount;
	s->cr0 = RV_CR0_PE | RV_CR0_MP | RV_CR0_ET | RV_CR0_NE | RV_CR0_PG | RV_CR0_WP;
	s->cr4 = RV_CR4_PAE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT;
	s->efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE;
	s->cr3 = SYS_PML4;
	for (int i = 0; i < 6; i++)
		s->seg[i] = (struct rv_segment){ 0x10, 0x3 | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G, 0xffffffff, 0 };
	s->seg[RV_CS] = (struct rv_segment){ 0x08, 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_L | RV_SEG_G, 0xffffffff, 0 };
	s->seg[RV_TR] = (struct rv_segment){ 0, 0xb | RV_SEG_P, 0x67, 0 };
	s->gdtr = (struct rv_dtable){ SYS_GDT, 0x17 };
	s->idtr = (struct rv_dtable){ SYS_IDT, 0xfff };
	s->cpl = 0;
	memcpy(s->gpr, p->regs, sizeof(s->gpr));
	s->rip = JG_CODE + p->at;
	cpu_set_rflags(m->cpu, p->flags | RV_FLAG_FIXED1);
	cpu_update_mode(m->cpu);
	m->cpu->halted = false;
	m->cpu->exit.reason = CPU_EXIT_NONE;
}

static inline void print_prog(const struct jg_prog *p)
{
	fprintf(stderr, "  program (%u bytes at %#x):", p->len, JG_CODE + p->at);
	for (unsigned i = 0; i < p->len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n    ", p->code[i]);
	fprintf(stderr, "\n  start:");
	for (unsigned g = 0; g < 16; g++)
		fprintf(stderr, "%s r%u=%#llx", g % 4 ? "" : "\n   ", g, (unsigned long long)p->regs[g]);
	fprintf(stderr, "\n   flags=%#llx\n", (unsigned long long)p->flags);
}

/* Compare the two machines; prints every difference. */
static inline bool same(const struct machine *a, const struct machine *b, const char *what)
{
	const struct cpu_state *x = &a->cpu->s, *y = &b->cpu->s;
	uint64_t fx = cpu_get_rflags(a->cpu) & ~(uint64_t)RV_FLAG_AF, fy = cpu_get_rflags(b->cpu) & ~(uint64_t)RV_FLAG_AF;
	bool ok = true;

	for (unsigned g = 0; g < 16; g++)
		if (x->gpr[g] != y->gpr[g]) {
			fprintf(stderr, "  %s: r%u: interpreter %#llx, translator %#llx\n", what, g,
				(unsigned long long)x->gpr[g], (unsigned long long)y->gpr[g]);
			ok = false;
		}
	if (x->rip != y->rip || fx != fy || a->cpu->icount != b->cpu->icount) {
		fprintf(stderr, "  %s: rip %#llx / %#llx, rflags %#llx / %#llx, icount %llu / %llu\n", what,
			(unsigned long long)x->rip, (unsigned long long)y->rip, (unsigned long long)fx,
			(unsigned long long)fy, (unsigned long long)a->cpu->icount,
			(unsigned long long)b->cpu->icount);
		ok = false;
	}
	for (unsigned i = 0; i < DATA_SIZE; i++)
		if (a->data[i] != b->data[i]) {
			fprintf(stderr, "  %s: data[%#x]: interpreter %02x, translator %02x\n", what, i, a->data[i],
				b->data[i]);
			ok = false;
			break;
		}
	for (unsigned i = 0; i < JG_CODE_SLOT; i++)
		if (a->code[i] != b->code[i]) {
			fprintf(stderr, "  %s: code[%#x]: interpreter %02x, translator %02x\n", what, i, a->code[i],
				b->code[i]);
			ok = false;
			break;
		}
	return ok;
}


#endif
