/* The debug registers: instruction and data breakpoints, single-step, RF and the MOV SS shadow (SDM vol. 3 ch. 17). */
#include "cpu/sys.h"

#define DR6_BS (1u << 14)
#define DR7_ENABLES 0xffu	/* L0/G0 .. L3/G3 */

enum { BP_EXEC = 0, BP_WRITE = 1, BP_IO = 2, BP_RW = 3 };

/* RW field of breakpoint n (SDM vol. 3, 17.2.4). */
static unsigned bp_rw(uint64_t dr7, unsigned n)
{
	return (unsigned)(dr7 >> (16 + 4 * n)) & 3;
}

/* LEN field of breakpoint n in bytes: 00 = 1, 01 = 2, 11 = 4, 10 = 8 (APM vol. 2, 13.1.1.5). */
static unsigned bp_len(uint64_t dr7, unsigned n)
{
	static const unsigned len[4] = { 1, 2, 8, 4 };
	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool bp_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

/*
 * Breakpoint addresses are linear and compared on the aligned range the
 * LEN field selects: the low address bits below LEN are ignored
 * (SDM vol. 3, 17.2.5).
 */
static bool bp_overlaps(uint64_t dr, unsigned bplen, uint64_t lin, unsigned len)
{
	uint64_t lo = dr & ~(uint64_t)(bplen - 1);
	return lin < lo + bplen && lo < lin + len;
}

unsigned cpu_debug_watch_page(const struct cpu *cpu, uint64_t lin)
{
	uint64_t dr7 = cpu->s.dr7;
	unsigned kinds = 0;

	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = bp_rw(dr7, n);

		if (!bp_enabled(dr7, n) || (rw != BP_WRITE && rw != BP_RW))
			continue;
		/* an aligned range of at most 8 bytes never crosses a page */
		if (((cpu->s.dr[n] ^ lin) & ~0xfffull) == 0)
			kinds |= rw == BP_RW ? 3u : 2u;
	}
	return kinds;
}

void cpu_debug_access(struct cpu *cpu, uint64_t lin, unsigned len, bool write)
{
	uint64_t dr7 = cpu->s.dr7;

	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = bp_rw(dr7, n);

		if (!bp_enabled(dr7, n) || (rw != BP_RW && !(rw == BP_WRITE && write)))
			continue;
		if (bp_overlaps(cpu->s.dr[n], bp_len(dr7, n), lin, len))
			cpu->dbg_trap |= 1u << n;
	}
}

/* The breakpoints' configuration changed: drop TLB entries that could let a watched access bypass the MMU slow path. */
static void refilter_tlb(struct cpu *cpu)
{
	uint64_t now[5] = { cpu->s.dr[0], cpu->s.dr[1], cpu->s.dr[2], cpu->s.dr[3], cpu->s.dr7 };

	for (unsigned i = 0; i < 5; i++) {
		if (now[i] != cpu->dbg_seen[i]) {
			for (unsigned j = 0; j < 5; j++)
				cpu->dbg_seen[j] = now[j];
			cpu_tlb_flush_all(cpu);
			return;
		}
	}
}

/*
 * Before an instruction: instruction breakpoints are faults, reported
 * before the instruction executes, unless RFLAGS.RF is set
 * (SDM vol. 3, 17.3.1.1 and 17.3.1.2).
 */
void cpu_debug_before(struct cpu *cpu)
{
	uint64_t dr7 = cpu->s.dr7, lin;
	uint32_t hits = 0;

	cpu->dbg_trap &= DBG_T_PENDING;
	refilter_tlb(cpu);
	if (!(dr7 & DR7_ENABLES) || (cpu->s.rflags & RV_FLAG_RF))
		return;
	/* the instruction after MOV SS / POP SS runs with debug exceptions inhibited (SDM 6.8.3) */
	if (cpu->dbg_trap & DBG_T_PENDING)
		return;
	lin = cpu->s.rip;
	if (cpu->mode != MODE_LONG64)
		lin = (uint32_t)(cpu->s.seg[RV_CS].base + lin);
	for (unsigned n = 0; n < 4; n++)
		if (bp_enabled(dr7, n) && bp_rw(dr7, n) == BP_EXEC && cpu->s.dr[n] == lin)
			hits |= 1u << n;
	if (hits) {
		cpu->s.dr6 = (cpu->s.dr6 & ~0xfull) | hits;
		cpu_raise(cpu, EXC_DB, 0);
	}
}

/*
 * After an instruction retired: RF is cleared (unless the instruction
 * loaded it), then the single-step trap (TF at the instruction's start,
 * DR6.BS, SDM 17.3.1.4) and data breakpoint traps (B0-B3) are delivered as
 * one #DB. After MOV SS / POP SS they wait one more instruction (SDM 6.8.3).
 */
void cpu_debug_retire(struct cpu *cpu, uint64_t old_rflags)
{
	uint32_t t = cpu->dbg_trap;
	uint32_t bits = t & 0xfu;

	cpu->dbg_trap = 0;
	if ((old_rflags & RV_FLAG_RF) && !(t & DBG_T_KEEPRF))
		cpu->s.rflags &= ~(uint64_t)RV_FLAG_RF;
	if ((old_rflags & RV_FLAG_TF) && !(t & DBG_T_NOSTEP))
		bits |= DR6_BS;
	if (t & DBG_T_PENDING) {
		bits |= cpu->dbg_defer;
		cpu->dbg_defer = 0;
	}
	if (!bits)
		return;
	if (t & DBG_T_MOVSS) {
		cpu->dbg_defer = bits;
		cpu->dbg_trap = DBG_T_PENDING;
		return;
	}
	if (bits & 0xfu)
		cpu->s.dr6 &= ~0xfull;
	cpu->s.dr6 |= bits;
	cpu_deliver_event(cpu, EXC_DB, EV_EXCEPTION, false, 0);
}
