/* Unit tests of src/boot/payload.c: format detection by magic, each decompressor on data compressed here by its library, bounds, corrupt and truncated input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/payload.h"

#define RAW_SIZE (300u * 1024)	/* more than one deflate window, less than an lz4 block */

static uint8_t *raw;		/* what every test compresses: text with some noise */

static int setup(void **state)
{
	uint32_t x = 12345;

	raw = malloc(RAW_SIZE);
	for (size_t i = 0; i < RAW_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (i % 64 < 48) ? (uint8_t)"vmlinux payload "[i % 16] : (uint8_t)(x >> 24);
	}
	return 0;
}

static int teardown(void **state)
{
	free(raw);
	return 0;
}

/* The kernel's build appends the uncompressed size (little-endian) to every format but gzip. */
static size_t append_size(uint8_t *out, size_t n, size_t raw_size)
{
	uint32_t v = (uint32_t)raw_size;

	memcpy(out + n, &v, 4);
	return n + 4;
}

static size_t make_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

static size_t make_xz(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t got = 0;

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, n, out, &got, cap), LZMA_OK);
	return append_size(out, got, n);
}

static size_t make_lzma(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	lzma_options_lzma opt;
	lzma_stream s = LZMA_STREAM_INIT;
	size_t got;

	assert_false(lzma_lzma_preset(&opt, 6));
	assert_int_equal(lzma_alone_encoder(&s, &opt), LZMA_OK);
	s.next_in = in;
	s.avail_in = n;
	s.next_out = out;
	s.avail_out = cap;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	got = s.total_out;
	lzma_end(&s);
	return append_size(out, got, n);
}

static size_t make_zstd(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t got = ZSTD_compress(out, cap, in, n, 19);

	assert_false(ZSTD_isError(got));
	return append_size(out, got, n);
}

/* lz4 legacy frames, as `lz4 -l`: the magic, then blocks of up to 8 MiB each behind its size; here 64 KiB blocks. */
static size_t make_lz4(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t magic = 0x184c2102;
	size_t pos = 4;

	memcpy(out, &magic, 4);
	for (size_t off = 0; off < n; off += 65536) {
		int len = (int)(n - off < 65536 ? n - off : 65536);
		int c = LZ4_compress_default((const char *)in + off, (char *)out + pos + 4, len,
					     (int)(cap - pos - 4));
		uint32_t c32 = (uint32_t)c;

		assert_true(c > 0);
		memcpy(out + pos, &c32, 4);
		pos += 4 + (size_t)c;
	}
	return append_size(out, pos, n);
}

struct format_case {
	enum payload_format fmt;
	const char *name;
	size_t (*make)(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
};

static const struct format_case formats[] = {
	{ PAYLOAD_GZIP, "gzip", make_gzip },
	{ PAYLOAD_XZ, "xz", make_xz },
	{ PAYLOAD_LZMA, "lzma", make_lzma },
	{ PAYLOAD_ZSTD, "zstd", make_zstd },
	{ PAYLOAD_LZ4, "lz4", make_lz4 },
};

static void test_detect(void **state)
{
	static const struct { const char *bytes; size_t n; enum payload_format fmt; } magic[] = {
		{ "\x1f\x8b\x08\x00", 4, PAYLOAD_GZIP },
		{ "\x1f\x9e\x08\x00", 4, PAYLOAD_GZIP },
		{ "BZh91AY", 7, PAYLOAD_BZIP2 },
		{ "\x5d\x00\x00\x80\x00", 5, PAYLOAD_LZMA },
		{ "\xfd" "7zXZ\0\0\x01", 8, PAYLOAD_XZ },
		{ "\x89LZO\0", 5, PAYLOAD_LZO },
		{ "\x02\x21\x4c\x18", 4, PAYLOAD_LZ4 },
		{ "\x28\xb5\x2f\xfd", 4, PAYLOAD_ZSTD },
		{ "\x7f" "ELF", 4, PAYLOAD_UNKNOWN },
		{ "\xfd" "7zXZ", 5, PAYLOAD_UNKNOWN },	/* cut before its magic ends */
		{ "", 0, PAYLOAD_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		assert_int_equal(payload_detect((const uint8_t *)magic[i].bytes, magic[i].n), magic[i].fmt);
	assert_string_equal(payload_format_name(PAYLOAD_XZ), "xz");
	assert_string_equal(payload_format_name(PAYLOAD_LZ4), "lz4");
	assert_string_equal(payload_format_name(PAYLOAD_UNKNOWN), "unknown");
}

/* Each format round-trips, with the appended size behind it, and never writes past the bound. */
static void test_roundtrip(void **state)
{
	size_t cap = RAW_SIZE * 2;
	uint8_t *c = malloc(cap);
	char err[256];

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct format_case *f = &formats[i];
		size_t n = f->make(raw, RAW_SIZE, c, cap), got = 0;
		uint8_t *out = NULL;

		assert_int_equal(payload_detect(c, n), f->fmt);
		assert_int_equal(payload_decompress(f->fmt, c, n, RAW_SIZE, &out, &got, err, sizeof(err)), 0);
		assert_int_equal(got, RAW_SIZE);
		assert_memory_equal(out, raw, RAW_SIZE);
		free(out);

		/* One byte less room than the output needs: refused, nothing returned. */
		out = (uint8_t *)1;
		assert_int_equal(payload_decompress(f->fmt, c, n, RAW_SIZE - 1, &out, &got, err, sizeof(err)),
				 -EFBIG);
		assert_null(out);
		assert_non_null(strstr(err, "more than"));
	}
	free(c);
}

/* A bomb: 64 MiB of zeros in a few KiB stops at the bound (4 KiB), whatever the format. */
static void test_bomb(void **state)
{
	size_t big = 64u << 20, cap = big / 64;
	uint8_t *zeros = calloc(1, big), *c = malloc(cap);
	char err[256];

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct format_case *f = &formats[i];
		size_t n, got = 123;
		uint8_t *out = NULL;

		if (f->fmt == PAYLOAD_LZMA || f->fmt == PAYLOAD_XZ)
			n = f->make(zeros, 8u << 20, c, cap);	/* liblzma is slow: 8 MiB prove it as well */
		else
			n = f->make(zeros, big, c, cap);
		assert_true(n < cap);
		assert_int_equal(payload_decompress(f->fmt, c, n, 4096, &out, &got, err, sizeof(err)), -EFBIG);
		assert_null(out);
		assert_int_equal(got, 0);
	}
	free(zeros);
	free(c);
}

/* Every truncation point and a run of flipped bytes: an error (or success within bounds), never a crash. */
static void test_corrupt_and_truncated(void **state)
{
	size_t cap = RAW_SIZE * 2;
	uint8_t *c = malloc(cap), *bad = malloc(cap);
	char err[256];

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct format_case *f = &formats[i];
		size_t n = f->make(raw, 8192, c, cap), got;
		uint8_t *out;
		int ret;

		/* Cut inside the stream (the appended size, 4 bytes, is not part of it). */
		for (size_t cut = 0; cut < n - 4; cut += (cut < 64 ? 1 : 97)) {
			out = NULL;
			ret = payload_decompress(f->fmt, c, cut, 8192, &out, &got, err, sizeof(err));
			/*
			 * Legacy lz4 frames have no end mark: the magic alone, or
			 * with at most 4 bytes behind it (as the appended length
			 * would be), is an empty kernel.
			 */
			if (f->fmt == PAYLOAD_LZ4 && cut >= 4 && cut <= 8) {
				assert_int_equal(ret, 0);
				assert_int_equal(got, 0);
				free(out);
				continue;
			}
			if (!ret)
				print_error("%s: cut at %zu of %zu decompressed\n", f->name, cut, n);
			assert_int_not_equal(ret, 0);
			assert_null(out);
			assert_true(ret == -EBADMSG || ret == -EFBIG);
		}
		memcpy(bad, c, n);
		for (size_t j = n / 2; j < n / 2 + 8 && j < n; j++)
			bad[j] ^= 0xa5;
		out = NULL;
		ret = payload_decompress(f->fmt, bad, n, 8192, &out, &got, err, sizeof(err));
		if (!ret) {
			/* lz4 and zstd without a checksum may decode garbage: within bounds, still. */
			assert_true(f->fmt == PAYLOAD_LZ4 || f->fmt == PAYLOAD_ZSTD);
			assert_true(got <= 8192);
		}
		free(out);
	}
	free(c);
	free(bad);
}

static void test_unsupported(void **state)
{
	static const uint8_t bzip2[] = "BZh91AY&SY";
	static const uint8_t lzo[] = "\x89LZO\0\r\n\x1a\n";
	static const uint8_t xz[] = "\xfd" "7zXZ";
	uint8_t *out = (uint8_t *)1;
	size_t got;
	char err[256];

	assert_int_equal(payload_decompress(PAYLOAD_BZIP2, bzip2, sizeof(bzip2), 4096, &out, &got,
					    err, sizeof(err)), -ENOTSUP);
	assert_null(out);
	assert_string_equal(err, "bzip2 payload: ringvm has no decompressor for it");
	assert_int_equal(payload_decompress(PAYLOAD_LZO, lzo, sizeof(lzo), 4096, &out, &got,
					    err, sizeof(err)), -ENOTSUP);
	assert_int_equal(payload_decompress(PAYLOAD_UNKNOWN, lzo, sizeof(lzo), 4096, &out, &got,
					    err, sizeof(err)), -ENOTSUP);
	/* A format that does not match the data's magic is refused before any library sees it. */
	assert_int_equal(payload_decompress(PAYLOAD_GZIP, xz, sizeof(xz), 4096, &out, &got,
					    err, sizeof(err)), -EBADMSG);
}

/* An lz4 frame whose block size runs past the data is truncated; its appended size alone ends it. */
static void test_lz4_framing(void **state)
{
	uint8_t buf[64] = { 0x02, 0x21, 0x4c, 0x18, 0x30, 0, 0, 0, 1, 2, 3 };
	uint8_t *out;
	size_t got;
	char err[256];

	assert_int_equal(payload_decompress(PAYLOAD_LZ4, buf, 11, 4096, &out, &got, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "truncated"));
	/* magic + the 4-byte length the build appends: an empty kernel */
	assert_int_equal(payload_decompress(PAYLOAD_LZ4, buf, 8, 4096, &out, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_corrupt_and_truncated),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_lz4_framing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
