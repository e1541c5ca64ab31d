/*
 * String instructions MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE.
 *
 * A repeated string instruction is interruptible between elements (SDM
 * vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"): RCX/RSI/RDI are committed after
 * every element (or every host-pointer batch), so a fault mid-way leaves
 * them describing the remaining work with RIP still at the instruction.
 * One execution does a bounded amount of work and then leaves RIP at the
 * instruction (next_rip = rip) so the run loop can take interrupts and
 * exits; the next execution continues. After an I/O or MMIO exit the
 * re-execution (replay) does exactly one element so that the completed
 * accesses it replays belong to that element.
 */
#include <string.h>

#include "cpu/exec_int2.h"
#include "cpu/svm.h"

#define STR_BATCH_ELEMS 1024	/* elements per execution on the slow path */
#define STR_BATCH_BYTES 65536	/* bytes per execution on the fast path */

struct strctx {
	unsigned size;		/* element size */
	unsigned asz;		/* address size */
	uint64_t am;		/* address mask */
	int64_t delta;		/* +size or -size by DF */
	bool rep;
	uint64_t count;		/* elements left (1 without REP) */
};

static bool str_begin(struct cpu *cpu, const struct insn *in, struct strctx *c)
{
	c->size = in->opsize;
	c->asz = in->addrsize;
	c->am = size_mask(in->addrsize);
	c->delta = (cpu->s.rflags & RV_FLAG_DF) ? -(int64_t)c->size : (int64_t)c->size;
	c->rep = (in->prefix & (PFX_REP | PFX_REPNE)) != 0;
	c->count = c->rep ? cpu->s.gpr[RV_RCX] & c->am : 1;
	return c->count != 0;
}

static inline uint64_t str_si(const struct cpu *cpu, const struct strctx *c)
{
	return cpu->s.gpr[RV_RSI] & c->am;
}

static inline uint64_t str_di(const struct cpu *cpu, const struct strctx *c)
{
	return cpu->s.gpr[RV_RDI] & c->am;
}

/* Advance the index register `reg` by n elements (address-size arithmetic) */
static inline void str_adv(struct cpu *cpu, const struct strctx *c, unsigned reg, uint64_t n)
{
	cpu_reg_set(cpu, reg, c->asz, (cpu->s.gpr[reg] + (uint64_t)c->delta * n) & c->am);
}

/* After elements are done: count down RCX; returns the elements still left. */
static inline uint64_t str_done(struct cpu *cpu, struct strctx *c, uint64_t n)
{
	c->count -= n;
	if (c->rep)
		cpu_reg_set(cpu, RV_RCX, c->asz, c->count);
	return c->count;
}

/* Elements this execution may do on the slow path. */
static inline uint64_t str_budget(const struct cpu *cpu, const struct strctx *c)
{
	if (cpu->replay.count)
		return 1;
	return c->count < STR_BATCH_ELEMS ? c->count : STR_BATCH_ELEMS;
}

/* Leave RIP at the instruction if work remains: the next execution continues. */
static inline void str_continue(struct cpu *cpu, const struct strctx *c)
{
	if (c->count)
		cpu->next_rip = cpu->s.rip;
}

/*
 * Host pointer for reading `len` bytes at seg:off within one page of RAM or
 * ROM, with the segment and paging checks of a read (faults as a read
 * would); NULL if the range is not plain memory or crosses a page.
 */
static const uint8_t *str_read_ptr(struct cpu *cpu, int seg, uint64_t off, unsigned len)
{
	uint64_t lin = cpu_linear(cpu, seg, off, len, ACC_READ);
	const struct cpu_mem_slot *s;
	uint64_t pa;

	if ((lin & 0xfff) + len > 4096)
		return NULL;
	pa = cpu_translate(cpu, lin, ACC_READ);
	s = cpu_memmap_find(cpu->mem, pa);
	if (!s || pa + len > s->gpa + s->size)
		return NULL;
	return s->host + (pa - s->gpa);
}

/*
 * Elements from `off` that fit the page in the direction of the copy and
 * the address-size range (no wrap inside a batch). Returns the element
 * count and the lowest offset of the range in *lo.
 */
static uint64_t str_span(const struct strctx *c, uint64_t off, uint64_t seg_base, uint64_t *lo)
{
	uint64_t lin = seg_base + off, n;

	if (c->delta > 0) {
		n = (4096 - (lin & 0xfff)) / c->size;
		if (n > (c->am - off) / c->size + 1)
			n = (c->am - off) / c->size + 1;
		if (n > c->count)
			n = c->count;
		*lo = off;
	} else {
		n = ((lin & 0xfff) + c->size) / c->size;
		if (n > off / c->size + 1)
			n = off / c->size + 1;
		if (n > c->count)
			n = c->count;
		*lo = off - (n - 1) * c->size;
	}
	return n;
}

static inline uint64_t str_seg_base(const struct cpu *cpu, int seg)
{
	if (cpu_64bit(cpu) && seg != RV_FS && seg != RV_GS)
		return 0;
	return cpu->s.seg[seg].base;
}

/* REP STOS fast path: one page-bounded batch through a host pointer; false to use the slow path. */
static bool stos_fast(struct cpu *cpu, struct strctx *c, uint64_t val)
{
	uint64_t di = str_di(cpu, c), lo, n;
	uint8_t *p;

	/* Enabled DR7 breakpoints need the per-element path, which checks data watches exactly. */
	if (c->count < 2 || cpu->replay.count || (cpu->s.dr7 & 0xff))
		return false;
	n = str_span(c, di, str_seg_base(cpu, RV_ES), &lo);
	if (n < 2)
		return false;
	p = cpu_rmw_ptr(cpu, RV_ES, lo, (unsigned)(n * c->size));
	if (!p)
		return false;
	if (c->size == 1) {
		memset(p, (int)(val & 0xff), n);
	} else {
		for (uint64_t i = 0; i < n; i++)
			memcpy(p + i * c->size, &val, c->size);
	}
	str_adv(cpu, c, RV_RDI, n);
	str_done(cpu, c, n);
	return true;
}

/*
 * REP MOVS fast path. memmove equals the element-by-element copy unless
 * the destination lies inside the source ahead of the copy direction
 * (then x86 replicates the leading elements); that case takes the slow path.
 */
static bool movs_fast(struct cpu *cpu, const struct insn *in, struct strctx *c)
{
	uint64_t si = str_si(cpu, c), di = str_di(cpu, c), slo, dlo, n, n2, len;
	const uint8_t *src;
	uint8_t *dst;

	/* Enabled DR7 breakpoints need the per-element path, which checks data watches exactly. */
	if (c->count < 2 || cpu->replay.count || (cpu->s.dr7 & 0xff))
		return false;
	n = str_span(c, si, str_seg_base(cpu, in->seg), &slo);
	n2 = str_span(c, di, str_seg_base(cpu, RV_ES), &dlo);
	if (n2 < n)
		n = n2;
	if (n < 2)
		return false;
	if (c->delta < 0) {
		slo = si - (n - 1) * c->size;
		dlo = di - (n - 1) * c->size;
	}
	len = n * c->size;
	src = str_read_ptr(cpu, in->seg, slo, (unsigned)len);
	if (!src)
		return false;
	dst = cpu_rmw_ptr(cpu, RV_ES, dlo, (unsigned)len);
	if (!dst)
		return false;
	if (c->delta > 0 ? (dst > src && dst < src + len) : (dst < src && dst + len > src))
		return false;
	memmove(dst, src, len);
	str_adv(cpu, c, RV_RSI, n);
	str_adv(cpu, c, RV_RDI, n);
	str_done(cpu, c, n);
	return true;
}

/* A4/A5 MOVS */
void int2_movs(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint64_t budget;

	if (!str_begin(cpu, in, &c))
		return;
	if (c.rep) {
		uint64_t bytes = 0;

		while (c.count && bytes < STR_BATCH_BYTES && movs_fast(cpu, in, &c))
			bytes += 4096;
		if (bytes) {
			str_continue(cpu, &c);
			return;
		}
	}
	budget = str_budget(cpu, &c);
	while (budget--) {
		uint64_t v = cpu_read(cpu, in->seg, str_si(cpu, &c), c.size);

		cpu_write(cpu, RV_ES, str_di(cpu, &c), v, c.size);
		str_adv(cpu, &c, RV_RSI, 1);
		str_adv(cpu, &c, RV_RDI, 1);
		str_done(cpu, &c, 1);
	}
	str_continue(cpu, &c);
}

/* AA/AB STOS */
void int2_stos(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint64_t budget, val;

	if (!str_begin(cpu, in, &c))
		return;
	val = cpu->s.gpr[RV_RAX] & size_mask(c.size);
	if (c.rep) {
		uint64_t bytes = 0;

		while (c.count && bytes < STR_BATCH_BYTES && stos_fast(cpu, &c, val))
			bytes += 4096;
		if (bytes) {
			str_continue(cpu, &c);
			return;
		}
	}
	budget = str_budget(cpu, &c);
	while (budget--) {
		cpu_write(cpu, RV_ES, str_di(cpu, &c), val, c.size);
		str_adv(cpu, &c, RV_RDI, 1);
		str_done(cpu, &c, 1);
	}
	str_continue(cpu, &c);
}

/* AC/AD LODS */
void int2_lods(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint64_t budget;

	if (!str_begin(cpu, in, &c))
		return;
	budget = str_budget(cpu, &c);
	while (budget--) {
		uint64_t v = cpu_read(cpu, in->seg, str_si(cpu, &c), c.size);

		cpu_reg_set(cpu, RV_RAX, c.size, v);
		str_adv(cpu, &c, RV_RSI, 1);
		str_done(cpu, &c, 1);
	}
	str_continue(cpu, &c);
}

/* Whether a REPE/REPNE loop goes on after an element that compared a with b. */
static inline bool str_cond(const struct insn *in, uint64_t a, uint64_t b)
{
	if (in->prefix & PFX_REPNE)
		return a != b;
	return a == b;
}

/* A6/A7 CMPS: compares [seg:rSI] with ES:[rDI] */
void int2_cmps(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint64_t budget, m;

	if (!str_begin(cpu, in, &c))
		return;
	m = size_mask(c.size);
	budget = str_budget(cpu, &c);
	while (budget--) {
		uint64_t a = cpu_read(cpu, in->seg, str_si(cpu, &c), c.size);
		uint64_t b = cpu_read(cpu, RV_ES, str_di(cpu, &c), c.size);

		str_adv(cpu, &c, RV_RSI, 1);
		str_adv(cpu, &c, RV_RDI, 1);
		str_done(cpu, &c, 1);
		cpu_set_lazy(cpu, CC_SUB, c.size, (a - b) & m, a, b);
		if (c.rep && !str_cond(in, a, b)) {
			c.count = 0;
			break;
		}
	}
	str_continue(cpu, &c);
}

/* AE/AF SCAS: compares rAX with ES:[rDI] */
void int2_scas(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint64_t budget, m, a;

	if (!str_begin(cpu, in, &c))
		return;
	m = size_mask(c.size);
	a = cpu->s.gpr[RV_RAX] & m;
	budget = str_budget(cpu, &c);
	while (budget--) {
		uint64_t b = cpu_read(cpu, RV_ES, str_di(cpu, &c), c.size);

		str_adv(cpu, &c, RV_RDI, 1);
		str_done(cpu, &c, 1);
		cpu_set_lazy(cpu, CC_SUB, c.size, (a - b) & m, a, b);
		if (c.rep && !str_cond(in, a, b)) {
			c.count = 0;
			break;
		}
	}
	str_continue(cpu, &c);
}

/* 6C/6D INS: port DX -> ES:[rDI]; one element per execution (each is a VMM exit). */
void int2_ins(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint16_t port = (uint16_t)cpu->s.gpr[RV_RDX];
	uint64_t di, v;

	if (!str_begin(cpu, in, &c))
		return;
	cpu_check_io(cpu, port, c.size);
	svm_icpt_io(cpu, in, port, c.size, true, true);
	di = str_di(cpu, &c);
	/* a faulting destination must not consume the port read */
	cpu_check_write(cpu, RV_ES, di, c.size);
	v = cpu_io_in(cpu, port, c.size);
	cpu_write(cpu, RV_ES, di, v, c.size);
	str_adv(cpu, &c, RV_RDI, 1);
	str_done(cpu, &c, 1);
	str_continue(cpu, &c);
}

/* 6E/6F OUTS: [seg:rSI] -> port DX; one element per execution. */
void int2_outs(struct cpu *cpu, const struct insn *in)
{
	struct strctx c;
	uint16_t port = (uint16_t)cpu->s.gpr[RV_RDX];
	uint64_t v;

	if (!str_begin(cpu, in, &c))
		return;
	cpu_check_io(cpu, port, c.size);
	svm_icpt_io(cpu, in, port, c.size, false, true);
	v = cpu_read(cpu, in->seg, str_si(cpu, &c), c.size);
	cpu_io_out(cpu, port, c.size, (uint32_t)v);
	str_adv(cpu, &c, RV_RSI, 1);
	str_done(cpu, &c, 1);
	str_continue(cpu, &c);
}
