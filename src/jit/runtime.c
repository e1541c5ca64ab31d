/*
 * The routines every code buffer starts with (entering and leaving
 * translated code, the interpreter call, the indirect-branch target
 * cache) and the C side of the interpreter call.
 */
#include <stddef.h>
#include <stdio.h>

#include "jit/jit_priv.h"

/* Guest registers held in host registers, in the order they are stored and loaded. */
static const uint8_t mapped[] = { H_RAX, H_RCX, H_RDX, H_RBX, H_RBP, H_RSI, H_RDI,
				  H_R8, H_R9, H_R12, H_R13, H_R14, H_R15 };

static void spill_all(struct emit *e, const struct cpu *cpu)
{
	for (unsigned i = 0; i < sizeof(mapped); i++)
		emit_store(e, 8, gpr_slot(cpu, mapped[i]), mapped[i]);
}

static void reload_all(struct emit *e, const struct cpu *cpu)
{
	for (unsigned i = 0; i < sizeof(mapped); i++)
		emit_load(e, 8, mapped[i], gpr_slot(cpu, mapped[i]));
}

/* Aligned starts help the host's front end a little. */
static void align16(struct emit *e)
{
	while (emit_rx(e) & 15)
		emit_u8(e, 0xcc);
}

/*
 * The target cache lookup for one privilege: S1 holds the guest target.
 * A hit needs the address and the mapping generation of the fill (TLB
 * flushes and mode changes change the generations). RIP is stored first,
 * so that S1 is free for the generation compare and a miss has it set.
 */
static void emit_jc_lookup(struct emit *e, struct jit_vcpu *jv, unsigned priv)
{
	const struct cpu *cpu = jv->cpu;
	int32_t base = (int32_t)(intptr_t)&jv->ctx->jc[priv][0];
	uint8_t *miss1, *miss2, *j;

	emit_store(e, 8, xabs(&cpu->s.rip), S1);
	/* entry offset: jc_index(target) times 32 */
	emit_mov_rr(e, 8, S2, S1);
	emit_shift_imm(e, 8, 5, xreg(S2), 12);
	emit_alu_rm_r(e, 4, 6, xreg(S2), S1);
	emit_alu_imm(e, 4, 4, xreg(S2), (int32_t)((1u << JC_BITS) - 1));
	emit_shift_imm(e, 4, 4, xreg(S2), 5);
	emit_alu_r_rm(e, 8, 7, S1, xmem(H_NONE, S2, 0, base));
	miss1 = emit_jcc8(e, 5);
	emit_load(e, 8, S1, xmem(H_NONE, S2, 0, base + (int32_t)offsetof(struct jc_entry, genp)));
	emit_load(e, 4, S1, xmem(S1, H_NONE, 0, 0));
	emit_alu_r_rm(e, 4, 7, S1, xmem(H_NONE, S2, 0, base + (int32_t)offsetof(struct jc_entry, gen)));
	miss2 = emit_jcc8(e, 5);
	emit_load(e, 4, S1, xmem(H_NONE, S2, 0, base + (int32_t)offsetof(struct jc_entry, code)));
	emit_jmp_r(e, S1);
	emit_bind8(e, miss2);
	emit_store_imm(e, 8, xabs(&jv->ctx->last_exit), JIT_EXIT_JC_STALE);
	j = emit_jcc8(e, 16);
	emit_bind8(e, miss1);
	emit_store_imm(e, 8, xabs(&jv->ctx->last_exit), JIT_EXIT_JC_MISS);
	emit_bind8(e, j);
	emit_jmp(e, jv->rt.exit_spill);
}

int jit_emit_routines(struct jit_vcpu *jv)
{
	struct emit e = jit_emitter(jv);
	const struct cpu *cpu = jv->cpu;
	static const uint8_t saved[] = { H_RBX, H_RBP, H_R12, H_R13, H_R14, H_R15 };

	jv->ctx->helper_slow = (uint64_t)(uintptr_t)jit_helper_slow;

	/* enter(code): save the C callee-saved registers, load the guest's, jump */
	jv->rt.enter = emit_rx(&e);
	for (unsigned i = 0; i < sizeof(saved); i++)
		emit_push_r(&e, saved[i]);
	emit_alu_imm(&e, 8, 5, xreg(H_RSP), 8);		/* 16-byte aligned from here on */
	emit_mov_rr(&e, 8, S1, H_RDI);
	reload_all(&e, cpu);
	emit_movq_load_xmm(&e, JIT_ICOUNT, xabs(&cpu->icount));
	emit_jmp_r(&e, S1);

	align16(&e);
	jv->rt.exit_spill = emit_rx(&e);
	spill_all(&e, cpu);
	jv->rt.exit_nospill = emit_rx(&e);
	emit_movq_store_xmm(&e, xabs(&cpu->icount), JIT_ICOUNT);
	emit_alu_imm(&e, 8, 0, xreg(H_RSP), 8);
	for (unsigned i = sizeof(saved); i-- > 0;)
		emit_pop_r(&e, saved[i]);
	emit_ret(&e);

	align16(&e);
	jv->rt.exit_direct = emit_rx(&e);
	emit_store(&e, 8, xabs(&jv->ctx->last_exit), S1);
	emit_jmp(&e, jv->rt.exit_spill);

	/*
	 * slow: called (so the stack is 8 off alignment) with S1 = the
	 * struct jit_slow; the guest's flags are already in cpu->lf. The
	 * result goes to S1, which the reload of the guest registers spares.
	 */
	align16(&e);
	jv->rt.slow = emit_rx(&e);
	spill_all(&e, cpu);
	emit_movq_store_xmm(&e, xabs(&cpu->icount), JIT_ICOUNT);
	emit_mov_imm(&e, H_RDI, (uint64_t)(uintptr_t)cpu);
	emit_mov_rr(&e, 8, H_RSI, S1);
	emit_alu_imm(&e, 8, 5, xreg(H_RSP), 8);
	emit_call_m(&e, xabs(&jv->ctx->helper_slow));
	emit_alu_imm(&e, 8, 0, xreg(H_RSP), 8);
	emit_mov_rr(&e, 8, S1, H_RAX);
	reload_all(&e, cpu);
	emit_movq_load_xmm(&e, JIT_ICOUNT, xabs(&cpu->icount));
	emit_ret(&e);

	for (unsigned p = 0; p < 2; p++) {
		align16(&e);
		jv->rt.jc_lookup[p] = emit_rx(&e);
		emit_jc_lookup(&e, jv, p);
	}
	align16(&e);
	jv->rt.start = emit_rx(&e);
	if (e.overflow)
		return -1;
	jv->code_used = (size_t)(e.p - jv->cb.rw);
	return 0;
}

/*
 * Run one instruction of a block through the interpreter's handler, with
 * the state the translated code stored: what the interpreter's run loop
 * does for it, retire included. An exception unwinds from here to
 * cpu_run() like from any handler. Returns 0 when the block goes on with
 * the next instruction, 1 when it must be left (cpu->s.rip says where).
 */
uint64_t jit_helper_slow(struct cpu *cpu, const struct jit_slow *d)
{
	struct jit_vcpu *jv = cpu->xlat_ctx;
	const struct insn *in = &d->in;
	struct jit_block *b = d->blk;
	uint64_t fall = d->rip + in->len;

	cpu->s.rip = d->rip;
	cpu->icount -= (uint64_t)(b->ninsn - d->index);
	jv->cur = b;
	jv->stop = false;
	cpu->next_rip = fall;
	in->fn(cpu, in);
	cpu_rmw_done(cpu);
	cpu->s.rip = cpu->code_size == 8 ? cpu->next_rip : (uint32_t)cpu->next_rip;
	cpu->icount++;
	if (d->slow_path && jit_trace())
		fprintf(stderr, "jit: slow path at %#llx\n", (unsigned long long)d->rip);
	if (d->slow_path)
		jv->st.slow_paths++;
	else
		jv->st.helper_insns++;
	/* blocks start and end with the flags in cpu->lf.eager, CC_LAHF form */
	cpu_set_flags_lahf(cpu);
	jv->cur = NULL;
	if (d->ends || cpu->exit.reason != CPU_EXIT_NONE) {
		jv->to_loop = true;
		return 1;
	}
	if (cpu->s.rip != (cpu->code_size == 8 ? fall : (uint32_t)fall) || jv->stop)
		return 1;
	cpu->icount += (uint64_t)(b->ninsn - d->index - 1);
	return 0;
}
