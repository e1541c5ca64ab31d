/* The CPU core driven directly: decoder encodings, segmentation, paging faults, A/D bits, TLB, flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "engine.h"

#define RAM_SIZE (8u << 20)

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

static void set_mode(unsigned mode)
{
	cpu->mode = (uint8_t)mode;
	cpu->code_size = mode == MODE_LONG64 ? 8 : mode == MODE_REAL ? 2 : 4;
	cpu->stack_size = cpu->code_size;
}

static unsigned decode(unsigned mode, const uint8_t *b, unsigned n, struct insn *in)
{
	set_mode(mode);
	return (unsigned)cpu_decode(cpu, b, n, in);
}

/* Run a decoded instruction's handler; the vector it raised, or -1. */
static int run_fn(const struct insn *in)
{
	jmp_buf jb;

	cpu->unwind = &jb;
	cpu->exc_vector = -1;
	if (setjmp(jb)) {
		cpu->unwind = NULL;
		return cpu->exc_vector;
	}
	cpu->next_rip = cpu->s.rip + in->len;
	in->fn(cpu, in);
	cpu->unwind = NULL;
	return -1;
}

#define DEC(mode, ...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; decode(mode, b_, sizeof(b_), &in); })

static void test_decode_addressing(void **state)
{
	struct insn in;

	/* mov eax, [0x12345678]: SIB with no base and no index */
	assert_int_equal(DEC(MODE_LONG64, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), 7);
	assert_int_equal(in.base, REG_NONE);
	assert_int_equal(in.index, REG_NONE);
	assert_int_equal(in.disp, 0x12345678);
	assert_false(in.rip_rel);
	assert_int_equal(in.opsize, 4);
	/* mov rax, [rip+0x10] */
	assert_int_equal(DEC(MODE_LONG64, 0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 7);
	assert_true(in.rip_rel);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(in.disp, 0x10);
	/* same bytes in 32-bit mode: absolute disp32 after DEC EAX; here without REX */
	assert_int_equal(DEC(MODE_PROT, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 6);
	assert_false(in.rip_rel);
	assert_int_equal(in.base, REG_NONE);
	/* 16-bit: mov ax, [bp-2] defaults to SS */
	assert_int_equal(DEC(MODE_REAL, 0x8b, 0x46, 0xfe), 3);
	assert_int_equal(in.base, RV_RBP);
	assert_int_equal(in.index, REG_NONE);
	assert_int_equal(in.seg, RV_SS);
	assert_int_equal(in.disp, -2);
	assert_int_equal(in.addrsize, 2);
	/* mov ax, [0x1234] (mod 0 rm 6) */
	assert_int_equal(DEC(MODE_REAL, 0x8b, 0x06, 0x34, 0x12), 4);
	assert_int_equal(in.base, REG_NONE);
	assert_int_equal(in.disp, 0x1234);
	assert_int_equal(in.seg, RV_DS);
	/* mov ax, [bx+si] */
	assert_int_equal(DEC(MODE_REAL, 0x8b, 0x00), 2);
	assert_int_equal(in.base, RV_RBX);
	assert_int_equal(in.index, RV_RSI);
	/* mov eax, [esp+4]: SS default, no index */
	assert_int_equal(DEC(MODE_PROT, 0x8b, 0x44, 0x24, 0x04), 4);
	assert_int_equal(in.base, RV_RSP);
	assert_int_equal(in.index, REG_NONE);
	assert_int_equal(in.seg, RV_SS);
	/* REX.X makes index 4 = R12; REX.B with SIB base 5 and mod 0 is still "no base" */
	assert_int_equal(DEC(MODE_LONG64, 0x43, 0x8b, 0x04, 0x25, 0, 0, 0, 0), 8);
	assert_int_equal(in.index, 12);
	assert_int_equal(in.base, REG_NONE);
	/* r13 base with mod 1 */
	assert_int_equal(DEC(MODE_LONG64, 0x41, 0x8b, 0x45, 0x08), 4);
	assert_int_equal(in.base, 13);
	assert_int_equal(in.seg, RV_DS);
	/* 67 in 64-bit mode: 32-bit addressing */
	assert_int_equal(DEC(MODE_LONG64, 0x67, 0x8b, 0x03), 3);
	assert_int_equal(in.addrsize, 4);
	/* 67 in 32-bit mode: 16-bit addressing */
	assert_int_equal(DEC(MODE_PROT, 0x67, 0x8b, 0x46, 0x02), 4);
	assert_int_equal(in.addrsize, 2);
	assert_int_equal(in.base, RV_RBP);
}

static void test_decode_prefixes(void **state)
{
	struct insn in;

	assert_int_equal(DEC(MODE_PROT, 0x66, 0x67, 0xf3, 0x2e, 0x8b, 0x00), 6);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.addrsize, 2);
	assert_true(in.prefix & PFX_REP);
	assert_int_equal(in.sse_pfx, SSE_F3);
	assert_int_equal(in.seg, RV_CS);
	/* the last of F2/F3 wins */
	assert_int_equal(DEC(MODE_PROT, 0xf3, 0xf2, 0x66, 0x90), 4);
	assert_true(in.prefix & PFX_REPNE);
	assert_false(in.prefix & PFX_REP);
	assert_int_equal(in.sse_pfx, SSE_F2);
	assert_int_equal(DEC(MODE_PROT, 0x66, 0x90), 2);
	assert_int_equal(in.sse_pfx, SSE_66);
	/* REX not right before the opcode is ignored */
	assert_int_equal(DEC(MODE_LONG64, 0x48, 0x66, 0x8b, 0xc0), 4);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.rex, 0);
	assert_int_equal(DEC(MODE_LONG64, 0x66, 0x48, 0x8b, 0xc0), 4);
	assert_int_equal(in.opsize, 8);
	/* 40-4F are INC/DEC outside 64-bit mode */
	assert_int_equal(DEC(MODE_PROT, 0x48, 0x8b, 0xc0), 1);
	assert_int_equal(in.opcode, 0x48);
	/* REX.R and REX.B extend reg and rm */
	assert_int_equal(DEC(MODE_LONG64, 0x4d, 0x89, 0xc8), 3);
	assert_int_equal(in.reg, 9);
	assert_int_equal(in.rm, 8);
	/* in 64-bit mode DS/ES/CS/SS overrides are ignored, FS/GS count */
	assert_int_equal(DEC(MODE_LONG64, 0x26, 0x8b, 0x45, 0x00), 4);
	assert_int_equal(in.seg, RV_SS);
	assert_int_equal(DEC(MODE_LONG64, 0x64, 0x8b, 0x00), 3);
	assert_int_equal(in.seg, RV_FS);
	/* default-64 and forced-64 operand sizes */
	assert_int_equal(DEC(MODE_LONG64, 0x50), 1);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(MODE_LONG64, 0x66, 0x50), 2);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(MODE_LONG64, 0x66, 0xe8, 1, 0, 0, 0), 6);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(MODE_LONG64, 0xff, 0xd0), 2);	/* call rax */
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(MODE_LONG64, 0xff, 0xc0), 2);	/* inc eax */
	assert_int_equal(in.opsize, 4);
}

static void test_decode_immediates(void **state)
{
	struct insn in;

	assert_int_equal(DEC(MODE_PROT, 0x81, 0xc0, 0x78, 0x56, 0x34, 0x12), 6);
	assert_int_equal(in.imm, 0x12345678);
	assert_int_equal(DEC(MODE_PROT, 0x66, 0x81, 0xc0, 0x34, 0x82), 5);
	assert_int_equal(in.imm, 0xffffffffffff8234ull);
	assert_int_equal(DEC(MODE_PROT, 0x83, 0xc0, 0xff), 3);
	assert_int_equal(in.imm, ~0ull);
	assert_int_equal(DEC(MODE_LONG64, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8), 10);
	assert_int_equal(in.imm, 0x0807060504030201ull);
	assert_int_equal(DEC(MODE_LONG64, 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff), 7);
	assert_int_equal(in.imm, ~0ull);
	/* moffs has the address size: 8 bytes in 64-bit mode, 4 with 67 */
	assert_int_equal(DEC(MODE_LONG64, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 9);
	assert_int_equal(in.disp, 0x0807060504030201ll);
	assert_int_equal(DEC(MODE_LONG64, 0x67, 0xa1, 1, 2, 3, 4), 6);
	assert_int_equal(DEC(MODE_REAL, 0xa1, 1, 2), 3);
	/* group 3: TEST has an immediate, NOT does not */
	if (cpu_opdesc(MAP_1B, 0xf6)) {
		assert_int_equal(DEC(MODE_PROT, 0xf6, 0xc0, 0x12), 3);
		assert_int_equal(DEC(MODE_PROT, 0xf6, 0xd0), 2);
		assert_int_equal(DEC(MODE_PROT, 0xf7, 0x00, 1, 2, 3, 4), 6);
	}
	/* 0F maps */
	assert_int_equal(DEC(MODE_PROT, 0x0f, 0x84, 0x10, 0, 0, 0), 6);
	assert_int_equal(in.map, MAP_0F);
	assert_int_equal(in.imm, 0x10);
	assert_int_equal(DEC(MODE_REAL, 0x0f, 0x84, 0xfe, 0xff), 4);
	assert_int_equal(in.imm, ~1ull);
	/* short input: need more bytes */
	assert_int_equal(DEC(MODE_PROT, 0x81, 0xc0, 0x78), 0);
	assert_int_equal(DEC(MODE_PROT, 0x66), 0);
}

static void test_decode_faults(void **state)
{
	struct insn in;
	uint8_t b[20];

	/* 15 bytes are fine, 16 are #GP(0) */
	memset(b, 0x66, sizeof(b));
	b[14] = 0x90;
	assert_int_equal(decode(MODE_PROT, b, 15, &in), 15);
	assert_int_equal(run_fn(&in), -1);
	b[14] = 0x66;
	b[15] = 0x90;
	assert_int_equal(decode(MODE_PROT, b, 16, &in), 15);
	assert_int_equal(run_fn(&in), EXC_GP);
	/* LOCK: register destination, CMP, MOV -> #UD; ADD to memory is fine */
	DEC(MODE_PROT, 0xf0, 0x01, 0xc0);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_PROT, 0xf0, 0x39, 0x00);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_PROT, 0xf0, 0x83, 0x38, 0x01);	/* lock cmp dword [eax], 1 */
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_PROT, 0xf0, 0x89, 0x00);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_PROT, 0xf0, 0x83, 0x00, 0x01);
	assert_ptr_not_equal(in.fn, NULL);
	assert_int_equal(in.len, 4);
	/* UD2, an invalid-in-64 opcode, VEX in 64-bit mode */
	DEC(MODE_PROT, 0x0f, 0x0b);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_LONG64, 0x82, 0xc0, 0x01);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_LONG64, 0xc5, 0xf8, 0x77);
	assert_int_equal(run_fn(&in), EXC_UD);
	DEC(MODE_PROT, 0xc5, 0xf8, 0x77);	/* VEX form of LDS (mod 3) */
	assert_int_equal(run_fn(&in), EXC_UD);
	if (cpu_opdesc(MAP_1B, 0xc5)) {
		assert_int_equal(DEC(MODE_PROT, 0xc5, 0x05, 0, 0, 0, 0), 6);	/* LDS eax, [disp32] */
		assert_int_equal(in.opcode, 0xc5);
	}
}

/* ------------------------------------------------------------------ */

/* Translate, catching the fault: returns -1 or the vector. */
static int try_translate(uint64_t lin, int acc, uint64_t *pa)
{
	jmp_buf jb;

	cpu->unwind = &jb;
	cpu->exc_vector = -1;
	if (setjmp(jb)) {
		cpu->unwind = NULL;
		return cpu->exc_vector;
	}
	*pa = cpu_translate(cpu, lin, acc);
	cpu->unwind = NULL;
	return -1;
}

static int try_read(int seg, uint64_t off, unsigned size, uint64_t *v)
{
	jmp_buf jb;

	cpu->unwind = &jb;
	cpu->exc_vector = -1;
	if (setjmp(jb)) {
		cpu->unwind = NULL;
		return cpu->exc_vector;
	}
	*v = cpu_read(cpu, seg, off, size);
	cpu->unwind = NULL;
	return -1;
}

static int try_write(int seg, uint64_t off, uint64_t v, unsigned size)
{
	jmp_buf jb;

	cpu->unwind = &jb;
	cpu->exc_vector = -1;
	if (setjmp(jb)) {
		cpu->unwind = NULL;
		return cpu->exc_vector;
	}
	cpu_write(cpu, seg, off, v, size);
	cpu->unwind = NULL;
	return -1;
}

static void paging_state(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3, unsigned cpl)
{
	cpu_reset(cpu);
	cpu->s.cr0 = RV_CR0_PE | RV_CR0_PG | cr0;
	cpu->s.cr4 = cr4;
	cpu->s.efer = efer;
	cpu->s.cr3 = cr3;
	cpu->s.cpl = (uint8_t)cpl;
	for (int i = 0; i < 6; i++) {
		cpu->s.seg[i].base = 0;
		cpu->s.seg[i].limit = 0xffffffff;
		cpu->s.seg[i].attrib = i == RV_CS ? (efer & RV_EFER_LMA ? 0xa9b : 0xc9b) : 0xc93;
	}
	cpu_update_mode(cpu);
	cpu_tlb_flush_all(cpu);
}

static uint32_t *pt32(uint64_t pa)
{
	return (uint32_t *)(ram + pa);
}

static uint64_t *pt64(uint64_t pa)
{
	return (uint64_t *)(ram + pa);
}

static void test_paging_32bit(void **state)
{
	uint64_t pa;

	memset(ram + 0x10000, 0, 0x3000);
	/* PD 0x10000: [1] -> PT 0x11000, [2] 4 MiB page at 0x400000 (user, read-only) */
	pt32(0x10000)[1] = 0x11000 | 7;
	pt32(0x10000)[2] = 0x400000 | 0x80 | 5;
	pt32(0x11000)[0] = 0x200000 | 7;	/* 0x400000 -> 0x200000, user, writable */
	pt32(0x11000)[1] = 0x201000 | 1;	/* supervisor, read-only */
	paging_state(0, RV_CR4_PSE, 0, 0x10000, 0);

	assert_int_equal(try_translate(0x400123, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x200123);
	assert_true(pt32(0x10000)[1] & 0x20);		/* accessed */
	assert_true(pt32(0x11000)[0] & 0x20);
	assert_false(pt32(0x11000)[0] & 0x40);		/* not dirty after a read */
	assert_int_equal(try_translate(0x400123, ACC_WRITE, &pa), -1);
	assert_true(pt32(0x11000)[0] & 0x40);
	/* 4 MiB page */
	assert_int_equal(try_translate(0x812345, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x412345);
	/* not present: error code 0 (supervisor read), CR2 */
	assert_int_equal(try_translate(0xc00000, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, 0);
	assert_int_equal(cpu->s.cr2, 0xc00000);
	assert_true(cpu->exc_has_error);
	assert_int_equal(try_translate(0x402000, ACC_WRITE, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_W);
	/* supervisor write to a read-only page: fine without WP, #PF(P|W) with WP */
	assert_int_equal(try_translate(0x401000, ACC_WRITE, &pa), -1);
	cpu->s.cr0 |= RV_CR0_WP;
	cpu_tlb_flush_all(cpu);
	assert_int_equal(try_translate(0x401000, ACC_WRITE, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_W);
	/* user access to a supervisor page */
	cpu->s.cpl = 3;
	assert_int_equal(try_translate(0x401000, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_U);
	/* user write to the read-only 4 MiB page */
	assert_int_equal(try_translate(0x800000, ACC_WRITE, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_W | PF_U);
	assert_int_equal(cpu->s.cr2, 0x800000);
	/* implicit supervisor accesses ignore CPL */
	assert_int_equal(try_translate(0x401000, ACC_READ | ACC_IMPLICIT_SV, &pa), -1);
	/* without CR4.PSE the PS bit is ignored: entry 2 becomes a page-table pointer */
	cpu->s.cpl = 0;
	cpu->s.cr4 = 0;
	pt32(0x400000)[0] = 0x123000 | 1;
	assert_int_equal(try_translate(0x800000, ACC_READ, &pa), -1);
	assert_int_equal(pa, pt32(0x400000)[0] & 0xfffff000);
}

static void test_paging_pae(void **state)
{
	uint64_t pa;

	memset(ram + 0x20000, 0, 0x4000);
	pt64(0x20000)[0] = 0x21000 | 1;			/* PDPTE 0 */
	pt64(0x21000)[0] = 0x22000 | 7;			/* PD[0] -> PT */
	pt64(0x21000)[1] = 0x600000 | 0x80 | 7 | (1ull << 63);	/* 2 MiB, NX */
	pt64(0x22000)[5] = 0x300000 | 7;
	pt64(0x22000)[6] = 0x301000 | 7 | (1ull << 45);	/* reserved with MAXPHYADDR 40 */
	paging_state(0, RV_CR4_PAE, RV_EFER_NXE, 0x20000, 0);
	cpu->maxphyaddr = 40;

	assert_int_equal(try_translate(0x5abc, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x300abc);
	assert_int_equal(try_translate(0x200010, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x600010);
	assert_int_equal(try_translate(0x200010, ACC_EXEC, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_I);
	assert_int_equal(try_translate(0x6000, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_RSVD);
	/* without NXE, bit 63 is reserved */
	cpu->s.efer = 0;
	cpu_tlb_flush_all(cpu);
	assert_int_equal(try_translate(0x200010, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_RSVD);
	/* PDPTE 1 not present */
	assert_int_equal(try_translate(0x40000000, ACC_WRITE, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_W);
	assert_int_equal(cpu->s.cr2, 0x40000000);
}

static void test_paging_4level(void **state)
{
	uint64_t pa, v;

	memset(ram + 0x30000, 0, 0x5000);
	pt64(0x30000)[0] = 0x31000 | 7;			/* PML4[0] */
	pt64(0x30000)[511] = 0x34000 | 3;		/* PML4[511]: supervisor */
	pt64(0x31000)[0] = 0x32000 | 7;			/* PDPT[0] -> PD */
	pt64(0x31000)[1] = 0x40000000ull | 0x80 | 7;	/* 1 GiB page (beyond RAM: reads are a hole) */
	pt64(0x32000)[0] = 0x33000 | 7;			/* PD[0] -> PT */
	pt64(0x33000)[0x10] = 0x100000 | 7;		/* 0x10000 -> 0x100000 */
	pt64(0x33000)[0x11] = 0x101000 | 0x100 | 3;	/* global, supervisor */
	pt64(0x34000)[511] = 0x35000 | 3;
	paging_state(RV_CR0_WP, RV_CR4_PAE | RV_CR4_PGE, RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE, 0x30000, 0);
	assert_int_equal(cpu->mode, MODE_LONG64);

	assert_int_equal(try_translate(0x10008, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x100008);
	assert_int_equal(try_translate(0x40000000 + 0x1234567, ACC_READ, &pa), -1);
	assert_int_equal(pa, 0x41234567);
	/* the higher half: PML4[511] -> PDPT 0x34000 [511] -> PD 0x35000 (empty) */
	assert_int_equal(try_translate(0xffffffffc0000000ull, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, 0);
	assert_int_equal(cpu->s.cr2, 0xffffffffc0000000ull);
	/* PS in a PML4E is reserved */
	pt64(0x30000)[1] = 0x31000 | 0x80 | 7;
	assert_int_equal(try_translate(0x8000000000ull, ACC_READ, &pa), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_RSVD);
	/* non-canonical: #GP(0), or #SS(0) for the stack */
	assert_int_equal(try_read(RV_DS, 0x0000800000000000ull, 4, &v), EXC_GP);
	assert_int_equal(try_read(RV_SS, 0x0000800000000000ull, 4, &v), EXC_SS);
	assert_int_equal(try_read(RV_DS, 0x00007ffffffffffeull, 4, &v), EXC_GP);	/* end crosses */
	/* accesses through the TLB, data round trip */
	assert_int_equal(try_write(RV_DS, 0x10010, 0x1122334455667788ull, 8), -1);
	assert_int_equal(*(uint64_t *)(ram + 0x100010), 0x1122334455667788ull);
	assert_true(pt64(0x33000)[0x10] & 0x40);
	assert_int_equal(try_read(RV_DS, 0x10010, 8, &v), -1);
	assert_int_equal(v, 0x1122334455667788ull);
	/* page-crossing write: both pages translated before anything is written */
	pt64(0x33000)[0x12] = 0;
	*(uint32_t *)(ram + 0x101ffc) = 0;
	assert_int_equal(try_write(RV_DS, 0x11ffe, 0xaabbccdd, 4), EXC_PF);
	assert_int_equal(cpu->s.cr2, 0x12000);
	assert_int_equal(cpu->exc_error, PF_W);
	assert_int_equal(*(uint32_t *)(ram + 0x101ffc), 0);
	/* user access to the supervisor global page */
	cpu->s.cpl = 3;
	assert_int_equal(try_read(RV_DS, 0x11000, 4, &v), EXC_PF);
	assert_int_equal(cpu->exc_error, PF_P | PF_U);
	assert_int_equal(try_read(RV_DS, 0x10000, 4, &v), -1);
	cpu->s.cpl = 0;

	/* TLB: a global entry survives cpu_tlb_flush, a normal one does not */
	*(uint32_t *)(ram + 0x100000) = 0x1111;
	*(uint32_t *)(ram + 0x101000) = 0x2222;
	*(uint32_t *)(ram + 0x102000) = 0x3333;
	assert_int_equal(try_read(RV_DS, 0x10000, 4, &v), -1);
	assert_int_equal(try_read(RV_DS, 0x11000, 4, &v), -1);
	assert_int_equal(v, 0x2222);
	pt64(0x33000)[0x10] = 0x102000 | 7;
	pt64(0x33000)[0x11] = 0x102000 | 0x100 | 3;
	assert_int_equal(try_read(RV_DS, 0x10000, 4, &v), -1);
	assert_int_equal(v, 0x1111);			/* stale until flushed, as on hardware */
	cpu_tlb_flush(cpu);
	assert_int_equal(try_read(RV_DS, 0x10000, 4, &v), -1);
	assert_int_equal(v, 0x3333);
	assert_int_equal(try_read(RV_DS, 0x11000, 4, &v), -1);
	assert_int_equal(v, 0x2222);			/* global */
	cpu_tlb_flush_page(cpu, 0x11000);
	assert_int_equal(try_read(RV_DS, 0x11000, 4, &v), -1);
	assert_int_equal(v, 0x3333);
}

static void test_segmentation(void **state)
{
	uint64_t v;

	cpu_reset(cpu);
	cpu->s.seg[RV_DS].base = 0x1000;
	/* real mode: limit 0xffff */
	assert_int_equal(try_read(RV_DS, 0xfffe, 2, &v), -1);
	assert_int_equal(try_read(RV_DS, 0xffff, 2, &v), EXC_GP);
	assert_int_equal(cpu->exc_error, 0);
	assert_int_equal(try_read(RV_SS, 0xffff, 2, &v), EXC_SS);
	/* protected mode */
	cpu->s.cr0 |= RV_CR0_PE;
	cpu_update_mode(cpu);
	cpu->s.seg[RV_DS].attrib = 0x91;		/* read-only data */
	assert_int_equal(try_read(RV_DS, 0x10, 4, &v), -1);
	assert_int_equal(try_write(RV_DS, 0x10, 1, 4), EXC_GP);
	cpu->s.seg[RV_ES].attrib = 0x9b;		/* readable code */
	assert_int_equal(try_read(RV_ES, 0x10, 4, &v), -1);
	assert_int_equal(try_write(RV_ES, 0x10, 1, 4), EXC_GP);
	cpu->s.seg[RV_ES].attrib = 0x99;		/* execute-only code */
	assert_int_equal(try_read(RV_ES, 0x10, 4, &v), EXC_GP);
	cpu->s.seg[RV_FS].attrib = 0x13;		/* not present / null */
	assert_int_equal(try_read(RV_FS, 0x10, 4, &v), EXC_GP);
	/* expand-down, 16-bit: valid offsets are limit+1 .. 0xffff */
	cpu->s.seg[RV_SS].attrib = 0x97;
	cpu->s.seg[RV_SS].limit = 0x0fff;
	assert_int_equal(try_read(RV_SS, 0x0ffe, 2, &v), EXC_SS);
	assert_int_equal(try_read(RV_SS, 0x1000, 2, &v), -1);
	assert_int_equal(try_read(RV_SS, 0xfffe, 2, &v), -1);
	assert_int_equal(try_read(RV_SS, 0xffff, 2, &v), EXC_SS);
	cpu->s.seg[RV_SS].attrib = 0x97 | RV_SEG_DB;	/* B: up to 4 GiB */
	assert_int_equal(try_read(RV_SS, 0xffff, 2, &v), -1);
	/* alignment check at CPL 3 */
	cpu->s.seg[RV_DS].attrib = 0x93;
	cpu->s.cr0 |= RV_CR0_AM;
	cpu->s.rflags |= RV_FLAG_AC;
	cpu->s.cpl = 3;
	assert_int_equal(try_read(RV_DS, 0x11, 4, &v), EXC_AC);
	assert_int_equal(try_read(RV_DS, 0x10, 4, &v), -1);
	cpu->s.cpl = 0;
	assert_int_equal(try_read(RV_DS, 0x11, 4, &v), -1);
}

/* Execute bytes at 0x1000 in the current mode, one instruction. */
static int exec1(const uint8_t *b, size_t n)
{
	memcpy(ram + 0x1000, b, n);
	cpu->s.rip = 0x1000;
	return (int)cpu_run(cpu, 1);
}

static void flat32(void)
{
	cpu_reset(cpu);
	cpu->s.cr0 |= RV_CR0_PE;
	for (int i = 0; i < 6; i++) {
		cpu->s.seg[i].base = 0;
		cpu->s.seg[i].limit = 0xffffffff;
		cpu->s.seg[i].attrib = i == RV_CS ? 0xc9b : 0xc93;
	}
	cpu_update_mode(cpu);
}

#define EXEC(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; exec1(b_, sizeof(b_)); })

static void test_alu_flags(void **state)
{
	flat32();
	cpu->s.gpr[RV_RAX] = 0x7fffffff;
	assert_int_equal(EXEC(0x83, 0xc0, 0x01), CPU_EXIT_BUDGET);	/* add eax, 1 */
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x80000000);
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_OF | RV_FLAG_SF | RV_FLAG_AF | RV_FLAG_PF);
	cpu->s.gpr[RV_RAX] = 0;
	EXEC(0x2c, 0x01);						/* sub al, 1 */
	assert_int_equal(cpu->s.gpr[RV_RAX], 0xff);
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_CF | RV_FLAG_SF | RV_FLAG_AF | RV_FLAG_PF);
	EXEC(0x14, 0x00);						/* adc al, 0 with CF=1 */
	assert_int_equal(cpu->s.gpr[RV_RAX], 0);
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_CF | RV_FLAG_ZF | RV_FLAG_AF | RV_FLAG_PF);
	EXEC(0x40);							/* inc eax keeps CF */
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_CF);
	EXEC(0xf5);							/* cmc */
	assert_false(cpu_get_cf(cpu));
	cpu->s.gpr[RV_RCX] = 0x80;
	EXEC(0x38, 0xc1);						/* cmp cl, al (0x80 - 1) */
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_OF | RV_FLAG_AF);
	assert_true(cpu_cond(cpu, 0x0));				/* O */
	assert_true(cpu_cond(cpu, 0xc));				/* L: SF != OF */
	assert_false(cpu_cond(cpu, 0x2));				/* B */
	cpu->s.gpr[RV_RAX] = 0x1234;
	EXEC(0x98);							/* cwde */
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x1234);
	cpu->s.gpr[RV_RAX] = 0x8000;
	EXEC(0x98);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0xffff8000);
	EXEC(0x99);							/* cdq */
	assert_int_equal(cpu->s.gpr[RV_RDX], 0xffffffff);
	/* AH/CH/DH/BH without REX */
	cpu->s.gpr[RV_RBX] = 0x1234;
	EXEC(0x88, 0xfc);						/* mov ah, bh */
	assert_int_equal((cpu->s.gpr[RV_RAX] >> 8) & 0xff, 0x12);
	/* a LOCK-ed add to memory */
	*(uint32_t *)(ram + 0x5000) = 41;
	EXEC(0xf0, 0x83, 0x05, 0x00, 0x50, 0x00, 0x00, 0x01);
	assert_int_equal(*(uint32_t *)(ram + 0x5000), 42);
	/* xchg with memory */
	cpu->s.gpr[RV_RDX] = 7;
	EXEC(0x87, 0x15, 0x00, 0x50, 0x00, 0x00);
	assert_int_equal(*(uint32_t *)(ram + 0x5000), 7);
	assert_int_equal(cpu->s.gpr[RV_RDX], 42);
}

static void test_faulting_insn_keeps_state(void **state)
{
	flat32();
	cpu->s.seg[RV_DS].limit = 0xfff;
	cpu->s.gpr[RV_RSP] = 0x8000;
	cpu->s.gpr[RV_RAX] = 5;
	/* add [0x2000], eax faults (#GP beyond DS limit): no register, flag or RIP change before delivery */
	cpu->s.idtr.limit = 0;		/* delivery will fail further; we only look at the recorded fault */
	memcpy(ram + 0x1000, (const uint8_t[]){ 0x01, 0x05, 0x00, 0x20, 0x00, 0x00 }, 6);
	cpu->s.rip = 0x1000;
	{
		struct insn in;

		cpu_decode(cpu, ram + 0x1000, 15, &in);
		assert_int_equal(run_fn(&in), EXC_GP);
	}
	assert_int_equal(cpu->s.gpr[RV_RAX], 5);
	assert_int_equal(cpu->s.rip, 0x1000);
	/* POP [esp-based] that faults leaves ESP */
	{
		struct insn in;
		static const uint8_t b[] = { 0x8f, 0x05, 0x00, 0x20, 0x00, 0x00 };

		cpu_decode(cpu, b, sizeof(b), &in);
		assert_int_equal(run_fn(&in), EXC_GP);
		assert_int_equal(cpu->s.gpr[RV_RSP], 0x8000);
	}
}

static void test_mode_sizes(void **state)
{
	cpu_reset(cpu);
	assert_int_equal(cpu->mode, MODE_REAL);
	assert_int_equal(cpu->code_size, 2);
	assert_int_equal(cpu->s.gpr[RV_RDX] & 0xffffff00u, cpu->s.gpr[RV_RDX] & 0xffffff00u);
	assert_int_equal(cpu->s.dr6, 0xffff0ff0);
	assert_int_equal(cpu->s.dr7, 0x400);
	flat32();
	assert_int_equal(cpu->mode, MODE_PROT);
	assert_int_equal(cpu->code_size, 4);
	assert_int_equal(cpu->stack_size, 4);
}

/* Instructions that cross a page: both pages are fetched; a missing second page faults with CR2 there. */
static void test_fetch_page_cross(void **state)
{
	memset(ram + 0x30000, 0, 0x5000);
	pt64(0x30000)[0] = 0x31000 | 7;
	pt64(0x31000)[0] = 0x32000 | 7;
	pt64(0x32000)[0] = 0x33000 | 7;
	pt64(0x33000)[0x10] = 0x100000 | 7;		/* 0x10000 -> 0x100000 */
	pt64(0x33000)[0x11] = 0x205000 | 7;		/* 0x11000 -> 0x205000 (not adjacent) */
	paging_state(0, RV_CR4_PAE, RV_EFER_LME | RV_EFER_LMA, 0x30000, 0);
	cpu->s.idtr.limit = 0;	/* any fault ends in a triple fault: we look at CR2 */
	/* mov rax, imm64 split 3 + 7 bytes across the boundary */
	memcpy(ram + 0x100ffd, (const uint8_t[]){ 0x48, 0xb8, 0x11 }, 3);
	memcpy(ram + 0x205000, (const uint8_t[]){ 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xf4 }, 8);
	cpu->s.rip = 0x10ffd;
	assert_int_equal(cpu_run(cpu, 1), CPU_EXIT_BUDGET);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x8877665544332211ull);
	assert_int_equal(cpu->s.rip, 0x11007);
	/* the same with the second page missing: #PF(I? no NXE: 0) with CR2 = 0x11000 */
	pt64(0x33000)[0x11] = 0;
	cpu_tlb_flush_all(cpu);
	cpu->s.rip = 0x10ffd;
	cpu->s.cr2 = 0;
	assert_int_equal(cpu_run(cpu, 1), CPU_EXIT_SHUTDOWN);
	assert_int_equal(cpu->s.cr2, 0x11000);
	/* self-modifying code on the crossing instruction is seen too */
	pt64(0x33000)[0x11] = 0x205000 | 7;
	cpu_tlb_flush_all(cpu);
	cpu->s.idtr.limit = 0;
	ram[0x205000] = 0x99;
	cpu->s.rip = 0x10ffd;
	assert_int_equal(cpu_run(cpu, 1), CPU_EXIT_BUDGET);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x8877665544339911ull);
}

/* Fetching past the CS limit is #GP(0). */
static void test_fetch_cs_limit(void **state)
{
	flat32();
	cpu->s.seg[RV_CS].limit = 0x1001;	/* a 3-byte instruction at 0x1000 runs past it */
	cpu->s.idtr.limit = 0;
	memcpy(ram + 0x1000, (const uint8_t[]){ 0x83, 0xc0, 0x01 }, 3);
	cpu->s.rip = 0x1000;
	cpu->s.gpr[RV_RAX] = 0;
	assert_int_equal(cpu_run(cpu, 1), CPU_EXIT_SHUTDOWN);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0);
	cpu_reset(cpu);
	flat32();
	cpu->s.seg[RV_CS].limit = 0x1002;
	cpu->s.rip = 0x1000;
	assert_int_equal(cpu_run(cpu, 1), CPU_EXIT_BUDGET);
	assert_int_equal(cpu->s.gpr[RV_RAX], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_addressing),
		cmocka_unit_test(test_decode_prefixes),
		cmocka_unit_test(test_decode_immediates),
		cmocka_unit_test(test_decode_faults),
		cmocka_unit_test(test_paging_32bit),
		cmocka_unit_test(test_paging_pae),
		cmocka_unit_test(test_paging_4level),
		cmocka_unit_test(test_segmentation),
		cmocka_unit_test(test_alu_flags),
		cmocka_unit_test(test_faulting_insn_keeps_state),
		cmocka_unit_test(test_mode_sizes),
		cmocka_unit_test(test_fetch_page_cross),
		cmocka_unit_test(test_fetch_cs_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
