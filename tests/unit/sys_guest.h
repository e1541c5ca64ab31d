/* A tiny guest for the system tests (test_check.c, test_sys.c): RAM, page tables, GDT, IDT, TSS, long-mode state. */
#ifndef RV_TESTS_SYS_GUEST_H
#define RV_TESTS_SYS_GUEST_H

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ringvm/ringvm.h"

#define G_RAM_SIZE (4u << 20)
#define G_PML4  0x1000
#define G_PDPT  0x2000
#define G_PD    0x3000
#define G_GDT   0x5000
#define G_IDT   0x6000
#define G_TSS   0x7000
#define G_CODE  0x8000
#define G_HAND  0x9000		/* handlers */
#define G_UCODE 0xa000		/* user code */
#define G_DATA  0xc000		/* scratch data */
#define G_STACK 0x20000		/* kernel stack top */
#define G_RSP0  0x30000		/* TSS RSP0 */
#define G_IST1  0x38000		/* TSS IST1 */
#define G_USTACK 0x40000	/* user stack top */

/* GDT selectors */
#define SEL_CODE64  0x08
#define SEL_DATA    0x10
#define SEL_CODE32  0x18
#define SEL_UDATA   0x23	/* 0x20 | 3 */
#define SEL_UCODE64 0x2b	/* 0x28 | 3 */
#define SEL_TSS     0x30
#define SEL_DATA_NP 0x40	/* not present data */
#define SEL_CODE_XO 0x48	/* execute-only code */
#define SEL_UCODE32 0x53	/* 0x50 | 3: compat-mode user code (STAR base for SYSRET is 0x48) */

struct guest {
	struct rv_vm *vm;
	struct rv_vcpu *vcpu;
	uint8_t *ram;
	struct rv_exit exit;
};

static inline void g_put64(struct guest *g, uint64_t gpa, uint64_t v) { memcpy(g->ram + gpa, &v, 8); }
static inline void g_put32(struct guest *g, uint64_t gpa, uint32_t v) { memcpy(g->ram + gpa, &v, 4); }
static inline uint64_t g_get64(struct guest *g, uint64_t gpa) { uint64_t v; memcpy(&v, g->ram + gpa, 8); return v; }
static inline void g_code(struct guest *g, uint64_t gpa, const void *bytes, size_t n) { memcpy(g->ram + gpa, bytes, n); }

/* A 64-bit interrupt gate (type 14) or trap gate (15) for vector v. */
static inline void g_gate64(struct guest *g, unsigned v, uint64_t target, unsigned dpl, unsigned ist, unsigned type)
{
	uint64_t lo = (target & 0xffff) | ((uint64_t)SEL_CODE64 << 16) | ((uint64_t)ist << 32) |
		      ((uint64_t)(0x80 | (dpl << 5) | type) << 40) | (((target >> 16) & 0xffff) << 48);
	g_put64(g, G_IDT + v * 16, lo);
	g_put64(g, G_IDT + v * 16 + 8, target >> 32);
}

static inline void g_setup_tables(struct guest *g)
{
	/* identity map of the first 4 MiB with 2 MiB pages, user-accessible */
	g_put64(g, G_PML4, G_PDPT | 7);
	g_put64(g, G_PDPT, G_PD | 7);
	g_put64(g, G_PD, 0x000000 | 0x87);
	g_put64(g, G_PD + 8, 0x200000 | 0x87);

	g_put64(g, G_GDT + 0x00, 0);
	g_put64(g, G_GDT + 0x08, 0x00af9b000000ffffull);	/* code64 DPL0 */
	g_put64(g, G_GDT + 0x10, 0x00cf93000000ffffull);	/* data DPL0 */
	g_put64(g, G_GDT + 0x18, 0x00cf9b000000ffffull);	/* code32 DPL0 */
	g_put64(g, G_GDT + 0x20, 0x00cff3000000ffffull);	/* data DPL3 */
	g_put64(g, G_GDT + 0x28, 0x00affb000000ffffull);	/* code64 DPL3 */
	/* 64-bit TSS at G_TSS, limit 0x67, available */
	g_put64(g, G_GDT + 0x30, 0x0000890000000067ull | ((uint64_t)G_TSS << 16));
	g_put64(g, G_GDT + 0x38, 0);
	g_put64(g, G_GDT + 0x40, 0x00cf13000000ffffull);	/* data DPL0, not present */
	g_put64(g, G_GDT + 0x48, 0x00cf99000000ffffull);	/* execute-only code32 */
	g_put64(g, G_GDT + 0x50, 0x00cffb000000ffffull);	/* code32 DPL3 */
	g_put64(g, G_GDT + 0x58, 0x00cff3000000ffffull);	/* data DPL3 (SYSRET SS = base + 8) */

	memset(g->ram + G_IDT, 0, 0x1000);
	memset(g->ram + G_TSS, 0, 0x68);
	g_put64(g, G_TSS + 4, G_RSP0);
	g_put64(g, G_TSS + 36, G_IST1);
	g_put32(g, G_TSS + 0x64, 0x68u << 16);	/* I/O bitmap base past the limit: no bitmap */
}

static inline struct rv_segment g_seg(uint16_t sel, uint16_t attrib)
{
	struct rv_segment s = { .selector = sel, .attrib = attrib, .limit = 0xffffffff, .base = 0 };
	return s;
}

/* A consistent 64-bit long-mode state at CPL 0: RIP = G_CODE, RSP = G_STACK. */
static inline void g_longmode_state(struct rv_sregs *s, struct rv_regs *r)
{
	memset(s, 0, sizeof(*s));
	memset(r, 0, sizeof(*r));
	s->seg[RV_CS] = g_seg(SEL_CODE64, 0xa9b);
	s->seg[RV_SS] = g_seg(SEL_DATA, 0xc93);
	s->seg[RV_DS] = s->seg[RV_ES] = s->seg[RV_FS] = s->seg[RV_GS] = s->seg[RV_SS];
	s->seg[RV_TR] = (struct rv_segment){ .selector = SEL_TSS, .attrib = 0x8b, .limit = 0x67, .base = G_TSS };
	s->seg[RV_LDTR] = (struct rv_segment){ .selector = 0, .attrib = 0, .limit = 0, .base = 0 };
	s->gdtr = (struct rv_dtable){ .base = G_GDT, .limit = 0x5f };
	s->idtr = (struct rv_dtable){ .base = G_IDT, .limit = 0xfff };
	s->cr0 = RV_CR0_PE | RV_CR0_MP | RV_CR0_ET | RV_CR0_NE | RV_CR0_WP | RV_CR0_PG;
	s->cr3 = G_PML4;
	s->cr4 = RV_CR4_PAE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT;
	s->efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE | RV_EFER_SCE;
	s->apic_base = 0xfee00900;
	r->rip = G_CODE;
	r->rflags = RV_FLAG_FIXED1;
	r->gpr[RV_RSP] = G_STACK;
}

static inline int g_create(struct guest *g)
{
	struct rv_vm_config cfg = test_vm_config();

	memset(g, 0, sizeof(*g));
	g->ram = aligned_alloc(4096, G_RAM_SIZE);
	if (!g->ram)
		return -1;
	memset(g->ram, 0xf4, G_RAM_SIZE);	/* HLT everywhere: stray jumps stop */
	if (rv_vm_create(&g->vm, &cfg))
		return -1;
	if (rv_vm_map(g->vm, 0, G_RAM_SIZE, RV_MEM_RAM, g->ram))
		return -1;
	if (rv_vcpu_create(g->vm, 0, &g->vcpu))
		return -1;
	g_setup_tables(g);
	return 0;
}

static inline int g_enter_longmode(struct guest *g)
{
	struct rv_sregs s;
	struct rv_regs r;
	g_longmode_state(&s, &r);
	if (rv_vcpu_set_sregs(g->vcpu, &s) || rv_vcpu_set_regs(g->vcpu, &r))
		return -1;
	return 0;
}

static inline void g_destroy(struct guest *g)
{
	rv_vcpu_destroy(g->vcpu);
	rv_vm_destroy(g->vm);
	free(g->ram);
}

#endif
