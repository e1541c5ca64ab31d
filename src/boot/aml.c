/* AML encoding: package lengths, name strings, integers, the few named objects the DSDT needs. */
#include <errno.h>
#include <string.h>

#include "boot/aml.h"

/* Opcodes (ACPI 6.4, 20.2.5 and 20.3). */
#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_NAME_OP     0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP    0x10
#define AML_BUFFER_OP   0x11
#define AML_PACKAGE_OP  0x12
#define AML_EXT_PREFIX  0x5b
#define AML_DEVICE_OP   0x82	/* after ExtOpPrefix */
#define AML_ONES_OP     0xff
#define AML_ROOT_CHAR   0x5c
#define AML_DUAL_NAME   0x2e
#define AML_MULTI_NAME  0x2f

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

static void aml_nameseg(struct aml *a, const char *seg, size_t n)
{
	char s[4] = { '_', '_', '_', '_' };

	memcpy(s, seg, n > 4 ? 4 : n);
	aml_bytes(a, s, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path, *dot;
	unsigned segs = 1;

	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	}
	for (const char *q = p; *q; q++)
		segs += *q == '.';
	if (segs == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)segs);
	}
	for (;;) {
		dot = strchr(p, '.');
		aml_nameseg(a, p, dot ? (size_t)(dot - p) : strlen(p));
		if (!dot)
			break;
		p = dot + 1;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO_OP);
	else if (v == 1)
		aml_byte(a, AML_ONE_OP);
	else if (v == UINT64_MAX)
		aml_byte(a, AML_ONES_OP);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters of 5 bits ('A' = 1), then four hex digits; byte 0 is the most significant (6.1.5). */
uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < 3 && id[i]; i++)
		v = v << 5 | ((uint32_t)(id[i] - 0x40) & 0x1f);
	for (; i < 7 && id[i]; i++) {
		char c = id[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 0;

		v = v << 4 | d;
	}
	/* 15 + 16 = 31 bits, left-aligned below a zero top bit; stored big-endian. */
	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, aml_eisaid_value(id), 4);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, path);
}

static void aml_open(struct aml *a)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		a->err = -ENOSPC;
		return;
	}
	a->open[a->depth++] = a->len;
}

/*
 * PkgLength (20.2.4) counts its own bytes. One byte holds up to 63; with
 * n more bytes, bits 7:6 of the lead byte say n, its bits 3:0 hold the low
 * nibble and the following bytes the rest.
 */
void aml_close(struct aml *a)
{
	size_t start, body, total;
	uint8_t pl[4];
	unsigned n;

	if (a->err)
		return;
	if (!a->depth) {
		a->err = -EINVAL;
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	total = body + n;
	if (n == 1) {
		pl[0] = (uint8_t)total;
	} else {
		pl[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			pl[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, pl, n);
	a->len += n;
}

void aml_scope_open(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_namestring(a, path);
}

void aml_device_open(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_namestring(a, path);
}

void aml_package_open(struct aml *a, uint8_t count)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, count);
}

void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
	aml_integer(a, n);
	aml_bytes(a, bytes, n);
	aml_close(a);
}
