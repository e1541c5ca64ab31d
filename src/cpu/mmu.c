/*
 * Memory access from instructions: segmentation (limits, rights), the TLB
 * fast path, the slow path (page crossing, ROM, MMIO holes), port I/O, and
 * guest-physical access. MMIO and port I/O exit to the VMM and are replayed
 * when the instruction runs again (see struct cpu_replay).
 */
#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

const struct cpu_mem_slot *cpu_memmap_find(const struct cpu_memmap *map, uint64_t gpa)
{
	for (unsigned i = 0; i < map->count; i++) {
		const struct cpu_mem_slot *s = &map->slot[i];

		if (gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Segmentation (SDM vol. 3, 5.3 limit checking, 5.4 type checking).   */

static _Noreturn void seg_fault(struct cpu *cpu, int seg)
{
	cpu_raise(cpu, seg == RV_SS ? EXC_SS : EXC_GP, 0);
}

uint64_t cpu_linear(struct cpu *cpu, int seg, uint64_t off, unsigned size, int access)
{
	const struct rv_segment *s = &cpu->s.seg[seg];
	uint64_t last = off + size - 1;
	unsigned kind = access & 3, type;

	if (likely(cpu->mode == MODE_LONG64)) {
		/* 64-bit mode: only FS and GS have bases, no limits; addresses must be canonical */
		uint64_t lin = off + (seg == RV_FS || seg == RV_GS ? s->base : 0);

		if (unlikely(!canonical(lin) || !canonical(lin + size - 1)))
			seg_fault(cpu, seg);
		return lin;
	}
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_VM86) {
		if (unlikely(last > s->limit))
			seg_fault(cpu, seg);
		return (uint32_t)(s->base + off);
	}
	/* Protected and compatibility mode; an unusable (null) segment has P clear */
	if (unlikely(!(s->attrib & RV_SEG_P)))
		seg_fault(cpu, seg);
	type = RV_SEG_TYPE(s->attrib);
	if (type & 8) {
		/* code: never writable, readable only with the R bit */
		if (unlikely(kind == ACC_WRITE || (kind == ACC_READ && !(type & 2))))
			seg_fault(cpu, seg);
		if (unlikely(last > s->limit))
			seg_fault(cpu, seg);
	} else {
		if (unlikely(kind == ACC_WRITE && !(type & 2)))
			seg_fault(cpu, seg);
		if (unlikely(type & 4)) {
			/* expand-down: valid offsets are limit+1 .. 0xffff or 0xffffffff (B bit) */
			uint64_t upper = (s->attrib & RV_SEG_DB) ? 0xffffffffull : 0xffffull;

			if (off <= s->limit || last > upper)
				seg_fault(cpu, seg);
		} else if (unlikely(last > s->limit)) {
			seg_fault(cpu, seg);
		}
	}
	return (uint32_t)(s->base + off);
}

/* ------------------------------------------------------------------ */
/* Alignment check (SDM 6.15, #AC): CR0.AM, RFLAGS.AC, CPL 3.          */

static void align_check(struct cpu *cpu, uint64_t lin, unsigned size, int acc)
{
	if ((size & (size - 1)) || size > 8 || !(lin & (size - 1)))
		return;
	if (cpu->s.cpl == 3 && !(acc & ACC_IMPLICIT_SV) && (cpu->s.cr0 & RV_CR0_AM) &&
	    (cpu->s.rflags & RV_FLAG_AC))
		cpu_raise(cpu, EXC_AC, 0);
}

/* ------------------------------------------------------------------ */
/* MMIO: exit to the VMM, or consume the value it already supplied.    */

static void mmio_access(struct cpu *cpu, uint64_t pa, uint8_t *buf, unsigned len, bool write)
{
	while (len) {
		unsigned n = len > 8 ? 8 : len;

		if (cpu->replay.next < cpu->replay.count) {
			uint64_t v = cpu->replay.value[cpu->replay.next++];

			if (!write)
				memcpy(buf, &v, n);
		} else if (cpu->replay.count >= CPU_REPLAY_MAX) {
			/* too many accesses for one instruction: reads see all ones */
			if (!write)
				memset(buf, 0xff, n);
		} else {
			cpu->exit.reason = CPU_EXIT_MMIO;
			cpu->exit.gpa = pa;
			cpu->exit.size = (uint8_t)n;
			cpu->exit.is_write = write;
			cpu->exit.data = 0;
			if (write)
				memcpy(&cpu->exit.data, buf, n);
			cpu_exit_restart(cpu);
		}
		pa += n;
		buf += n;
		len -= n;
	}
}

/*
 * The slow path: any access the TLB fast path refused. Translates every
 * page touched (faulting before anything is written), then moves the bytes.
 */
static void access_slow(struct cpu *cpu, uint64_t lin, uint8_t *buf, unsigned len, int acc)
{
	bool write = (acc & 3) == ACC_WRITE;
	struct xlat x[2];
	uint64_t l[2];
	unsigned n[2], pieces = 1, done = 0;

	align_check(cpu, lin, len, acc);
	l[0] = lin;
	n[0] = 4096 - (unsigned)(lin & 0xfff);
	if (n[0] >= len) {
		n[0] = len;
	} else {
		l[1] = lin + n[0];
		if (!cpu_long_mode(cpu))
			l[1] = (uint32_t)l[1];
		n[1] = len - n[0];
		pieces = 2;
	}
	for (unsigned i = 0; i < pieces; i++)
		mmu_xlate_page(cpu, l[i], acc, &x[i]);
	for (unsigned i = 0; i < pieces; i++) {
		uint8_t *b = buf + done;

		if (x[i].flags & (TLBF_RAM | TLBF_ROM)) {
			void *host = (void *)(uintptr_t)(l[i] + x[i].addend);

			if (!write)
				memcpy(b, host, n[i]);
			else if (x[i].flags & TLBF_RAM) {
				memcpy(host, b, n[i]);
				block_note_write(cpu, x[i].pa);	/* self-modifying code (block.c) */
				cpu_note_store(cpu, x[i].pa | (l[i] & 0xfff), n[i]);
			}
			/* writes to ROM are dropped */
		} else {
			mmio_access(cpu, x[i].pa | (l[i] & 0xfff), b, n[i], write);
		}
		done += n[i];
	}
	/* data breakpoints: pages they watch never take the fast path (debug.c) */
	if (unlikely(cpu->s.dr7 & 0xff))
		cpu_debug_access(cpu, lin, len, write);
}

static inline uint64_t mem_read(struct cpu *cpu, uint64_t lin, unsigned size, int acc)
{
	const struct tlb_entry *e = &cpu->tlb[tlb_priv(cpu, acc)][(lin >> 12) & TLB_MASK];
	uint64_t v = 0;

	if (likely(e->tag_read == tlb_key(cpu, lin) && (lin & 0xfff) <= 4096u - size)) {
		if (unlikely(lin & (size - 1)))
			align_check(cpu, lin, size, acc);
		memcpy(&v, (const void *)tlb_host(e, lin), size);
		return v;
	}
	access_slow(cpu, lin, (uint8_t *)&v, size, (acc & ~3) | ACC_READ);
	return v;
}

static inline void mem_write(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, int acc)
{
	const struct tlb_entry *e = &cpu->tlb[tlb_priv(cpu, acc)][(lin >> 12) & TLB_MASK];

	if (likely(e->tag_write == tlb_key(cpu, lin) && (lin & 0xfff) <= 4096u - size)) {
		if (unlikely(lin & (size - 1)))
			align_check(cpu, lin, size, acc);
		memcpy((void *)tlb_host(e, lin), &v, size);
		return;
	}
	access_slow(cpu, lin, (uint8_t *)&v, size, (acc & ~3) | ACC_WRITE);
}

uint8_t cpu_read8(struct cpu *cpu, int seg, uint64_t off)
{
	return (uint8_t)mem_read(cpu, cpu_linear(cpu, seg, off, 1, ACC_READ), 1, ACC_READ);
}

uint16_t cpu_read16(struct cpu *cpu, int seg, uint64_t off)
{
	return (uint16_t)mem_read(cpu, cpu_linear(cpu, seg, off, 2, ACC_READ), 2, ACC_READ);
}

uint32_t cpu_read32(struct cpu *cpu, int seg, uint64_t off)
{
	return (uint32_t)mem_read(cpu, cpu_linear(cpu, seg, off, 4, ACC_READ), 4, ACC_READ);
}

uint64_t cpu_read64(struct cpu *cpu, int seg, uint64_t off)
{
	return mem_read(cpu, cpu_linear(cpu, seg, off, 8, ACC_READ), 8, ACC_READ);
}

void cpu_write8(struct cpu *cpu, int seg, uint64_t off, uint8_t v)
{
	mem_write(cpu, cpu_linear(cpu, seg, off, 1, ACC_WRITE), v, 1, ACC_WRITE);
}

void cpu_write16(struct cpu *cpu, int seg, uint64_t off, uint16_t v)
{
	mem_write(cpu, cpu_linear(cpu, seg, off, 2, ACC_WRITE), v, 2, ACC_WRITE);
}

void cpu_write32(struct cpu *cpu, int seg, uint64_t off, uint32_t v)
{
	mem_write(cpu, cpu_linear(cpu, seg, off, 4, ACC_WRITE), v, 4, ACC_WRITE);
}

void cpu_write64(struct cpu *cpu, int seg, uint64_t off, uint64_t v)
{
	mem_write(cpu, cpu_linear(cpu, seg, off, 8, ACC_WRITE), v, 8, ACC_WRITE);
}

uint64_t cpu_read(struct cpu *cpu, int seg, uint64_t off, unsigned size)
{
	switch (size) {
	case 1: return cpu_read8(cpu, seg, off);
	case 2: return cpu_read16(cpu, seg, off);
	case 4: return cpu_read32(cpu, seg, off);
	default: return cpu_read64(cpu, seg, off);
	}
}

void cpu_write(struct cpu *cpu, int seg, uint64_t off, uint64_t v, unsigned size)
{
	switch (size) {
	case 1: cpu_write8(cpu, seg, off, (uint8_t)v); break;
	case 2: cpu_write16(cpu, seg, off, (uint16_t)v); break;
	case 4: cpu_write32(cpu, seg, off, (uint32_t)v); break;
	default: cpu_write64(cpu, seg, off, v); break;
	}
}

void cpu_read_bytes(struct cpu *cpu, int seg, uint64_t off, void *dst, unsigned len)
{
	uint64_t lin;

	if (!len)
		return;
	lin = cpu_linear(cpu, seg, off, len, ACC_READ);
	access_slow(cpu, lin, dst, len, ACC_READ);
}

void cpu_write_bytes(struct cpu *cpu, int seg, uint64_t off, const void *src, unsigned len)
{
	uint64_t lin;

	if (!len)
		return;
	lin = cpu_linear(cpu, seg, off, len, ACC_WRITE);
	/* access_slow does not modify the buffer for writes */
	access_slow(cpu, lin, (uint8_t *)(uintptr_t)src, len, ACC_WRITE);
}

void cpu_check_write(struct cpu *cpu, int seg, uint64_t off, unsigned len)
{
	uint64_t lin;
	struct xlat x;
	unsigned first;

	if (!len)
		return;
	lin = cpu_linear(cpu, seg, off, len, ACC_WRITE);
	align_check(cpu, lin, len, ACC_WRITE);
	mmu_xlate_page(cpu, lin, ACC_WRITE, &x);
	first = 4096 - (unsigned)(lin & 0xfff);
	if (first < len) {
		uint64_t l2 = lin + first;

		mmu_xlate_page(cpu, cpu_long_mode(cpu) ? l2 : (uint32_t)l2, ACC_WRITE, &x);
	}
}

void *cpu_rmw_ptr(struct cpu *cpu, int seg, uint64_t off, unsigned size)
{
	uint64_t lin = cpu_linear(cpu, seg, off, size, ACC_WRITE);
	const struct tlb_entry *e;
	struct xlat x;

	if ((lin & 0xfff) + size > 4096)
		return NULL;
	align_check(cpu, lin, size, ACC_WRITE);
	if (unlikely(cpu->s.dr7 & 0xff) && cpu_debug_watch_page(cpu, lin))
		return NULL;	/* watched: the caller's cpu_read/cpu_write see the breakpoint */
	e = &cpu->tlb[tlb_priv(cpu, ACC_WRITE)][(lin >> 12) & TLB_MASK];
	if (e->tag_write == tlb_key(cpu, lin))
		return (void *)tlb_host(e, lin);
	mmu_xlate_page(cpu, lin, ACC_WRITE, &x);
	if (x.flags & TLBF_RAM) {
		block_note_write(cpu, x.pa);	/* the caller writes through the pointer (block.c) */
		if (cpu_code_page(cpu, x.pa)) {
			/* translated code: told once the caller has written (cpu_rmw_done) */
			cpu->rmw_code_pa = x.pa | (lin & 0xfff);
			cpu->rmw_code_len = size;
		}
		return (void *)(uintptr_t)(lin + x.addend);
	}
	return NULL;
}

void cpu_rmw_done_slow(struct cpu *cpu)
{
	uint64_t pa = cpu->rmw_code_pa;
	unsigned len = cpu->rmw_code_len;

	cpu->rmw_code_len = 0;
	/* a string store may cover the rest of its page: one notice per page */
	cpu_note_store(cpu, pa, len);
}

uint64_t cpu_lin_read(struct cpu *cpu, uint64_t lin, unsigned size, int access)
{
	return mem_read(cpu, lin, size, access);
}

void cpu_lin_write(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, int access)
{
	mem_write(cpu, lin, v, size, access);
}

/* ------------------------------------------------------------------ */
/* Guest-physical access (page walks, VMCB later). Holes read as ones. */

uint64_t cpu_phys_read(struct cpu *cpu, uint64_t pa, unsigned size)
{
	const struct cpu_mem_slot *s = cpu_memmap_find(cpu->mem, pa);
	uint64_t v = 0;

	if (likely(s && pa + size <= s->gpa + s->size)) {
		memcpy(&v, s->host + (pa - s->gpa), size);
		return v;
	}
	for (unsigned i = 0; i < size; i++) {
		s = cpu_memmap_find(cpu->mem, pa + i);
		v |= (uint64_t)(s ? s->host[pa + i - s->gpa] : 0xff) << (8 * i);
	}
	return v;
}

void cpu_phys_write(struct cpu *cpu, uint64_t pa, uint64_t v, unsigned size)
{
	const struct cpu_mem_slot *slot = cpu_memmap_find(cpu->mem, pa);

	/* within one page of RAM (a VMCB field, say): one copy, one look at the code maps */
	if (likely(slot && slot->kind == CPU_SLOT_RAM && pa + size <= slot->gpa + slot->size &&
		   (pa & 0xfff) + size <= 4096)) {
		memcpy(slot->host + (pa - slot->gpa), &v, size);
		if (codemap_test(cpu, pa))
			cpu->bcache->epoch++;	/* blocks compare their bytes again (block.h) */
		cpu_note_store(cpu, pa, size);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		const struct cpu_mem_slot *s = cpu_memmap_find(cpu->mem, pa + i);

		if (s && s->kind == CPU_SLOT_RAM) {
			s->host[pa + i - s->gpa] = (uint8_t)(v >> (8 * i));
			if (codemap_test(cpu, pa + i))
				cpu->bcache->epoch++;	/* blocks compare their bytes again (block.h) */
			cpu_note_store(cpu, pa + i, 1);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Port I/O (permission checks are the IN/OUT handlers' business).     */

uint32_t cpu_io_in(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (cpu->replay.next < cpu->replay.count)
		return (uint32_t)(cpu->replay.value[cpu->replay.next++] & size_mask(size));
	cpu->exit.reason = CPU_EXIT_IO;
	cpu->exit.port = port;
	cpu->exit.size = (uint8_t)size;
	cpu->exit.is_write = false;
	cpu->exit.data = 0;
	cpu_exit_restart(cpu);
}

void cpu_io_out(struct cpu *cpu, uint16_t port, unsigned size, uint32_t value)
{
	if (cpu->replay.next < cpu->replay.count) {
		cpu->replay.next++;
		return;
	}
	cpu->exit.reason = CPU_EXIT_IO;
	cpu->exit.port = port;
	cpu->exit.size = (uint8_t)size;
	cpu->exit.is_write = true;
	cpu->exit.data = value & size_mask(size);
	cpu_exit_restart(cpu);
}
