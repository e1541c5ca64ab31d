/* Oracle forms for the core integer instructions: ALU, MOV family, CMOVcc/SETcc/Jcc, LEA, XCHG family, stack. */
#include "forms_enc.h"

static const unsigned sizes[4] = { 1, 2, 4, 8 };

/* Register pairs (reg, rm) for register-register forms, with whether REX is forced. */
struct pair {
	unsigned reg;
	int rm;
	bool rex40;
};
static const struct pair pairs[] = {
	{ RDX, RCX, false },	/* dl/dx, cl/cx */
	{ RAX, RAX, false },	/* same register twice */
	{ R9, R14, false },	/* extended registers */
	{ RSP, RCX, false },	/* byte: ah, cl; others: rsp as the reg operand is avoided below */
	{ RSI, RDI, true },	/* byte: sil, dil */
};

static bool has_rex(unsigned size, unsigned reg, int rm, bool rex40)
{
	return rex40 || size == 8 || reg >= 8 || (rm >= 0 && rm >= 8);
}

static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

static uint32_t alu_undef(unsigned op)
{
	return (op == 1 || op == 4 || op == 6) ? F_AF : 0;	/* OR, AND, XOR: AF undefined */
}

static uint64_t imm_for(unsigned size, unsigned which)
{
	static const uint64_t v[3] = { 0x7f, 0x80, 0x5a };
	static const uint64_t vz[3] = { 0x7fffffff, 0x80000001, 0x12345678 };
	if (size == 1)
		return v[which % 3];
	return size == 2 ? (vz[which % 3] & 0xffff) : vz[which % 3];
}

static void forms_alu(struct oracle_set *set)
{
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned op, si, p, w;

	for (op = 0; op < 8; op++) {
		t.undef = alu_undef(op);
		for (si = 0; si < 4; si++) {
			unsigned s = sizes[si];
			uint8_t opc = (uint8_t)(op * 8 + (s == 1 ? 0 : 1));
			uint8_t opd = (uint8_t)(op * 8 + (s == 1 ? 2 : 3));
			unsigned bits = s * 8;

			/* op r/m, r and op r, r/m with registers */
			for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
				const struct pair *q = &pairs[p];
				bool rx = has_rex(s, q->reg, q->rm, q->rex40);
				if (q->reg == RSP && s != 1)
					continue;
				t.opt = 0;
				enc_modrm_insn(&e, s, &opc, 1, q->reg, q->rm, q->rex40);
				oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, r%u (%s, %s)", alu_names[op], bits, bits,
					    enc_rm_name(q->rm, s, rx), enc_reg_name(q->reg, s, rx));
				if (p == 0 || p == 3) {
					enc_modrm_insn(&e, s, &opd, 1, q->reg, q->rm, q->rex40);
					oracle_addf(set, &t, enc_hex(&e), "%s r%u, r/m%u (%s, %s)", alu_names[op], bits,
						    bits, enc_reg_name(q->reg, s, rx), enc_rm_name(q->rm, s, rx));
				}
			}
			/* memory forms */
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, &opc, 1, RDX, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, r%u", alu_names[op], bits, bits);
			enc_modrm_insn(&e, s, &opc, 1, R10, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, r%u (r10)", alu_names[op], bits, bits);
			enc_modrm_insn(&e, s, &opd, 1, RDX, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r%u, m%u", alu_names[op], bits, bits);
			/* immediates: accumulator, 80/81 /op, 83 /op */
			for (w = 0; w < 2; w++) {
				uint64_t imm = imm_for(s, w);
				unsigned ilen = s == 1 ? 1 : (s == 2 ? 2 : 4);
				uint8_t g = s == 1 ? 0x80 : 0x81, g83 = 0x83;
				t.opt = 0;
				e.n = 0;
				if (s == 2)
					enc_byte(&e, 0x66);
				if (s == 8)
					enc_byte(&e, 0x48);
				enc_byte(&e, (uint8_t)(op * 8 + (s == 1 ? 4 : 5)));
				enc_imm(&e, imm, ilen);
				oracle_addf(set, &t, enc_hex(&e), "%s %s, imm (%#llx)", alu_names[op],
					    enc_reg_name(RAX, s, false), (unsigned long long)imm);
				enc_modrm_insn(&e, s, &g, 1, op, RBP, false);
				enc_imm(&e, imm, ilen);
				oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, imm (%s, %#llx)", alu_names[op], bits,
					    enc_reg_name(RBP, s, false), (unsigned long long)imm);
				t.opt = ORACLE_MEM;
				enc_modrm_insn(&e, s, &g, 1, op, ENC_MEM, false);
				enc_imm(&e, imm, ilen);
				oracle_addf(set, &t, enc_hex(&e), "%s m%u, imm (%#llx)", alu_names[op], bits,
					    (unsigned long long)imm);
				if (s != 1) {
					uint8_t i8 = w ? 0x80 : 0x7f;
					t.opt = 0;
					enc_modrm_insn(&e, s, &g83, 1, op, R11, false);
					enc_imm(&e, i8, 1);
					oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, imm8 (%s, %#x)", alu_names[op],
						    bits, enc_reg_name(R11, s, false), i8);
					t.opt = ORACLE_MEM;
					enc_modrm_insn(&e, s, &g83, 1, op, ENC_MEM, false);
					enc_imm(&e, i8, 1);
					oracle_addf(set, &t, enc_hex(&e), "%s m%u, imm8 (%#x)", alu_names[op], bits, i8);
				}
			}
		}
	}
}

/* TEST, INC, DEC, NOT, NEG in every size, register and memory. */
static void forms_unary(struct oracle_set *set)
{
	static const struct {
		const char *name;
		uint8_t op8, op;	/* opcode for byte and wider */
		unsigned digit;
		uint32_t undef;
	} u[] = {
		{ "inc", 0xfe, 0xff, 0, 0 },
		{ "dec", 0xfe, 0xff, 1, 0 },
		{ "not", 0xf6, 0xf7, 2, 0 },
		{ "neg", 0xf6, 0xf7, 3, 0 },
	};
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned i, si;

	for (i = 0; i < 4; i++) {
		t.undef = u[i].undef;
		for (si = 0; si < 4; si++) {
			unsigned s = sizes[si];
			uint8_t opc = s == 1 ? u[i].op8 : u[i].op;
			t.opt = 0;
			enc_modrm_insn(&e, s, &opc, 1, u[i].digit, RSI, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r%u (%s)", u[i].name, s * 8, enc_reg_name(RSI, s, false));
			enc_modrm_insn(&e, s, &opc, 1, u[i].digit, R13, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r%u (%s)", u[i].name, s * 8, enc_reg_name(R13, s, true));
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, &opc, 1, u[i].digit, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u", u[i].name, s * 8);
		}
	}
	/* TEST: 84/85 r/m, r; A8/A9; F6/F7 /0 */
	t.undef = F_AF;
	for (si = 0; si < 4; si++) {
		unsigned s = sizes[si];
		uint8_t opc = s == 1 ? 0x84 : 0x85, g = s == 1 ? 0xf6 : 0xf7;
		unsigned ilen = s == 1 ? 1 : (s == 2 ? 2 : 4);
		t.opt = 0;
		enc_modrm_insn(&e, s, &opc, 1, RDX, RCX, false);
		oracle_addf(set, &t, enc_hex(&e), "test r/m%u, r%u", s * 8, s * 8);
		enc_modrm_insn(&e, s, &opc, 1, RAX, RAX, false);
		oracle_addf(set, &t, enc_hex(&e), "test r/m%u, r%u (same)", s * 8, s * 8);
		enc_modrm_insn(&e, s, &g, 1, 0, RDI, false);
		enc_imm(&e, 0x80000081ull, ilen);
		oracle_addf(set, &t, enc_hex(&e), "test r/m%u, imm", s * 8);
		e.n = 0;
		if (s == 2)
			enc_byte(&e, 0x66);
		if (s == 8)
			enc_byte(&e, 0x48);
		enc_byte(&e, s == 1 ? 0xa8 : 0xa9);
		enc_imm(&e, 0x80000001ull, ilen);
		oracle_addf(set, &t, enc_hex(&e), "test %s, imm", enc_reg_name(RAX, s, false));
		t.opt = ORACLE_MEM;
		enc_modrm_insn(&e, s, &opc, 1, RDX, ENC_MEM, false);
		oracle_addf(set, &t, enc_hex(&e), "test m%u, r%u", s * 8, s * 8);
	}
}

/* CMOVcc / SETcc / Jcc: all 16 conditions with random flags. */
static void forms_cond(struct oracle_set *set)
{
	static const char *const cc[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
		"s", "ns", "p", "np", "l", "ge", "le", "g" };
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned c;

	for (c = 0; c < 16; c++) {
		uint8_t cm[2] = { 0x0f, (uint8_t)(0x40 + c) }, st[2] = { 0x0f, (uint8_t)(0x90 + c) };
		char hex[64];
		t.opt = 0;
		enc_modrm_insn(&e, 4, cm, 2, RAX, RCX, false);
		oracle_addf(set, &t, enc_hex(&e), "cmov%s r32, r/m32", cc[c]);
		enc_modrm_insn(&e, 8, cm, 2, R8, RDX, false);
		oracle_addf(set, &t, enc_hex(&e), "cmov%s r64, r/m64", cc[c]);
		enc_modrm_insn(&e, 2, cm, 2, RBX, RSI, false);
		oracle_addf(set, &t, enc_hex(&e), "cmov%s r16, r/m16", cc[c]);
		enc_modrm_insn(&e, 1, st, 2, 0, RCX, false);
		oracle_addf(set, &t, enc_hex(&e), "set%s r/m8 (cl)", cc[c]);
		enc_modrm_insn(&e, 1, st, 2, 0, RDI, true);
		oracle_addf(set, &t, enc_hex(&e), "set%s r/m8 (dil)", cc[c]);
		t.opt = ORACLE_MEM;
		enc_modrm_insn(&e, 4, cm, 2, RDX, ENC_MEM, false);
		oracle_addf(set, &t, enc_hex(&e), "cmov%s r32, m32", cc[c]);
		enc_modrm_insn(&e, 1, st, 2, 0, ENC_MEM, false);
		oracle_addf(set, &t, enc_hex(&e), "set%s m8", cc[c]);
		/* Jcc over "lea rcx, [rcx+1]": taken or not shows in RCX. */
		t.opt = 0;
		snprintf(hex, sizeof(hex), "%02x 04 48 8d 49 01", 0x70 + c);
		oracle_addf(set, &t, hex, "j%s rel8", cc[c]);
		snprintf(hex, sizeof(hex), "0f %02x 04 00 00 00 48 8d 49 01", 0x80 + c);
		oracle_addf(set, &t, hex, "j%s rel32", cc[c]);
	}
}

static void gen_popf(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	/* Only flags POPF may change at CPL 3 without side effects (no TF, AC). */
	uint64_t v = (oracle_rand(r) & F_ALL) | 2;
	memcpy(c->win + (ORACLE_STACK - ORACLE_DATA), &v, 8);
}

static void gen_enter(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	/* RBP must point into the stack part for the nesting-level copies. */
	c->r.gpr[RBP] = ORACLE_STACK + 0x40 + 8 * oracle_rand_below(r, 8);
}

static void gen_leave(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	c->r.gpr[RBP] = ORACLE_STACK + 8 * oracle_rand_below(r, 16);
}

static void gen_cmpxchg_eq(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	/* Half the time make the comparison with [rbx+0x10] succeed. */
	if (oracle_rand(r) & 1)
		memcpy(&c->r.gpr[RAX], c->win + (ORACLE_MEMPTR - ORACLE_DATA) + ENC_DISP, 8);
}

static void gen_cmpxchg8b(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	uint32_t lo, hi;
	if (oracle_rand(r) & 1) {
		memcpy(&lo, c->win + (ORACLE_MEMPTR - ORACLE_DATA), 4);
		memcpy(&hi, c->win + (ORACLE_MEMPTR - ORACLE_DATA) + 4, 4);
		c->r.gpr[RAX] = (c->r.gpr[RAX] & ~0xffffffffull) | lo;
		c->r.gpr[RDX] = (c->r.gpr[RDX] & ~0xffffffffull) | hi;
	}
}

static void gen_cmpxchg16b(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	if (oracle_rand(r) & 1) {
		memcpy(&c->r.gpr[RAX], c->win + (ORACLE_MEMPTR - ORACLE_DATA), 8);
		memcpy(&c->r.gpr[RDX], c->win + (ORACLE_MEMPTR - ORACLE_DATA) + 8, 8);
	}
}

static void gen_cmpxchg_reg(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	if (oracle_rand(r) & 1)
		c->r.gpr[RAX] = c->r.gpr[RCX];
}

static const struct oracle_form core_table[] = {
	/* MOV family */
	FORM("mov r/m8, r8 (cl, dh)", "88 f1"),
	FORM("mov r/m8, r8 (sil, r12b)", "44 88 e6"),
	FORM("mov r/m16, r16", "66 89 d1"),
	FORM("mov r/m32, r32", "89 d1"),
	FORM("mov r/m64, r64", "4c 89 c9"),
	FORM("mov r8, m8", "8a 53 10", .opt = ORACLE_MEM),
	FORM("mov r16, m16", "66 8b 53 10", .opt = ORACLE_MEM),
	FORM("mov r32, m32", "8b 53 10", .opt = ORACLE_MEM),
	FORM("mov r64, m64", "48 8b 53 10", .opt = ORACLE_MEM),
	FORM("mov m8, r8 (ah)", "88 63 10", .opt = ORACLE_MEM),
	FORM("mov m16, r16", "66 89 53 10", .opt = ORACLE_MEM),
	FORM("mov m32, r32", "89 53 10", .opt = ORACLE_MEM),
	FORM("mov m64, r64", "4c 89 7b 10", .opt = ORACLE_MEM),
	FORM("mov r/m8, imm8", "c6 c5 a5"),
	FORM("mov r/m16, imm16", "66 c7 c5 a5 5a"),
	FORM("mov r/m32, imm32", "c7 c5 a5 5a 00 80"),
	FORM("mov r/m64, imm32 (sign-extended)", "48 c7 c5 a5 5a 00 80"),
	FORM("mov m64, imm32", "48 c7 43 10 a5 5a 00 80", .opt = ORACLE_MEM),
	FORM("mov m16, imm16", "66 c7 43 10 a5 5a", .opt = ORACLE_MEM),
	FORM("mov r8, imm8 (bh)", "b7 99"),
	FORM("mov r8, imm8 (r9b)", "41 b1 99"),
	FORM("mov r16, imm16", "66 be 34 12"),
	FORM("mov r32, imm32", "be 78 56 34 82"),
	FORM("mov r64, imm64", "49 bf 88 77 66 55 44 33 22 f1"),
	FORM("mov al, moffs64", "a0 90 00 00 20 00 00 00 00"),
	FORM("mov moffs64, rax", "48 a3 98 00 00 20 00 00 00 00"),
	FORM("movzx r32, r/m8", "0f b6 c4"),
	FORM("movzx r64, r/m8 (sil)", "48 0f b6 c6"),
	FORM("movzx r16, r/m8", "66 0f b6 ca"),
	FORM("movzx r32, r/m16", "0f b7 ca"),
	FORM("movzx r64, m16", "48 0f b7 53 10", .opt = ORACLE_MEM),
	FORM("movsx r32, r/m8", "0f be c4"),
	FORM("movsx r64, r/m8", "48 0f be ca"),
	FORM("movsx r16, r/m8", "66 0f be ca"),
	FORM("movsx r32, r/m16", "0f bf ca"),
	FORM("movsx r64, m16", "48 0f bf 53 10", .opt = ORACLE_MEM),
	FORM("movsxd r64, r/m32", "48 63 ca"),
	FORM("movsxd r64, m32", "4c 63 43 10", .opt = ORACLE_MEM),
	FORM("movsxd r32, r/m32 (no REX.W)", "63 ca"),
	/* LEA with addressing forms (no memory access: random registers are fine) */
	FORM("lea r64, [rax]", "48 8d 08"),
	FORM("lea r64, [rax+disp8]", "48 8d 48 80"),
	FORM("lea r64, [rax+disp32]", "48 8d 88 78 56 34 f2"),
	FORM("lea r64, [rax+rcx*1]", "48 8d 14 08"),
	FORM("lea r64, [rax+rcx*2+8]", "48 8d 54 48 08"),
	FORM("lea r64, [rdx+rsi*4-4]", "48 8d 44 b2 fc"),
	FORM("lea r64, [rbp+rdi*8+disp32]", "48 8d 84 fd 00 00 00 80"),
	FORM("lea r64, [rcx*8+disp32] (no base)", "48 8d 04 cd 44 33 22 11"),
	FORM("lea r64, [disp32] (SIB, no base no index)", "48 8d 04 25 44 33 22 91"),
	FORM("lea r64, [rsp+disp8] (SIB base rsp)", "48 8d 44 24 10"),
	FORM("lea r64, [rbp+0] (mod 1)", "48 8d 45 00"),
	FORM("lea r64, [r13+0] (mod 1)", "49 8d 45 00"),
	FORM("lea r64, [r12+r9*2]", "4b 8d 04 4c"),
	FORM("lea r64, [rax+riz] (SIB index 100)", "48 8d 04 20"),
	FORM("lea r64, [r8+r12*4] (REX.X index)", "4b 8d 04 a0"),
	FORM("lea r64, [rip+disp32]", "48 8d 05 00 01 00 00"),
	FORM("lea r32, [rax+rcx]", "8d 14 08"),
	FORM("lea r16, [rax+rcx]", "66 8d 14 08"),
	FORM("lea r64, [eax+ecx] (67)", "67 48 8d 14 08"),
	FORM("lea r32, [eax+ecx*4+disp32] (67)", "67 8d 94 88 00 00 00 f0"),
	FORM("lea r32, [eip+disp32] (67)", "67 8d 05 00 01 00 00"),
	/* CBW family, LAHF/SAHF, flag instructions */
	FORM("cbw", "66 98"),
	FORM("cwde", "98"),
	FORM("cdqe", "48 98"),
	FORM("cwd", "66 99"),
	FORM("cdq", "99"),
	FORM("cqo", "48 99"),
	FORM("lahf", "9f"),
	FORM("sahf", "9e"),
	FORM("clc", "f8"),
	FORM("stc", "f9"),
	FORM("cmc", "f5"),
	FORM("cld", "fc", .opt = ORACLE_DF),
	FORM("std", "fd", .opt = ORACLE_DF),
	FORM("nop", "90"),
	FORM("nop r/m32", "0f 1f 44 00 00"),
	FORM("pause", "f3 90"),
	/* XCHG family, BSWAP, MOVBE */
	FORM("xchg r/m8, r8", "86 d1"),
	FORM("xchg r/m16, r16", "66 87 d1"),
	FORM("xchg r/m32, r32", "87 d1"),
	FORM("xchg r/m64, r64", "4d 87 c8"),
	FORM("xchg m64, r64", "48 87 53 10", .opt = ORACLE_MEM),
	FORM("xchg m8, r8", "86 53 10", .opt = ORACLE_MEM),
	FORM("xchg eax, ecx (91)", "91"),
	FORM("xchg rax, r9 (49 91)", "49 91"),
	FORM("xchg ax, dx", "66 92"),
	FORM("xchg r8d, eax (41 90)", "41 90"),
	FORM("xadd r/m8, r8", "0f c0 d1"),
	FORM("xadd r/m16, r16", "66 0f c1 d1"),
	FORM("xadd r/m32, r32", "0f c1 d1"),
	FORM("xadd r/m64, r64", "48 0f c1 d1"),
	FORM("xadd m32, r32", "0f c1 53 10", .opt = ORACLE_MEM),
	FORM("lock xadd m64, r64", "f0 48 0f c1 53 10", .opt = ORACLE_MEM),
	FORM("cmpxchg r/m8, r8", "0f b0 d1", .gen = gen_cmpxchg_reg),
	FORM("cmpxchg r/m16, r16", "66 0f b1 d1", .gen = gen_cmpxchg_reg),
	FORM("cmpxchg r/m32, r32", "0f b1 d1", .gen = gen_cmpxchg_reg),
	FORM("cmpxchg r/m64, r64", "48 0f b1 d1", .gen = gen_cmpxchg_reg),
	FORM("cmpxchg r/m32, r32 (eax itself)", "0f b1 c0"),
	FORM("cmpxchg m32, r32", "0f b1 53 10", .opt = ORACLE_MEM, .gen = gen_cmpxchg_eq),
	FORM("lock cmpxchg m64, r64", "f0 48 0f b1 53 10", .opt = ORACLE_MEM, .gen = gen_cmpxchg_eq),
	FORM("cmpxchg m8, r8", "0f b0 53 10", .opt = ORACLE_MEM, .gen = gen_cmpxchg_eq),
	FORM("cmpxchg8b m64", "0f c7 0b", .opt = ORACLE_MEM, .gen = gen_cmpxchg8b),
	FORM("lock cmpxchg16b m128", "f0 48 0f c7 0b", .opt = ORACLE_MEM, .feature = FEAT_CX16, .gen = gen_cmpxchg16b),
	FORM("bswap r32", "0f c9"),
	FORM("bswap r64", "48 0f c9"),
	FORM("bswap r64 (r13)", "49 0f cd"),
	FORM("movbe r32, m32", "0f 38 f0 53 10", .opt = ORACLE_MEM, .feature = FEAT_MOVBE),
	FORM("movbe r64, m64", "48 0f 38 f0 53 10", .opt = ORACLE_MEM, .feature = FEAT_MOVBE),
	FORM("movbe r16, m16", "66 0f 38 f0 53 10", .opt = ORACLE_MEM, .feature = FEAT_MOVBE),
	FORM("movbe m32, r32", "0f 38 f1 53 10", .opt = ORACLE_MEM, .feature = FEAT_MOVBE),
	FORM("movbe m64, r64", "48 0f 38 f1 53 10", .opt = ORACLE_MEM, .feature = FEAT_MOVBE),
	/* Stack */
	FORM("push r64", "53"),
	FORM("push r64 (r12)", "41 54"),
	FORM("push r16", "66 53"),
	FORM("push rsp", "54"),
	FORM("pop r64", "5a"),
	FORM("pop r64 (r15)", "41 5f"),
	FORM("pop r16", "66 5a"),
	FORM("pop rsp", "5c"),
	FORM("push imm8", "6a 80"),
	FORM("push imm32", "68 78 56 34 92"),
	FORM("push imm16 (66)", "66 68 78 56"),
	FORM("push m64", "ff 73 10", .opt = ORACLE_MEM),
	FORM("pop m64", "8f 43 10", .opt = ORACLE_MEM),
	FORM("pop m16", "66 8f 43 10", .opt = ORACLE_MEM),
	FORM("pushf", "9c"),
	FORM("pushf (16-bit)", "66 9c"),
	FORM("popf", "9d", .opt = ORACLE_DF, .gen = gen_popf),
	FORM("leave", "c9", .gen = gen_leave),
	FORM("leave (16-bit)", "66 c9", .gen = gen_leave),
	FORM("enter 0x20, 0", "c8 20 00 00", .gen = gen_enter),
	FORM("enter 0x10, 1", "c8 10 00 01", .gen = gen_enter),
	FORM("enter 0x08, 3", "c8 08 00 03", .gen = gen_enter),
	FORM("enter 0x100, 0 (16-bit)", "66 c8 00 01 00", .gen = gen_enter),
	FORM("call rel32 (+0)", "e8 00 00 00 00"),
	FORM("jmp rel8 over lea", "eb 04 48 8d 49 01"),
	FORM("jmp rel32 over lea", "e9 04 00 00 00 48 8d 49 01"),
	FORM("jrcxz over lea", "e3 04 48 8d 49 01"),
	FORM("jecxz over lea (67)", "67 e3 04 48 8d 49 01"),
	FORM("loop over lea", "e2 04 48 8d 49 01"),
	FORM("loope over lea", "e1 04 48 8d 49 01"),
	FORM("loopne over lea", "e0 04 48 8d 49 01"),
	/* Exceptions the core must raise */
	FORM("ud2 (#UD)", "0f 0b"),
	FORM("lock add r/m32, r32 (register: #UD)", "f0 01 c8"),
	FORM_END
};

void oracle_forms_core(struct oracle_set *set)
{
	forms_alu(set);
	forms_unary(set);
	forms_cond(set);
	oracle_add_table(set, core_table);
}
