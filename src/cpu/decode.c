/*
 * The instruction decoder (Intel SDM vol. 2, ch. 2): legacy prefixes, REX,
 * the 0F/0F38/0F3A maps, ModRM/SIB/displacement in 16/32/64-bit
 * addressing, immediates as the opcode's OPF_* flags say, operand and
 * address size, and the encoding-level faults (#UD, #GP for > 15 bytes).
 */
#include <string.h>

#include "cpu/block.h"

static void insn_ud(struct cpu *cpu, const struct insn *in)
{
	cpu_raise_ud(cpu);
}

static void insn_toolong(struct cpu *cpu, const struct insn *in)
{
	cpu_raise_gp0(cpu);
}

bool cpu_insn_is_invalid(const struct insn *in)
{
	return in->fn == insn_ud || in->fn == insn_toolong;
}

/*
 * Group opcodes where LOCK is legal only for some /digit (bit n = /n):
 * ALU groups except CMP, INC/DEC, NOT/NEG, BTS/BTR/BTC, CMPXCHG8B/16B.
 */
static unsigned lock_digits(unsigned map, unsigned op)
{
	if (map == MAP_1B) {
		switch (op) {
		case 0x80: case 0x81: case 0x82: case 0x83: return 0x7f;
		case 0xfe: case 0xff: return 0x03;
		case 0xf6: case 0xf7: return 0x0c;
		default: return 0x100;	/* not a group: OPF_LOCKOK decides */
		}
	}
	if (map == MAP_0F) {
		switch (op) {
		case 0xba: return 0xe0;
		case 0xc7: return 0x02;
		default: return 0x100;
		}
	}
	return 0x100;
}

/* Returns the length; 0 if more than `avail` (< 15) bytes would be needed. */
int cpu_decode(const struct cpu *cpu, const uint8_t *b, unsigned avail, struct insn *in)
{
	bool mode64 = cpu->mode == MODE_LONG64;
	unsigned cs = cpu->code_size;
	unsigned pos = 0, op, map = MAP_1B, flags, imm_start;
	unsigned seg_ovr = REG_NONE, prefix = 0, rex = 0, last_rep = 0;
	const struct opdesc *d;

#define NEED(n)                                                         \
	do {                                                            \
		if (pos + (n) > 15)                                     \
			goto toolong;                                   \
		if (pos + (n) > avail)                                  \
			return 0;                                       \
	} while (0)

	cpu_optable_init();
	memset(in, 0, offsetof(struct insn, bytes));
	in->base = in->index = REG_NONE;

	/* Legacy prefixes; a REX counts only right before the opcode */
	for (;;) {
		NEED(1);
		op = b[pos];
		switch (op) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			if (!mode64)
				seg_ovr = (op >> 3) & 3;	/* ES, CS, SS, DS */
			rex = 0;
			pos++;
			continue;
		case 0x64: case 0x65:
			seg_ovr = op == 0x64 ? RV_FS : RV_GS;
			rex = 0;
			pos++;
			continue;
		case 0x66: prefix |= PFX_66; rex = 0; pos++; continue;
		case 0x67: prefix |= PFX_67; rex = 0; pos++; continue;
		case 0xf0: prefix |= PFX_LOCK; rex = 0; pos++; continue;
		case 0xf2: case 0xf3:
			last_rep = op;
			rex = 0;
			pos++;
			continue;
		default:
			break;
		}
		if (mode64 && (op & 0xf0) == 0x40) {
			rex = op;
			pos++;
			continue;
		}
		break;
	}
	if (last_rep == 0xf3)
		prefix |= PFX_REP;
	else if (last_rep == 0xf2)
		prefix |= PFX_REPNE;
	in->prefix = (uint8_t)prefix;
	in->rex = (uint8_t)rex;
	in->sse_pfx = last_rep == 0xf3 ? SSE_F3 : last_rep == 0xf2 ? SSE_F2 :
		      (prefix & PFX_66) ? SSE_66 : SSE_NONE;

	/* Opcode */
	op = b[pos++];
	if (op == 0x0f) {
		NEED(1);
		op = b[pos++];
		map = MAP_0F;
		if (op == 0x38 || op == 0x3a) {
			map = op == 0x38 ? MAP_0F38 : MAP_0F3A;
			NEED(1);
			op = b[pos++];
		}
	} else if (op == 0xc4 || op == 0xc5) {
		/* VEX (no AVX yet): always in 64-bit mode; elsewhere when the next byte has mod = 3 */
		if (mode64)
			goto ud;
		NEED(1);
		if ((b[pos] & 0xc0) == 0xc0)
			goto ud;
	}
	in->map = (uint8_t)map;
	in->opcode = (uint8_t)op;

	d = cpu_opdesc(map, op);
	if (!d)
		goto ud;
	flags = d->flags;
	if ((flags & OPF_INV64) && mode64)
		goto ud;

	/* Address size */
	if (mode64)
		in->addrsize = (prefix & PFX_67) ? 4 : 8;
	else
		in->addrsize = (uint8_t)(((cs == 2) ^ !!(prefix & PFX_67)) ? 2 : 4);

	/* ModRM, SIB, displacement */
	in->seg = RV_DS;
	if (flags & OPF_MODRM) {
		unsigned modrm, mod, rm;

		NEED(1);
		modrm = b[pos++];
		in->has_modrm = 1;
		mod = modrm >> 6;
		rm = modrm & 7;
		in->mod = (uint8_t)mod;
		in->reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) << 1));
		in->rm = (uint8_t)(rm | ((rex & 1) << 3));
		if (mod != 3 && in->addrsize == 2) {
			/* the eight 16-bit forms (SDM table 2-1); BP-based ones default to SS */
			static const uint8_t base16[8] = { RV_RBX, RV_RBX, RV_RBP, RV_RBP, REG_NONE, REG_NONE, RV_RBP, RV_RBX };
			static const uint8_t index16[8] = { RV_RSI, RV_RDI, RV_RSI, RV_RDI, RV_RSI, RV_RDI, REG_NONE, REG_NONE };

			in->base = base16[rm];
			in->index = index16[rm];
			if (mod == 0 && rm == 6) {
				in->base = REG_NONE;
				NEED(2);
				in->disp = (int16_t)(b[pos] | b[pos + 1] << 8);
				pos += 2;
			} else if (mod == 1) {
				NEED(1);
				in->disp = (int8_t)b[pos++];
			} else if (mod == 2) {
				NEED(2);
				in->disp = (int16_t)(b[pos] | b[pos + 1] << 8);
				pos += 2;
			}
			if (in->base == RV_RBP)
				in->seg = RV_SS;
		} else if (mod != 3) {
			bool disp32 = mod == 2;

			if (rm == 4) {
				unsigned sib, base, index;

				NEED(1);
				sib = b[pos++];
				in->scale = (uint8_t)(sib >> 6);
				index = ((sib >> 3) & 7) | ((rex & 2) << 2);
				base = (sib & 7) | ((rex & 1) << 3);
				in->index = index == 4 ? REG_NONE : (uint8_t)index;	/* R12 is a valid index */
				if ((sib & 7) == 5 && mod == 0) {
					disp32 = true;		/* no base */
				} else {
					in->base = (uint8_t)base;
				}
			} else if (rm == 5 && mod == 0) {
				disp32 = true;
				in->rip_rel = mode64;
			} else {
				in->base = (uint8_t)(rm | ((rex & 1) << 3));
			}
			if (in->base == RV_RSP || in->base == RV_RBP)
				in->seg = RV_SS;
			if (disp32) {
				NEED(4);
				in->disp = (int32_t)(b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16 | (uint32_t)b[pos + 3] << 24);
				pos += 4;
			} else if (mod == 1) {
				NEED(1);
				in->disp = (int8_t)b[pos++];
			}
		}
	}

	/* Operand size; FF /2 /4 are near branches (64-bit), /6 a push (default 64) */
	{
		unsigned f64 = flags & (OPF_DEF64 | OPF_FORCE64);

		if (map == MAP_1B && op == 0xff && in->has_modrm) {
			unsigned dg = in->reg & 7;

			f64 = dg == 2 || dg == 4 ? OPF_FORCE64 : dg == 6 ? OPF_DEF64 : 0;
		}
		if (flags & OPF_BYTE)
			in->opsize = 1;
		else if (mode64 && (rex & 8))
			in->opsize = 8;
		else if (mode64 && (f64 & OPF_FORCE64))
			in->opsize = 8;	/* Intel ignores 66 on near branches in 64-bit mode */
		else if (mode64 && (f64 & OPF_DEF64))
			in->opsize = (prefix & PFX_66) ? 2 : 8;
		else if (mode64)
			in->opsize = (prefix & PFX_66) ? 2 : 4;
		else
			in->opsize = (uint8_t)(((cs == 2) ^ !!(prefix & PFX_66)) ? 2 : 4);
	}

	/* Segment override (in 64-bit mode only FS/GS were recorded) */
	if (seg_ovr != REG_NONE)
		in->seg = (uint8_t)seg_ovr;

	/* Immediates */
	imm_start = pos;
	if (flags & OPF_GRP3) {
		if ((in->reg & 7) < 2)
			flags |= (flags & OPF_BYTE) ? OPF_IMM8 : OPF_IMMZ;
	}
	if (flags & OPF_IMM8) {
		NEED(1);
		in->imm = (uint64_t)(int64_t)(int8_t)b[pos++];
	} else if (flags & OPF_IMM8U) {
		NEED(1);
		in->imm = b[pos++];
	} else if (flags & OPF_IMM16) {
		NEED(2);
		in->imm = (uint64_t)(b[pos] | b[pos + 1] << 8);
		pos += 2;
	} else if (flags & OPF_IMMZ) {
		if (in->opsize == 2) {
			NEED(2);
			in->imm = (uint64_t)(int64_t)(int16_t)(b[pos] | b[pos + 1] << 8);
			pos += 2;
		} else {
			NEED(4);
			in->imm = (uint64_t)(int64_t)(int32_t)(b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16 |
							      (uint32_t)b[pos + 3] << 24);
			pos += 4;
		}
	} else if (flags & (OPF_IMMV | OPF_MOFFS)) {
		unsigned n = (flags & OPF_MOFFS) ? in->addrsize : in->opsize;
		uint64_t v = 0;

		NEED(n);
		for (unsigned i = 0; i < n; i++)
			v |= (uint64_t)b[pos + i] << (8 * i);
		pos += n;
		in->imm = v;
		if (flags & OPF_MOFFS)
			in->disp = (int64_t)v;
	} else if (flags & OPF_FARPTR) {
		unsigned n = in->opsize == 2 ? 2 : 4;
		uint64_t v = 0;

		NEED(n + 2);
		for (unsigned i = 0; i < n; i++)
			v |= (uint64_t)b[pos + i] << (8 * i);
		pos += n;
		in->imm = v;
		in->imm2 = (uint64_t)(b[pos] | b[pos + 1] << 8);
		pos += 2;
	} else if (flags & OPF_ENTER) {
		NEED(3);
		in->imm = (uint64_t)(b[pos] | b[pos + 1] << 8);
		in->imm2 = b[pos + 2];
		pos += 3;
	}

	/* LOCK: only lockable opcodes (and /digits) with a memory destination */
	if (prefix & PFX_LOCK) {
		unsigned dg = lock_digits(map, op);
		bool ok = dg == 0x100 ? !!(flags & OPF_LOCKOK) : (in->has_modrm && ((dg >> (in->reg & 7)) & 1));

		if (!ok || !in->has_modrm || in->mod == 3)
			in->fn = insn_ud;
		else
			in->fn = d->fn;
	} else {
		/* a handler specialised for this form, where exec_fast.c has one */
		insn_fn fast = cpu_fast_handler(in);

		in->fn = fast ? fast : d->fn;
	}
	in->len = (uint8_t)pos;
	in->imm_len = (uint8_t)(pos - imm_start);
	memcpy(in->bytes, b, pos);
	return (int)pos;

ud:
	/* The length of an undefined opcode does not matter: #UD leaves RIP at its start */
	in->fn = insn_ud;
	in->len = (uint8_t)pos;
	memcpy(in->bytes, b, pos);
	return (int)pos;

toolong:
	in->fn = insn_toolong;
	in->len = 15;
	memcpy(in->bytes, b, avail < 15 ? avail : 15);
	return 15;
#undef NEED
}
