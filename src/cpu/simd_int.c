/* Packed-integer operations shared by MMX (64-bit) and SSE2 (128-bit) forms. */
#include "cpu/fpu_priv.h"

union v128 {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
};

static int8_t sat_s8(int v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }
static uint8_t sat_u8(int v) { return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); }
static int16_t sat_s16(int v) { return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static uint16_t sat_u16(int v) { return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

/* Shifts by a count (register or imm8): counts above the lane width clear (or fill with the sign). */
static void simd_shift(union v128 *a, unsigned len, unsigned kind, unsigned width, uint64_t count)
{
	unsigned n = len / width;

	for (unsigned i = 0; i < n; i++) {
		switch (width) {
		case 2:
			if (kind == 0)
				a->w[i] = count > 15 ? 0 : (uint16_t)(a->w[i] >> count);
			else if (kind == 1)
				a->sw[i] = (int16_t)(a->sw[i] >> (count > 15 ? 15 : count));
			else
				a->w[i] = count > 15 ? 0 : (uint16_t)(a->w[i] << count);
			break;
		case 4:
			if (kind == 0)
				a->d[i] = count > 31 ? 0 : a->d[i] >> count;
			else if (kind == 1)
				a->sd[i] = a->sd[i] >> (count > 31 ? 31 : count);
			else
				a->d[i] = count > 31 ? 0 : a->d[i] << count;
			break;
		default:
			if (kind == 0)
				a->q[i] = count > 63 ? 0 : a->q[i] >> count;
			else
				a->q[i] = count > 63 ? 0 : a->q[i] << count;
			break;
		}
	}
}

/* PSRLDQ/PSLLDQ: byte shifts of the whole register. */
static void simd_shift_bytes(union v128 *a, bool left, unsigned count)
{
	union v128 r = { .q = { 0, 0 } };

	if (count > 16)
		count = 16;
	for (unsigned i = 0; i < 16; i++) {
		if (left && i >= count)
			r.b[i] = a->b[i - count];
		else if (!left && i + count < 16)
			r.b[i] = a->b[i + count];
	}
	*a = r;
}

bool simd_int_op(unsigned opcode, uint8_t *dst, const uint8_t *src, unsigned len, uint8_t imm)
{
	union v128 a, b, r;
	unsigned nb = len, nw = len / 2, nd = len / 4, nq = len / 8;
	uint64_t cnt;

	memcpy(&a, dst, len);
	memcpy(&b, src, len);
	memcpy(&cnt, src, 8);
	r = a;
	switch (opcode) {
	case 0x60:	/* PUNPCKLBW */
		for (unsigned i = 0; i < nb / 2; i++) { r.b[2 * i] = a.b[i]; r.b[2 * i + 1] = b.b[i]; }
		break;
	case 0x61:	/* PUNPCKLWD */
		for (unsigned i = 0; i < nw / 2; i++) { r.w[2 * i] = a.w[i]; r.w[2 * i + 1] = b.w[i]; }
		break;
	case 0x62:	/* PUNPCKLDQ */
		for (unsigned i = 0; i < nd / 2; i++) { r.d[2 * i] = a.d[i]; r.d[2 * i + 1] = b.d[i]; }
		break;
	case 0x6c:	/* PUNPCKLQDQ */
		r.q[1] = b.q[0];
		break;
	case 0x68:	/* PUNPCKHBW */
		for (unsigned i = 0; i < nb / 2; i++) { r.b[2 * i] = a.b[nb / 2 + i]; r.b[2 * i + 1] = b.b[nb / 2 + i]; }
		break;
	case 0x69:	/* PUNPCKHWD */
		for (unsigned i = 0; i < nw / 2; i++) { r.w[2 * i] = a.w[nw / 2 + i]; r.w[2 * i + 1] = b.w[nw / 2 + i]; }
		break;
	case 0x6a:	/* PUNPCKHDQ */
		for (unsigned i = 0; i < nd / 2; i++) { r.d[2 * i] = a.d[nd / 2 + i]; r.d[2 * i + 1] = b.d[nd / 2 + i]; }
		break;
	case 0x6d:	/* PUNPCKHQDQ */
		r.q[0] = a.q[1];
		r.q[1] = b.q[1];
		break;
	case 0x63:	/* PACKSSWB */
		for (unsigned i = 0; i < nw; i++) { r.sb[i] = sat_s8(a.sw[i]); r.sb[nw + i] = sat_s8(b.sw[i]); }
		break;
	case 0x67:	/* PACKUSWB */
		for (unsigned i = 0; i < nw; i++) { r.b[i] = sat_u8(a.sw[i]); r.b[nw + i] = sat_u8(b.sw[i]); }
		break;
	case 0x6b:	/* PACKSSDW */
		for (unsigned i = 0; i < nd; i++) { r.sw[i] = sat_s16(a.sd[i]); r.sw[nd + i] = sat_s16(b.sd[i]); }
		break;
	case 0x64: for (unsigned i = 0; i < nb; i++) r.b[i] = a.sb[i] > b.sb[i] ? 0xff : 0; break;
	case 0x65: for (unsigned i = 0; i < nw; i++) r.w[i] = a.sw[i] > b.sw[i] ? 0xffff : 0; break;
	case 0x66: for (unsigned i = 0; i < nd; i++) r.d[i] = a.sd[i] > b.sd[i] ? ~0u : 0; break;
	case 0x74: for (unsigned i = 0; i < nb; i++) r.b[i] = a.b[i] == b.b[i] ? 0xff : 0; break;
	case 0x75: for (unsigned i = 0; i < nw; i++) r.w[i] = a.w[i] == b.w[i] ? 0xffff : 0; break;
	case 0x76: for (unsigned i = 0; i < nd; i++) r.d[i] = a.d[i] == b.d[i] ? ~0u : 0; break;
	case 0xd1: simd_shift(&r, len, 0, 2, cnt); break;	/* PSRLW */
	case 0xd2: simd_shift(&r, len, 0, 4, cnt); break;	/* PSRLD */
	case 0xd3: simd_shift(&r, len, 0, 8, cnt); break;	/* PSRLQ */
	case 0xe1: simd_shift(&r, len, 1, 2, cnt); break;	/* PSRAW */
	case 0xe2: simd_shift(&r, len, 1, 4, cnt); break;	/* PSRAD */
	case 0xf1: simd_shift(&r, len, 2, 2, cnt); break;	/* PSLLW */
	case 0xf2: simd_shift(&r, len, 2, 4, cnt); break;	/* PSLLD */
	case 0xf3: simd_shift(&r, len, 2, 8, cnt); break;	/* PSLLQ */
	case 0xd4: for (unsigned i = 0; i < nq; i++) r.q[i] = a.q[i] + b.q[i]; break;
	case 0xfb: for (unsigned i = 0; i < nq; i++) r.q[i] = a.q[i] - b.q[i]; break;
	case 0xd5: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)(a.sw[i] * b.sw[i]); break;
	case 0xe5: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)((a.sw[i] * b.sw[i]) >> 16); break;
	case 0xe4: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)(((uint32_t)a.w[i] * b.w[i]) >> 16); break;
	case 0xf4:	/* PMULUDQ */
		for (unsigned i = 0; i < nq; i++) r.q[i] = (uint64_t)a.d[2 * i] * b.d[2 * i];
		break;
	case 0xf5:	/* PMADDWD */
		for (unsigned i = 0; i < nd; i++)
			r.d[i] = (uint32_t)((int64_t)a.sw[2 * i] * b.sw[2 * i] +
					    (int64_t)a.sw[2 * i + 1] * b.sw[2 * i + 1]);
		break;
	case 0xf6:	/* PSADBW */
		for (unsigned i = 0; i < nq; i++) {
			unsigned s = 0;

			for (unsigned k = 0; k < 8; k++) {
				int d = a.b[8 * i + k] - b.b[8 * i + k];
				s += (unsigned)(d < 0 ? -d : d);
			}
			r.q[i] = s;
		}
		break;
	case 0xd8: for (unsigned i = 0; i < nb; i++) r.b[i] = sat_u8(a.b[i] - b.b[i]); break;
	case 0xd9: for (unsigned i = 0; i < nw; i++) r.w[i] = sat_u16(a.w[i] - b.w[i]); break;
	case 0xdc: for (unsigned i = 0; i < nb; i++) r.b[i] = sat_u8(a.b[i] + b.b[i]); break;
	case 0xdd: for (unsigned i = 0; i < nw; i++) r.w[i] = sat_u16(a.w[i] + b.w[i]); break;
	case 0xe8: for (unsigned i = 0; i < nb; i++) r.sb[i] = sat_s8(a.sb[i] - b.sb[i]); break;
	case 0xe9: for (unsigned i = 0; i < nw; i++) r.sw[i] = sat_s16(a.sw[i] - b.sw[i]); break;
	case 0xec: for (unsigned i = 0; i < nb; i++) r.sb[i] = sat_s8(a.sb[i] + b.sb[i]); break;
	case 0xed: for (unsigned i = 0; i < nw; i++) r.sw[i] = sat_s16(a.sw[i] + b.sw[i]); break;
	case 0xda: for (unsigned i = 0; i < nb; i++) r.b[i] = a.b[i] < b.b[i] ? a.b[i] : b.b[i]; break;
	case 0xde: for (unsigned i = 0; i < nb; i++) r.b[i] = a.b[i] > b.b[i] ? a.b[i] : b.b[i]; break;
	case 0xea: for (unsigned i = 0; i < nw; i++) r.sw[i] = a.sw[i] < b.sw[i] ? a.sw[i] : b.sw[i]; break;
	case 0xee: for (unsigned i = 0; i < nw; i++) r.sw[i] = a.sw[i] > b.sw[i] ? a.sw[i] : b.sw[i]; break;
	case 0xe0: for (unsigned i = 0; i < nb; i++) r.b[i] = (uint8_t)((a.b[i] + b.b[i] + 1) >> 1); break;
	case 0xe3: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)((a.w[i] + b.w[i] + 1) >> 1); break;
	case 0xdb: for (unsigned i = 0; i < nq; i++) r.q[i] = a.q[i] & b.q[i]; break;
	case 0xdf: for (unsigned i = 0; i < nq; i++) r.q[i] = ~a.q[i] & b.q[i]; break;
	case 0xeb: for (unsigned i = 0; i < nq; i++) r.q[i] = a.q[i] | b.q[i]; break;
	case 0xef: for (unsigned i = 0; i < nq; i++) r.q[i] = a.q[i] ^ b.q[i]; break;
	case 0xf8: for (unsigned i = 0; i < nb; i++) r.b[i] = (uint8_t)(a.b[i] - b.b[i]); break;
	case 0xf9: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)(a.w[i] - b.w[i]); break;
	case 0xfa: for (unsigned i = 0; i < nd; i++) r.d[i] = a.d[i] - b.d[i]; break;
	case 0xfc: for (unsigned i = 0; i < nb; i++) r.b[i] = (uint8_t)(a.b[i] + b.b[i]); break;
	case 0xfd: for (unsigned i = 0; i < nw; i++) r.w[i] = (uint16_t)(a.w[i] + b.w[i]); break;
	case 0xfe: for (unsigned i = 0; i < nd; i++) r.d[i] = a.d[i] + b.d[i]; break;
	/* Shift groups 0F 71-73 by imm8: opcode << 8 | /digit, the operand in dst. */
	case 0x7102: simd_shift(&r, len, 0, 2, imm); break;
	case 0x7104: simd_shift(&r, len, 1, 2, imm); break;
	case 0x7106: simd_shift(&r, len, 2, 2, imm); break;
	case 0x7202: simd_shift(&r, len, 0, 4, imm); break;
	case 0x7204: simd_shift(&r, len, 1, 4, imm); break;
	case 0x7206: simd_shift(&r, len, 2, 4, imm); break;
	case 0x7302: simd_shift(&r, len, 0, 8, imm); break;
	case 0x7306: simd_shift(&r, len, 2, 8, imm); break;
	case 0x7303: if (len != 16) return false; simd_shift_bytes(&r, false, imm); break;
	case 0x7307: if (len != 16) return false; simd_shift_bytes(&r, true, imm); break;
	default:
		return false;
	}
	memcpy(dst, &r, len);
	return true;
}
