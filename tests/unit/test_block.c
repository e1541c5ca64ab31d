/* The block cache (src/cpu/block.c): self-modifying code, exact budget, RIP and icount inside blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "engine.h"
#include "cpu/mmu.h"
#include "jit/jit.h"

#define FL_ARITH (RV_FLAG_CF | RV_FLAG_PF | RV_FLAG_AF | RV_FLAG_ZF | RV_FLAG_SF | RV_FLAG_OF)

#define RAM_SIZE (1u << 20)

static struct cpu_memmap map;
static uint8_t *ram;
static struct cpu *cpu;
static struct test_jit jit;

static int setup(void **state)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&map, 0, sizeof(map));
	map.count = 1;
	map.slot[0] = (struct cpu_mem_slot){ .gpa = 0, .size = RAM_SIZE, .host = ram, .kind = CPU_SLOT_RAM };
	cpu = test_cpu_mem(sizeof(*cpu));
	cpu_init(cpu, &map);
	return test_cpu_attach(cpu, &jit);
}

static int teardown(void **state)
{
	test_cpu_detach(&jit);
	cpu_fini(cpu);
	test_cpu_mem_free(cpu, sizeof(*cpu));
	free(ram);
	return 0;
}

/* Flat 32-bit protected mode, no paging, HLT exits. */
static void flat32(uint64_t rip)
{
	uint64_t icount = cpu->icount;

	cpu_reset(cpu);
	cpu->icount = icount;
	cpu->s.cr0 |= RV_CR0_PE;
	for (int i = 0; i < 6; i++) {
		cpu->s.seg[i].base = 0;
		cpu->s.seg[i].limit = 0xffffffff;
		cpu->s.seg[i].attrib = i == RV_CS ? 0xc9b : 0xc93;
	}
	cpu->s.gpr[RV_RSP] = 0x8000;
	cpu_update_mode(cpu);
	cpu->s.rip = rip;
}

/* Run again from rip with the TLB kept warm (cpu_reset would flush it and force single steps). */
static enum cpu_exit rerun(uint64_t rip)
{
	cpu->s.rip = rip;
	cpu->halted = false;
	return cpu_run(cpu, 0);
}

#define PUT(addr, ...) memcpy(ram + (addr), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/*
 * A store into the next instruction of the same block: x86 executes the
 * new bytes (SDM vol. 3, 11.6). The block is run twice first, so that a
 * stale decoded copy of "mov eax, 1" exists when the store changes it.
 */
static void test_smc_next_insn(void **state)
{
	PUT(0x1000, 0xc6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x01);	/* mov byte [0x1008], 1 */
	PUT(0x1007, 0xb8, 0x01, 0x00, 0x00, 0x00);		/* mov eax, 1 */
	PUT(0x100c, 0xf4);					/* hlt */
	flat32(0x1000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x1000), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RAX], 1);
	}
	/* now the store writes 0x42 into the immediate of the next instruction */
	ram[0x1006] = 0x42;
	cpu->icount = 0;
	assert_int_equal(rerun(0x1000), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x42);
	assert_int_equal(cpu->icount, 3);
	assert_int_equal(cpu->s.rip, 0x100d);
}

/* REP MOVSB copying over code that follows it in the same block. */
static void test_smc_rep_movs(void **state)
{
	PUT(0x3000, 0xbe, 0x00, 0x20, 0x00, 0x00);	/* mov esi, 0x2000 */
	PUT(0x3005, 0xbf, 0x14, 0x30, 0x00, 0x00);	/* mov edi, 0x3014 */
	PUT(0x300a, 0xb9, 0x05, 0x00, 0x00, 0x00);	/* mov ecx, 5 */
	PUT(0x300f, 0xf3, 0xa4);			/* rep movsb */
	PUT(0x3011, 0x90, 0x90, 0x90);			/* nop x3 */
	PUT(0x3014, 0xb8, 0x01, 0x00, 0x00, 0x00);	/* mov eax, 1 (overwritten) */
	PUT(0x3019, 0xf4);				/* hlt */
	PUT(0x2000, 0xb8, 0x01, 0x00, 0x00, 0x00);	/* first the same bytes */
	flat32(0x3000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x3000), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RAX], 1);
	}
	PUT(0x2000, 0xb8, 0x77, 0x00, 0x00, 0x00);	/* mov eax, 0x77 */
	assert_int_equal(rerun(0x3000), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x77);
	assert_int_equal(cpu->s.rip, 0x301a);
}

/* A write by someone else (DMA, another vCPU) between runs is seen at the next block entry. */
static void test_smc_external_write(void **state)
{
	PUT(0x4000, 0xb8, 0x05, 0x00, 0x00, 0x00, 0x40, 0xf4);	/* mov eax, 5; inc eax; hlt */
	flat32(0x4000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x4000), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RAX], 6);
	}
	ram[0x4005] = 0x48;						/* inc eax -> dec eax */
	test_note_write(&jit, 0x4005, 1);	/* the translator hears of it, as of DMA (rv_vm_note_write) */
	assert_int_equal(rerun(0x4000), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.gpr[RV_RAX], 4);
}

/* The budget is exact even when it ends inside a block; RIP and icount follow. */
static void test_budget_exact(void **state)
{
	for (unsigned i = 0; i < 20; i++)
		ram[0x5000 + i] = 0x40;					/* inc eax */
	ram[0x5014] = 0xf4;
	flat32(0x5000);
	for (int warm = 0; warm < 2; warm++)
		assert_int_equal(rerun(0x5000), CPU_EXIT_HLT);
	for (unsigned n = 1; n <= 21; n++) {
		cpu->s.rip = 0x5000;
		cpu->halted = false;
		cpu->s.gpr[RV_RAX] = 0;
		cpu->icount = 100;
		assert_int_equal(cpu_run(cpu, n), n == 21 ? CPU_EXIT_HLT : CPU_EXIT_BUDGET);
		assert_int_equal(cpu->icount, 100 + n);
		assert_int_equal(cpu->s.gpr[RV_RAX], n > 20 ? 20 : n);
		assert_int_equal(cpu->s.rip, 0x5000 + n);
	}
}

/* A fault in the middle of a block: RIP at the faulting instruction, earlier ones retired. */
static void test_fault_mid_block(void **state)
{
	PUT(0x6000, 0x40, 0x40, 0x8b, 0x05, 0x00, 0x00, 0x10, 0x00, 0x40, 0xf4);	/* inc; inc; mov eax,[0x100000]; inc; hlt */
	flat32(0x6000);
	cpu->s.seg[RV_DS].limit = 0xfffff;	/* the load is past the DS limit: #GP(0) */
	cpu->s.idtr.limit = 0;			/* delivery fails: #DF, triple fault */
	assert_int_equal(cpu_run(cpu, 0), CPU_EXIT_SHUTDOWN);
	/* again with the TLB warm, so the whole run is one block */
	cpu->s.seg[RV_CS] = cpu->s.seg[RV_DS];
	cpu->s.seg[RV_CS].attrib = 0xc9b;
	cpu->s.seg[RV_CS].limit = 0xffffffff;
	cpu->s.gpr[RV_RAX] = 0;
	cpu->icount = 0;
	cpu->exc_nesting = -1;
	assert_int_equal(rerun(0x6000), CPU_EXIT_SHUTDOWN);
	assert_int_equal(cpu->s.gpr[RV_RAX], 2);
	assert_int_equal(cpu->icount, 2);
	assert_int_equal(cpu->s.rip, 0x6002);
}

/*
 * 32-bit paging over the first MiB, identity-mapped (page directory at
 * 0x10000, its table at 0x11000), for the tests that map a page elsewhere.
 */
static void paging32(void)
{
	uint32_t pde = 0x11000 | 7;

	memcpy(ram + 0x10000, &pde, 4);
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t pte = i << 12 | 7;

		memcpy(ram + 0x11000 + 4 * i, &pte, 4);
	}
	cpu->s.cr3 = 0x10000;
	cpu->s.cr0 |= RV_CR0_PG;
	cpu_update_mode(cpu);
	cpu_tlb_flush_all(cpu);
}

/* Point virtual page vpn at physical page ppn, and INVLPG it. */
static void map_page(uint32_t vpn, uint32_t ppn)
{
	uint32_t pte = ppn << 12 | 7;

	memcpy(ram + 0x11000 + 4 * vpn, &pte, 4);
	cpu_tlb_flush_page(cpu, (uint64_t)vpn << 12);
}

static uint64_t declined(void)
{
	struct jit_stats st = { 0 };

	if (jit.vcpu)
		jit_vcpu_stats(jit.vcpu, &st);
	return st.declined;
}

/*
 * An instruction that crosses into the next page (mov ebx, imm32 with
 * its immediate in page 0x8000), reached by a jump from the same page:
 * once warm, it runs translated (nothing declined to the interpreter).
 * Then the second page is mapped elsewhere (the jump into the block knows
 * only the first page) and written (the block leaves with its second
 * page): each time the new bytes run.
 */
static void test_cross_page_block(void **state)
{
	PUT(0x7f00, 0x31, 0xdb, 0xe9, 0xf3, 0, 0, 0);	/* xor ebx, ebx; jmp 0x7ffa */
	PUT(0x7ffa, 0xb8, 0x11, 0x11, 0x11, 0x11);	/* mov eax, 0x11111111 */
	PUT(0x7fff, 0xbb, 0x22, 0x22, 0x22, 0x22);	/* mov ebx, 0x22222222 (crosses) */
	PUT(0x8004, 0xf4);				/* hlt */
	PUT(0x9000, 0x33, 0x33, 0x33, 0x44, 0xf4);	/* the other page: mov ebx, 0x44333333 ... hlt */
	flat32(0x7f00);
	paging32();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x7f00), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RBX], 0x22222222);
	}
	uint64_t d = declined();
	assert_int_equal(rerun(0x7f00), CPU_EXIT_HLT);
	assert_int_equal(declined(), d);
	assert_int_equal(cpu->s.rip, 0x8005);

	map_page(8, 9);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x7f00), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RBX], 0x44333333);
		assert_int_equal(cpu->s.gpr[RV_RAX], 0x11111111);
	}
	map_page(8, 8);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rerun(0x7f00), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RBX], 0x22222222);
	}
	ram[0x8002] = 0x55;
	test_note_write(&jit, 0x8002, 1);
	assert_int_equal(rerun(0x7f00), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.gpr[RV_RBX], 0x22552222);
	/* the guest's own store into the second page, from a block in the first */
	PUT(0x7e00, 0xc6, 0x05, 0x03, 0x80, 0x00, 0x00, 0x66);	/* mov byte [0x8003], 0x66 */
	PUT(0x7e07, 0xe9, 0xf4, 0x00, 0x00, 0x00);		/* jmp 0x7f00 */
	assert_int_equal(rerun(0x7e00), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.gpr[RV_RBX], 0x66552222);
}

/*
 * A direct jump into another page is chained to the target's block, whose
 * checked entry compares its page's mapping first: after the target page
 * is mapped elsewhere (and INVLPGed), the jump runs the new page's code.
 */
static void test_chain_across_pages(void **state)
{
	PUT(0x7c00, 0xb8, 0x01, 0x00, 0x00, 0x00);	/* mov eax, 1 */
	PUT(0x7c05, 0xe9, 0xf6, 0x04, 0x00, 0x00);	/* jmp 0x8100 */
	PUT(0x8100, 0xbb, 0x22, 0x00, 0x00, 0x00, 0xf4);	/* mov ebx, 0x22; hlt */
	PUT(0x9100, 0xbb, 0x33, 0x00, 0x00, 0x00, 0xf4);	/* the other page: mov ebx, 0x33; hlt */
	flat32(0x7c00);
	paging32();
	for (int round = 0; round < 3; round++) {
		uint32_t want = round == 1 ? 0x33 : 0x22;

		map_page(8, round == 1 ? 9 : 8);
		for (int i = 0; i < 4; i++) {
			cpu->s.gpr[RV_RBX] = 0;
			assert_int_equal(rerun(0x7c00), CPU_EXIT_HLT);
			assert_int_equal(cpu->s.gpr[RV_RBX], want);
			assert_int_equal(cpu->s.rip, 0x8106);
		}
	}
}

/* The host's own flags for `op ebx, eax`-style 32-bit operations: the oracle for the next test. */
#define HOST_FLAGS(name, insn)								\
	static uint64_t name(uint32_t a, uint32_t b)					\
	{										\
		uint64_t f;								\
											\
		__asm__(insn " %2, %1\n\tpushfq\n\tpopq %0" : "=r"(f), "+r"(a) : "r"(b) : "cc"); \
		return f;								\
	}
HOST_FLAGS(host_add, "addl")
HOST_FLAGS(host_sub, "subl")
HOST_FLAGS(host_xor, "xorl")
HOST_FLAGS(host_cmp, "cmpl")
HOST_FLAGS(host_test, "testl")

/*
 * A fault in an instruction that writes every flag, right after a
 * register ALU instruction: the translator does not store that one's
 * flags before the access's TLB check, its slow path computes them again
 * (flag replay). The fault must still show them: ADD ECX, [unmapped]
 * raises #PF, whose delivery fails into a triple fault, leaving RFLAGS as
 * the first instruction left it, which the host computes too.
 */
static void test_fault_flags_replayed(void **state)
{
	static const struct {
		uint8_t code[3];
		unsigned len;
		uint64_t (*host)(uint32_t, uint32_t);
		uint64_t mask;
	} cases[] = {
		{ { 0x01, 0xd8 }, 2, host_add, FL_ARITH },		/* add eax, ebx */
		{ { 0x29, 0xd8 }, 2, host_sub, FL_ARITH },		/* sub eax, ebx */
		{ { 0x31, 0xd8 }, 2, host_xor, FL_ARITH & ~RV_FLAG_AF },	/* xor eax, ebx (AF undefined) */
		{ { 0x39, 0xd8 }, 2, host_cmp, FL_ARITH },		/* cmp eax, ebx */
		{ { 0x85, 0xd8 }, 2, host_test, FL_ARITH & ~RV_FLAG_AF },	/* test eax, ebx */
	};
	static const uint32_t pairs[][2] = { { 0x7fffffff, 1 }, { 5, 7 }, { 0x80000000, 0x80000000 }, { 0x1234, 0x1234 } };

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t at = 0x6800 + 0x20 * c;

		memcpy(ram + at, cases[c].code, cases[c].len);
		PUT(at + cases[c].len, 0x03, 0x0d, 0x00, 0x00, 0x40, 0x00, 0xf4);	/* add ecx, [0x400000]; hlt */
		for (unsigned p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
			for (int run = 0; run < 3; run++) {
				flat32(at);
				paging32();
				cpu->s.idtr.limit = 0;	/* #PF cannot be delivered: #DF, then a triple fault */
				cpu->exc_nesting = -1;
				cpu->s.gpr[RV_RAX] = pairs[p][0];
				cpu->s.gpr[RV_RBX] = pairs[p][1];
				assert_int_equal(cpu_run(cpu, 0), CPU_EXIT_SHUTDOWN);
				assert_int_equal(cpu->s.rip, at + cases[c].len);
				assert_int_equal(cpu_get_rflags(cpu) & cases[c].mask,
						 cases[c].host(pairs[p][0], pairs[p][1]) & cases[c].mask);
			}
	}
}

/*
 * PUSH r/m with a memory operand (translated inline): the value pushed,
 * and a fault on either access (the operand, then the stack) leaving ESP
 * and the stack as they were, at the PUSH.
 */
static void test_push_mem(void **state)
{
	static const struct {
		uint32_t operand, esp;
		bool faults;
	} cases[] = {
		{ 0x1000, 0x8000, false },
		{ 0x400000, 0x8000, true },	/* the operand is not mapped */
		{ 0x1000, 0x400010, true },	/* the stack is not mapped */
	};

	memcpy(ram + 0x1000, "\x11\x22\x33\x44", 4);
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t at = 0x6c00 + 0x10 * c;

		PUT(at, 0xff, 0x35, 0, 0, 0, 0, 0xf4);	/* push dword [operand]; hlt */
		memcpy(ram + at + 2, &cases[c].operand, 4);
		for (int run = 0; run < 3; run++) {
			flat32(at);
			paging32();
			cpu->s.idtr.limit = 0;	/* a #PF becomes a triple fault */
			cpu->exc_nesting = -1;
			cpu->s.gpr[RV_RSP] = cases[c].esp;
			memset(ram + 0x7ffc, 0, 4);
			if (cases[c].faults) {
				assert_int_equal(cpu_run(cpu, 0), CPU_EXIT_SHUTDOWN);
				assert_int_equal(cpu->s.rip, at);
				assert_int_equal(cpu->s.gpr[RV_RSP], cases[c].esp);
			} else {
				assert_int_equal(cpu_run(cpu, 0), CPU_EXIT_HLT);
				assert_int_equal(cpu->s.gpr[RV_RSP], 0x7ffc);
				assert_memory_equal(ram + 0x7ffc, "\x11\x22\x33\x44", 4);
			}
		}
	}
}

/* CLI at CPL 0, translated inline: IF clears and the block goes on. */
static void test_cli_inline(void **state)
{
	PUT(0x6e00, 0xfa, 0x40, 0xf4);	/* cli; inc eax; hlt */
	for (int run = 0; run < 3; run++) {
		flat32(0x6e00);
		cpu->s.rflags |= RV_FLAG_IF;
		cpu->s.gpr[RV_RAX] = 0;
		assert_int_equal(cpu_run(cpu, 0), CPU_EXIT_HLT);
		assert_int_equal(cpu->s.gpr[RV_RAX], 1);
		assert_false(cpu->s.rflags & RV_FLAG_IF);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smc_next_insn),
		cmocka_unit_test(test_smc_rep_movs),
		cmocka_unit_test(test_smc_external_write),
		cmocka_unit_test(test_budget_exact),
		cmocka_unit_test(test_fault_mid_block),
		cmocka_unit_test(test_cross_page_block),
		cmocka_unit_test(test_chain_across_pages),
		cmocka_unit_test(test_fault_flags_replayed),
		cmocka_unit_test(test_push_mem),
		cmocka_unit_test(test_cli_inline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
