/* The opcode table of the second integer group: shifts, mul/div, bits, atomics, strings, BCD, misc. */
#include "cpu/exec_int2.h"

#define M OPF_MODRM
#define B OPF_BYTE

const struct opdesc cpu_ops_int2[] = {
	/* shifts and rotates */
	{ MAP_1B, 0xc0, M | B | OPF_IMM8U, int2_grp2, "grp2 Eb,Ib" },
	{ MAP_1B, 0xc1, M | OPF_IMM8U, int2_grp2, "grp2 Ev,Ib" },
	{ MAP_1B, 0xd0, M | B, int2_grp2, "grp2 Eb,1" },
	{ MAP_1B, 0xd1, M, int2_grp2, "grp2 Ev,1" },
	{ MAP_1B, 0xd2, M | B, int2_grp2, "grp2 Eb,CL" },
	{ MAP_1B, 0xd3, M, int2_grp2, "grp2 Ev,CL" },
	{ MAP_0F, 0xa4, M | OPF_IMM8U, int2_shld_shrd, "shld Ev,Gv,Ib" },
	{ MAP_0F, 0xa5, M, int2_shld_shrd, "shld Ev,Gv,CL" },
	{ MAP_0F, 0xac, M | OPF_IMM8U, int2_shld_shrd, "shrd Ev,Gv,Ib" },
	{ MAP_0F, 0xad, M, int2_shld_shrd, "shrd Ev,Gv,CL" },

	/* group 3 and IMUL */
	{ MAP_1B, 0xf6, M | B | OPF_GRP3 | OPF_LOCKOK, int2_grp3, "grp3 Eb" },
	{ MAP_1B, 0xf7, M | OPF_GRP3 | OPF_LOCKOK, int2_grp3, "grp3 Ev" },
	{ MAP_0F, 0xaf, M, int2_imul_rm, "imul Gv,Ev" },
	{ MAP_1B, 0x69, M | OPF_IMMZ, int2_imul_rm, "imul Gv,Ev,Iz" },
	{ MAP_1B, 0x6b, M | OPF_IMM8, int2_imul_rm, "imul Gv,Ev,Ib" },

	/* BCD */
	{ MAP_1B, 0x27, OPF_INV64, int2_bcd_op, "daa" },
	{ MAP_1B, 0x2f, OPF_INV64, int2_bcd_op, "das" },
	{ MAP_1B, 0x37, OPF_INV64, int2_bcd_op, "aaa" },
	{ MAP_1B, 0x3f, OPF_INV64, int2_bcd_op, "aas" },
	{ MAP_1B, 0xd4, OPF_IMM8U | OPF_INV64, int2_bcd_op, "aam Ib" },
	{ MAP_1B, 0xd5, OPF_IMM8U | OPF_INV64, int2_bcd_op, "aad Ib" },
	{ MAP_1B, 0xd6, OPF_INV64, int2_salc, "salc" },

	/* bits */
	{ MAP_0F, 0xa3, M, int2_bt, "bt Ev,Gv" },
	{ MAP_0F, 0xab, M | OPF_LOCKOK, int2_bt, "bts Ev,Gv" },
	{ MAP_0F, 0xb3, M | OPF_LOCKOK, int2_bt, "btr Ev,Gv" },
	{ MAP_0F, 0xbb, M | OPF_LOCKOK, int2_bt, "btc Ev,Gv" },
	{ MAP_0F, 0xba, M | OPF_IMM8U | OPF_LOCKOK, int2_grp8, "grp8 Ev,Ib" },
	{ MAP_0F, 0xbc, M, int2_bsf_bsr, "bsf/tzcnt Gv,Ev" },
	{ MAP_0F, 0xbd, M, int2_bsf_bsr, "bsr/lzcnt Gv,Ev" },
	{ MAP_0F, 0xb8, M, int2_popcnt, "popcnt Gv,Ev" },
	{ MAP_0F, 0xc8, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xc9, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xca, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xcb, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xcc, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xcd, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xce, 0, int2_bswap, "bswap" },
	{ MAP_0F, 0xcf, 0, int2_bswap, "bswap" },
	{ MAP_0F38, 0xf0, M, int2_movbe_crc32, "movbe/crc32 Gv,Mv" },
	{ MAP_0F38, 0xf1, M, int2_movbe_crc32, "movbe/crc32 Mv,Gv" },

	/* atomics */
	{ MAP_0F, 0xb0, M | B | OPF_LOCKOK, int2_cmpxchg, "cmpxchg Eb,Gb" },
	{ MAP_0F, 0xb1, M | OPF_LOCKOK, int2_cmpxchg, "cmpxchg Ev,Gv" },
	{ MAP_0F, 0xc0, M | B | OPF_LOCKOK, int2_xadd, "xadd Eb,Gb" },
	{ MAP_0F, 0xc1, M | OPF_LOCKOK, int2_xadd, "xadd Ev,Gv" },
	{ MAP_0F, 0xc7, M | OPF_LOCKOK, int2_grp9, "grp9" },

	/* strings */
	{ MAP_1B, 0xa4, B, int2_movs, "movsb" },
	{ MAP_1B, 0xa5, 0, int2_movs, "movs" },
	{ MAP_1B, 0xa6, B, int2_cmps, "cmpsb" },
	{ MAP_1B, 0xa7, 0, int2_cmps, "cmps" },
	{ MAP_1B, 0xaa, B, int2_stos, "stosb" },
	{ MAP_1B, 0xab, 0, int2_stos, "stos" },
	{ MAP_1B, 0xac, B, int2_lods, "lodsb" },
	{ MAP_1B, 0xad, 0, int2_lods, "lods" },
	{ MAP_1B, 0xae, B, int2_scas, "scasb" },
	{ MAP_1B, 0xaf, 0, int2_scas, "scas" },
	{ MAP_1B, 0x6c, B, int2_ins, "insb" },
	{ MAP_1B, 0x6d, 0, int2_ins, "ins" },
	{ MAP_1B, 0x6e, B, int2_outs, "outsb" },
	{ MAP_1B, 0x6f, 0, int2_outs, "outs" },

	/* control and stack */
	{ MAP_1B, 0xe0, OPF_IMM8 | OPF_REL | OPF_FORCE64, int2_loop, "loopne" },
	{ MAP_1B, 0xe1, OPF_IMM8 | OPF_REL | OPF_FORCE64, int2_loop, "loope" },
	{ MAP_1B, 0xe2, OPF_IMM8 | OPF_REL | OPF_FORCE64, int2_loop, "loop" },
	{ MAP_1B, 0xe3, OPF_IMM8 | OPF_REL | OPF_FORCE64, int2_loop, "jrcxz" },
	{ MAP_1B, 0xc8, OPF_ENTER | OPF_DEF64, int2_enter, "enter" },
	{ MAP_1B, 0xc9, OPF_DEF64, int2_leave, "leave" },
	{ MAP_1B, 0x60, OPF_INV64, int2_pusha, "pusha" },
	{ MAP_1B, 0x61, OPF_INV64, int2_popa, "popa" },
	{ MAP_1B, 0x9e, 0, int2_sahf, "sahf" },
	{ MAP_1B, 0x9f, 0, int2_lahf, "lahf" },
	{ MAP_1B, 0xd7, 0, int2_xlat, "xlat" },
	{ MAP_0F, 0x18, M, int2_nop_hint, "prefetch/hint nop" },
	{ MAP_0F, 0x0d, M, int2_nop_hint, "prefetch (AMD)" },
	{ 0 }
};
