/* Soft side of the oracle: run one instruction on ringvm's software CPU (src/cpu alone, no VM). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#ifdef ORACLE_NO_SOFT

/* libringvm-cpu.a has no cpu_run() yet: the harness runs the native side only. */
bool soft_available(void) { return false; }
int soft_init(bool translate) { return -1; }
bool soft_has_feature(enum oracle_feature f) { return false; }
void soft_load(const uint8_t *code, unsigned len, uint64_t addr, bool compat32, bool fpu) { }
void soft_run(const struct oracle_case *in, struct oracle_result *out)
{
	memset(out, 0, sizeof(*out));
	out->error = "no soft CPU";
}

#else

#include "cpu/cpu.h"
#include "jit/jit.h"

/*
 * Guest-physical layout (identity-mapped, so the same numbers as natively):
 *   0x0000-0xffff   system: page tables, GDT, exception stubs, IDT, TSS
 *   ORACLE_CODE     code page (instruction, then HLT)
 *   ORACLE_DATA     data buffer
 * Exceptions go through an IDT whose handler for vector v is a HLT at
 * SYS_STUBS + 16*v: the HLT exit's RIP tells the vector, and the handler
 * runs with the GPRs as at the faulting instruction.
 */
#define SYS_SIZE   0x10000u
#define SYS_PML4   0x1000u
#define SYS_GDT    0x2000u
#define SYS_STUBS  0x3000u
#define SYS_IDT    0x4000u
#define SYS_TSS    0x5000u
#define SYS_PDPT   0x6000u
#define SYS_PD     0x7000u

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18
#define SEL_TSS    0x20

static struct cpu *vcpu;
static struct cpu_memmap memmap;
static uint8_t *sys_mem, *code_mem, *data_mem;
static uint64_t insn_end_addr;
static bool in_compat;
static uint64_t insn_addr_cur;
static bool fpu_on;
/* With --translate: the translator's state, attached to each fresh vCPU */
static struct jit_vm *jvm;
static struct jit_vcpu *jvcpu;

bool soft_available(void)
{
	return true;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void soft_build_system(void)
{
	uint64_t *pml4 = (uint64_t *)(sys_mem + SYS_PML4);
	uint64_t *pdpt = (uint64_t *)(sys_mem + SYS_PDPT);
	uint64_t *pd = (uint64_t *)(sys_mem + SYS_PD);
	uint8_t *gdt = sys_mem + SYS_GDT;
	unsigned i;

	/* 0-1 GiB identity with 2 MiB pages; present, writable, user, accessed, dirty. */
	pml4[0] = SYS_PDPT | 0x67;
	pdpt[0] = SYS_PD | 0x67;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0xe7;

	put64(gdt + 0x00, 0);
	put64(gdt + SEL_CODE64, 0x00af9b000000ffffull);
	put64(gdt + SEL_DATA, 0x00cf93000000ffffull);
	put64(gdt + SEL_CODE32, 0x00cf9b000000ffffull);
	/* 64-bit TSS descriptor (16 bytes), busy */
	put64(gdt + SEL_TSS, 0x00008b0000000067ull | ((uint64_t)SYS_TSS << 16));
	put64(gdt + SEL_TSS + 8, 0);

	for (i = 0; i < 256; i++) {
		uint64_t h = SYS_STUBS + 16 * i;
		uint8_t *g = sys_mem + SYS_IDT + 16 * i;
		/* 64-bit interrupt gate, DPL 3, present */
		uint64_t lo = (h & 0xffff) | ((uint64_t)SEL_CODE64 << 16) |
			      (0xeeull << 40) | (((h >> 16) & 0xffff) << 48);
		put64(g, lo);
		put64(g + 8, h >> 32);
		memset(sys_mem + h, 0xf4, 16);
	}
	/* TSS: RSP0 on the data buffer's stack part, in case a form runs at CPL 3 later */
	put64(sys_mem + SYS_TSS + 4, ORACLE_STACK);
}

static void soft_seg(struct rv_segment *s, uint16_t sel, uint16_t attrib)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = 0xffffffff;
	s->base = 0;
}

/* Long mode at CPL 0, flat segments, 64-bit (or compatibility-mode) CS. */
static void soft_set_mode(bool compat32)
{
	struct cpu_state *s = &vcpu->s;
	int i;

	s->cr0 = RV_CR0_PE | RV_CR0_MP | RV_CR0_ET | RV_CR0_NE | RV_CR0_PG;
	s->cr4 = RV_CR4_PAE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT;
	s->efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE;
	s->cr3 = SYS_PML4;
	for (i = 0; i < 6; i++)
		soft_seg(&s->seg[i], SEL_DATA, 0x3 | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G);
	if (compat32)
		soft_seg(&s->seg[RV_CS], SEL_CODE32, 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G);
	else
		soft_seg(&s->seg[RV_CS], SEL_CODE64, 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_L | RV_SEG_G);
	s->seg[RV_LDTR].selector = 0;
	s->seg[RV_LDTR].attrib = 0;
	s->seg[RV_LDTR].limit = 0;
	s->seg[RV_LDTR].base = 0;
	s->seg[RV_TR].selector = SEL_TSS;
	s->seg[RV_TR].attrib = 0xb | RV_SEG_P;
	s->seg[RV_TR].limit = 0x67;
	s->seg[RV_TR].base = SYS_TSS;
	s->gdtr.base = SYS_GDT;
	s->gdtr.limit = 0x2f;
	s->idtr.base = SYS_IDT;
	s->idtr.limit = 0xfff;
	s->cpl = 0;
	cpu_update_mode(vcpu);
}

static void *soft_alloc(size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

/* A fresh vCPU; with the translator, one attached to it. */
static int soft_new_vcpu(void)
{
	cpu_init(vcpu, &memmap);
	if (jvm && jit_vcpu_create(jvm, vcpu, &jvcpu))
		return -1;
	return 0;
}

int soft_init(bool translate)
{
	sys_mem = soft_alloc(SYS_SIZE);
	code_mem = soft_alloc(ORACLE_CODE_SIZE);
	data_mem = soft_alloc(ORACLE_DATA_SIZE);
	if (translate) {
		/* translated code addresses the vCPU absolutely: low memory (jit.h) */
		vcpu = jit_alloc_low(sizeof(*vcpu));
		if (jit_vm_create(&jvm, 0))
			return -1;
	} else {
		vcpu = soft_alloc(sizeof(*vcpu));
	}
	if (!sys_mem || !code_mem || !data_mem || !vcpu)
		return -1;
	memmap.count = 3;
	memmap.slot[0] = (struct cpu_mem_slot){ 0, SYS_SIZE, sys_mem, CPU_SLOT_RAM };
	memmap.slot[1] = (struct cpu_mem_slot){ ORACLE_CODE, ORACLE_CODE_SIZE, code_mem, CPU_SLOT_RAM };
	memmap.slot[2] = (struct cpu_mem_slot){ ORACLE_DATA, ORACLE_DATA_SIZE, data_mem, CPU_SLOT_RAM };
	memmap.generation = 1;
	soft_build_system();
	cpu_optable_init();
	if (soft_new_vcpu())
		return -1;
	soft_set_mode(false);
	return 0;
}

bool soft_has_feature(enum oracle_feature f)
{
	uint32_t l1[4], l7[4], l81[4];

	cpu_cpuid(vcpu, 1, 0, l1);
	cpu_cpuid(vcpu, 7, 0, l7);
	cpu_cpuid(vcpu, 0x80000001, 0, l81);
	switch (f) {
	case FEAT_NONE: return true;
	case FEAT_POPCNT: return l1[2] & (1u << 23);
	case FEAT_LZCNT: return l81[2] & (1u << 5);
	case FEAT_BMI1: return l7[1] & (1u << 3);
	case FEAT_BMI2: return l7[1] & (1u << 8);
	case FEAT_MOVBE: return l1[2] & (1u << 22);
	case FEAT_CX16: return l1[2] & (1u << 13);
	case FEAT_ADX: return l7[1] & (1u << 19);
	case FEAT_CMOV: return l1[3] & (1u << 15);
	case FEAT_SSE: return l1[3] & (1u << 25);
	case FEAT_SSE2: return l1[3] & (1u << 26);
	case FEAT_SSE3: return l1[2] & (1u << 0);
	case FEAT_SSSE3: return l1[2] & (1u << 9);
	case FEAT_SSE41: return l1[2] & (1u << 19);
	case FEAT_SSE42: return l1[2] & (1u << 20);
	case FEAT_NR: break;
	}
	return false;
}

void soft_load(const uint8_t *code, unsigned len, uint64_t addr, bool compat32, bool fpu)
{
	uint64_t off = addr - ORACLE_CODE;

	memset(code_mem, 0xf4, ORACLE_CODE_SIZE);
	memcpy(code_mem + off, code, len);
	insn_addr_cur = addr;
	insn_end_addr = addr + len;
	in_compat = compat32;
	fpu_on = fpu;
	/* A fresh vCPU per form: no stale decode cache or TLB for the rewritten code page. */
	memmap.generation++;
	jit_vcpu_destroy(jvcpu);
	jvcpu = NULL;
	cpu_fini(vcpu);
	memset(vcpu, 0, sizeof(*vcpu));
	if (soft_new_vcpu())
		abort();
	soft_set_mode(compat32);
}

static bool has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

void soft_run(const struct oracle_case *in, struct oracle_result *out)
{
	struct cpu_state *s = &vcpu->s;
	enum cpu_exit why;
	uint64_t rip;

	memcpy(data_mem, in->win, ORACLE_WIN);
	memcpy(s->gpr, in->r.gpr, sizeof(s->gpr));
	s->rip = insn_addr_cur;
	/* Every case from the same system state, whatever the previous case changed. */
	soft_set_mode(in_compat);
	/* IF set as natively at CPL 3 (PUSHF shows it); no interrupt is ever pending. */
	cpu_set_rflags(vcpu, (in->r.rflags & F_ALL) | 0x202);
	if (fpu_on)
		cpu_fxrstor_image(vcpu, in->fx);
	vcpu->halted = false;
	vcpu->exc_vector = -1;
	vcpu->exc_nesting = -1;
	vcpu->pending_irq = -1;
	vcpu->shadow = 0;

	out->error = NULL;
	out->vector = -1;
	out->fault_rip = 0;
	/* the translator runs only without an instruction budget; the code ends with HLT */
	why = cpu_run(vcpu, jvm ? 0 : 100000);
	memcpy(out->r.gpr, s->gpr, sizeof(out->r.gpr));
	out->r.rflags = cpu_get_rflags(vcpu);
	memcpy(out->win, data_mem, ORACLE_WIN);
	if (fpu_on)
		cpu_fxsave_image(vcpu, out->fx);
	rip = s->rip;
	if (why != CPU_EXIT_HLT) {
		static char buf[96];
		snprintf(buf, sizeof(buf), "soft CPU stopped with exit %d at rip %#llx (gpa %#llx, rsp %#llx)",
			 (int)why, (unsigned long long)rip, (unsigned long long)vcpu->exit.gpa,
			 (unsigned long long)s->gpr[RSP]);
		out->error = buf;
		return;
	}
	if (rip == insn_end_addr + 1)
		return;
	if (rip > SYS_STUBS && rip <= SYS_STUBS + 256 * 16 && (rip - SYS_STUBS - 1) % 16 == 0) {
		/* Handler entry: frame is [error code,] RIP, CS, RFLAGS, RSP, SS. */
		uint64_t sp = s->gpr[RSP] - ORACLE_DATA, frip = 0, frsp = 0, fflags = 0;
		int v = (int)((rip - SYS_STUBS - 1) / 16);
		if (has_error_code(v))
			sp += 8;
		if (sp + 40 <= ORACLE_DATA_SIZE) {
			memcpy(&frip, data_mem + sp, 8);
			memcpy(&fflags, data_mem + sp + 16, 8);
			memcpy(&frsp, data_mem + sp + 24, 8);
		}
		out->vector = v;
		out->fault_rip = frip;
		out->r.gpr[RSP] = frsp;
		out->r.rflags = fflags;
		return;
	}
	{
		static char buf[96];
		snprintf(buf, sizeof(buf), "soft CPU halted at unexpected rip %#llx (expected %#llx)",
			 (unsigned long long)rip, (unsigned long long)insn_end_addr + 1);
		out->error = buf;
	}
}

#endif
