/* Host-CPU oracle driver: random inputs per form, run natively and on the soft CPU, compare, report. */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oracle.h"

/* ------------------------------------------------------------------ */
/* Random numbers.                                                     */

uint64_t oracle_rand(struct oracle_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t oracle_rand_below(struct oracle_rng *r, uint64_t n)
{
	return n ? oracle_rand(r) % n : 0;
}

uint64_t oracle_rand_edge(struct oracle_rng *r)
{
	static const unsigned bits[] = { 8, 16, 32, 64 };
	uint64_t x = oracle_rand(r);
	unsigned b = bits[(x >> 8) & 3];
	uint64_t m = b == 64 ? ~0ull : (1ull << b) - 1;
	uint64_t hi = (x & 0x10000) ? oracle_rand(r) & ~m : 0;

	switch (x & 7) {
	case 0: return oracle_rand_below(r, 4) | hi;		/* 0..3 */
	case 1: return (m - oracle_rand_below(r, 3)) | hi;	/* -1..-3 of size */
	case 2: return ((m >> 1) - oracle_rand_below(r, 2)) | hi;	/* max signed */
	case 3: return ((m >> 1) + 1 + oracle_rand_below(r, 2)) | hi;	/* min signed */
	case 4: return (oracle_rand(r) & m) | hi;		/* random within size */
	default: return oracle_rand(r);
	}
}

double oracle_rand_double(struct oracle_rng *r)
{
	static const uint64_t special[] = {
		0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		0x7ff8000000000000ull, 0x7ff4000000000000ull, 0x0000000000000001ull,
		0x000fffffffffffffull, 0x3ff0000000000000ull, 0xbff8000000000000ull,
		0x7fefffffffffffffull, 0x0010000000000000ull, 0x4330000000000000ull,
	};
	uint64_t x = oracle_rand(r), bits;
	double d;

	switch (x & 3) {
	case 0:
		bits = special[oracle_rand_below(r, sizeof(special) / sizeof(special[0]))];
		break;
	case 1:
		d = (double)(int64_t)(oracle_rand(r) % 2000001) - 1000000.0;
		if (x & 4)
			d /= 1024.0;
		return d;
	default:
		bits = oracle_rand(r);
		break;
	}
	memcpy(&d, &bits, 8);
	return d;
}

float oracle_rand_float(struct oracle_rng *r)
{
	static const uint32_t special[] = {
		0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fa00000u,
		1, 0x007fffffu, 0x3f800000u, 0xbfc00000u, 0x7f7fffffu, 0x00800000u,
	};
	uint64_t x = oracle_rand(r);
	uint32_t bits;
	float f;

	switch (x & 3) {
	case 0:
		bits = special[oracle_rand_below(r, sizeof(special) / sizeof(special[0]))];
		break;
	case 1:
		return (float)((int64_t)(oracle_rand(r) % 20001) - 10000) / ((x & 4) ? 64.0f : 1.0f);
	default:
		bits = (uint32_t)oracle_rand(r);
		break;
	}
	memcpy(&f, &bits, 4);
	return f;
}

void oracle_fx_set_stack(struct oracle_case *c, unsigned n, const long double *v)
{
	unsigned top = (8 - n) & 7, i;
	uint16_t fsw;

	memcpy(&fsw, c->fx + 2, 2);
	fsw = (uint16_t)((fsw & ~0x3800u) | top << 11);
	memcpy(c->fx + 2, &fsw, 2);
	c->fx[4] = 0;
	for (i = 0; i < 8; i++) {
		memset(c->fx + 32 + 16 * i, 0, 16);
		if (i < n) {
			memcpy(c->fx + 32 + 16 * i, &v[i], 10);
			c->fx[4] |= (uint8_t)(1u << ((top + i) & 7));
		}
	}
}

/* FNINIT state, MXCSR default, random XMM registers. */
static void fx_gen(struct oracle_case *c, struct oracle_rng *r)
{
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;
	unsigned i, k;

	memset(c->fx, 0, sizeof(c->fx));
	memcpy(c->fx, &fcw, 2);
	memcpy(c->fx + 24, &mxcsr, 4);
	memcpy(c->fx + 28, &mask, 4);
	for (i = 0; i < 16; i++) {
		uint8_t *x = c->fx + 160 + 16 * i;
		switch (oracle_rand_below(r, 3)) {
		case 0:
			for (k = 0; k < 2; k++) {
				double d = oracle_rand_double(r);
				memcpy(x + 8 * k, &d, 8);
			}
			break;
		case 1:
			for (k = 0; k < 4; k++) {
				float f = oracle_rand_float(r);
				memcpy(x + 4 * k, &f, 4);
			}
			break;
		default:
			for (k = 0; k < 2; k++) {
				uint64_t v = oracle_rand_edge(r);
				memcpy(x + 8 * k, &v, 8);
			}
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* The set of forms.                                                   */

struct oracle_entry {
	struct oracle_form f;
	char name[96];
	uint8_t code[16];
	unsigned len;
};

struct oracle_set {
	struct oracle_entry *e;
	unsigned n, cap;
};

static int hex_parse(const char *hex, uint8_t *out, unsigned max)
{
	unsigned n = 0;

	while (*hex) {
		unsigned v;
		if (isspace((unsigned char)*hex)) {
			hex++;
			continue;
		}
		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]) || n >= max)
			return -1;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return (int)n;
}

void oracle_add(struct oracle_set *set, const struct oracle_form *f)
{
	struct oracle_entry *e;
	int len;

	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 256;
		set->e = realloc(set->e, set->cap * sizeof(*set->e));
		if (!set->e) {
			perror("oracle");
			exit(2);
		}
	}
	e = &set->e[set->n];
	memset(e, 0, sizeof(*e));
	e->f = *f;
	snprintf(e->name, sizeof(e->name), "%s", f->name);
	e->f.name = NULL;
	e->f.hex = NULL;
	len = hex_parse(f->hex, e->code, sizeof(e->code) - 1);
	if (len <= 0) {
		fprintf(stderr, "oracle: bad instruction bytes \"%s\" in form \"%s\"\n", f->hex, f->name);
		exit(2);
	}
	e->len = (unsigned)len;
	set->n++;
}

void oracle_add_table(struct oracle_set *set, const struct oracle_form *table)
{
	for (; table->name; table++)
		oracle_add(set, table);
}

void oracle_addf(struct oracle_set *set, const struct oracle_form *tmpl, const char *hex,
		 const char *name_fmt, ...)
{
	struct oracle_form f = *tmpl;
	char name[96];
	va_list ap;

	va_start(ap, name_fmt);
	vsnprintf(name, sizeof(name), name_fmt, ap);
	va_end(ap);
	f.name = name;
	f.hex = hex;
	oracle_add(set, &f);
}

/* ------------------------------------------------------------------ */
/* Options and reporting.                                              */

static struct {
	uint64_t seed;
	unsigned cases;
	unsigned max_print;
	const char *filter;
	bool verbose, list, native_only, no_fork, compat, translate;
} opt = { .seed = 0x5eed0ac1e, .cases = 2000, .max_print = 3 };

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *current_form = "";

static void on_alarm(int sig)
{
	static const char msg[] = "oracle: timeout (hang) in form: ";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	w += write(2, current_form, strlen(current_form));
	w += write(2, "\n", 1);
	(void)w;
	_exit(3);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void case_gen(const struct oracle_entry *e, struct oracle_rng *r, struct oracle_case *c)
{
	unsigned i;

	for (i = 0; i < 16; i++)
		c->r.gpr[i] = oracle_rand_edge(r);
	c->r.gpr[RSP] = ORACLE_STACK;
	if (e->f.opt & ORACLE_MEM)
		c->r.gpr[RBX] = ORACLE_MEMPTR;
	c->r.rflags = (e->f.opt & ORACLE_NOFLAGS) ? 0 : (oracle_rand(r) & F_ARITH);
	if (e->f.opt & ORACLE_DF)
		c->r.rflags |= oracle_rand(r) & F_DF;
	c->r.rflags |= 2;
	for (i = 0; i < ORACLE_WIN; i += 8) {
		uint64_t v = (i & 0x38) == 0 ? oracle_rand_edge(r) : oracle_rand(r);
		memcpy(c->win + i, &v, 8);
	}
	if (e->f.opt & ORACLE_FPU)
		fx_gen(c, r);
	if (e->f.gen)
		e->f.gen(&e->f, c, r);
}

/* The compared parts of two FXSAVE images: FCW, FSW, FTW, MXCSR, ST0-7 (80 bits), XMM0-15. */
static bool fx_differs(const uint8_t *a, const uint8_t *b, uint16_t fsw_undef)
{
	uint16_t fa, fb;
	unsigned i;

	memcpy(&fa, a + 2, 2);
	memcpy(&fb, b + 2, 2);
	if (memcmp(a, b, 2) || ((fa ^ fb) & ~fsw_undef) || a[4] != b[4] || memcmp(a + 24, b + 24, 4))
		return true;
	for (i = 0; i < 8; i++)
		if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10))
			return true;
	return memcmp(a + 160, b + 160, 256) != 0;
}

static void fx_print(const uint8_t *a, const uint8_t *b, const uint8_t *in)
{
	static const struct { const char *name; unsigned off, len; } f[] = {
		{ "fcw", 0, 2 }, { "fsw", 2, 2 }, { "ftw", 4, 1 }, { "mxcsr", 24, 4 },
	};
	unsigned i, k;

	for (i = 0; i < 4; i++) {
		if (memcmp(a + f[i].off, b + f[i].off, f[i].len)) {
			uint32_t x = 0, y = 0, z = 0;
			memcpy(&x, a + f[i].off, f[i].len);
			memcpy(&y, b + f[i].off, f[i].len);
			memcpy(&z, in + f[i].off, f[i].len);
			printf("    %s: native %x, soft %x (was %x)\n", f[i].name, x, y, z);
		}
	}
	for (i = 0; i < 24; i++) {
		unsigned off = i < 8 ? 32 + 16 * i : 160 + 16 * (i - 8), len = i < 8 ? 10 : 16;
		if (!memcmp(a + off, b + off, len))
			continue;
		printf("    %s%u: native ", i < 8 ? "st" : "xmm", i < 8 ? i : i - 8);
		for (k = len; k-- > 0;)
			printf("%02x", a[off + k]);
		printf(", soft ");
		for (k = len; k-- > 0;)
			printf("%02x", b[off + k]);
		printf(", was ");
		for (k = len; k-- > 0;)
			printf("%02x", in[off + k]);
		printf("\n");
	}
}

/* Mismatch description for one case; returns true if a defined part differs. */
struct cmp {
	bool fail;
	uint32_t undef_diff;	/* undefined flags that differ (information) */
};

static struct cmp case_compare(const struct oracle_entry *e, const struct oracle_case *c,
			       const struct oracle_result *n, const struct oracle_result *s)
{
	struct cmp out = { false, 0 };
	uint32_t undef = e->f.undef_fn ? e->f.undef_fn(&e->f, c) : e->f.undef;
	uint64_t gmask = (e->f.opt & ORACLE_COMPAT32) ? 0xffffffffull : ~0ull;
	unsigned i;

	if (s->error || n->error || n->vector != s->vector) {
		out.fail = true;
		return out;
	}
	for (i = 0; i < 16; i++) {
		if (i == RSP && n->vector >= 0)
			continue;	/* the frames differ: a signal vs an IDT delivery */
		if ((n->r.gpr[i] ^ s->r.gpr[i]) & gmask)
			out.fail = true;
	}
	if ((n->r.rflags ^ s->r.rflags) & F_ALL & ~undef)
		out.fail = true;
	out.undef_diff = (uint32_t)((n->r.rflags ^ s->r.rflags) & undef & F_ALL);
	if ((e->f.opt & ORACLE_FPU) && fx_differs(n->fx, s->fx, e->f.fsw_undef))
		out.fail = true;
	if (n->vector >= 0) {
		if (n->fault_rip != s->fault_rip)
			out.fail = true;
		if (memcmp(n->win, s->win, ORACLE_WIN_NOSTACK))
			out.fail = true;
	} else if (memcmp(n->win, s->win, ORACLE_WIN)) {
		out.fail = true;
	}
	return out;
}

static void flags_str(uint64_t f, char *buf)
{
	snprintf(buf, 16, "%c%c%c%c%c%c%c",
		 f & F_OF ? 'O' : '-', f & F_DF ? 'D' : '-', f & F_SF ? 'S' : '-',
		 f & F_ZF ? 'Z' : '-', f & F_AF ? 'A' : '-', f & F_PF ? 'P' : '-',
		 f & F_CF ? 'C' : '-');
}

static void case_print(const struct oracle_entry *e, const struct oracle_case *c,
		       const struct oracle_result *n, const struct oracle_result *s)
{
	uint32_t undef = e->f.undef_fn ? e->f.undef_fn(&e->f, c) : e->f.undef;
	char fi[16], fn[16], fs[16];
	unsigned i, k = 0;

	flags_str(c->r.rflags, fi);
	printf("    in:");
	for (i = 0; i < 16; i++) {
		if (i == RSP)
			continue;
		if (i < 8 || n->r.gpr[i] != s->r.gpr[i] || n->r.gpr[i] != c->r.gpr[i]) {
			printf("%s %s=%llx", k % 4 == 0 && k ? "\n       " : "", reg_names[i],
			       (unsigned long long)c->r.gpr[i]);
			k++;
		}
	}
	printf(" flags=%s\n", fi);
	if (n->error || s->error) {
		printf("    %s: %s\n", n->error ? "native" : "soft", n->error ? n->error : s->error);
		return;
	}
	if (n->vector != s->vector) {
		printf("    exception: native %d, soft %d\n", n->vector, s->vector);
		return;
	}
	if (n->vector >= 0 && n->fault_rip != s->fault_rip)
		printf("    #%d at rip: native %llx, soft %llx\n", n->vector,
		       (unsigned long long)n->fault_rip, (unsigned long long)s->fault_rip);
	for (i = 0; i < 16; i++) {
		if (i == RSP && n->vector >= 0)
			continue;
		if (n->r.gpr[i] != s->r.gpr[i])
			printf("    %s: native %llx, soft %llx\n", reg_names[i],
			       (unsigned long long)n->r.gpr[i], (unsigned long long)s->r.gpr[i]);
	}
	if ((n->r.rflags ^ s->r.rflags) & F_ALL) {
		flags_str(n->r.rflags, fn);
		flags_str(s->r.rflags, fs);
		printf("    flags: native %s, soft %s", fn, fs);
		if (undef)
			flags_str(undef, fi), printf(" (undefined: %s)", fi);
		printf("\n");
	}
	if (e->f.opt & ORACLE_FPU)
		fx_print(n->fx, s->fx, c->fx);
	for (i = 0; i < ORACLE_WIN; i += 8) {
		uint64_t a, b;
		memcpy(&a, n->win + i, 8);
		memcpy(&b, s->win + i, 8);
		if (a != b && !(n->vector >= 0 && i >= ORACLE_WIN_NOSTACK))
			printf("    mem[%#llx]: native %016llx, soft %016llx (was %016llx)\n",
			       (unsigned long long)(ORACLE_DATA + i), (unsigned long long)a,
			       (unsigned long long)b, (unsigned long long)*(const uint64_t *)(c->win + i));
	}
}

static void usage(void)
{
	printf("usage: oracle [--seed N] [--cases N] [--long] [--filter SUBSTR] [--list]\n"
	       "              [--native-only] [--no-fork] [--max-print N] [--compat] [--translate] [-v]\n"
	       "  --translate: run the soft CPU's translator (src/jit) instead of its interpreter\n"
	       "  default: 2000 cases per form, each form in a child process (--no-fork: in-process, for gdb)\n"
	       "  --compat: also run the 32-bit compatibility-mode forms (off by default: see README.md)\n");
}

static int parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--seed") && v) {
			opt.seed = strtoull(v, NULL, 0);
			i++;
		} else if (!strcmp(a, "--cases") && v) {
			opt.cases = (unsigned)strtoul(v, NULL, 0);
			i++;
		} else if (!strcmp(a, "--long")) {
			opt.cases = 50000;
		} else if (!strcmp(a, "--filter") && v) {
			opt.filter = v;
			i++;
		} else if (!strcmp(a, "--max-print") && v) {
			opt.max_print = (unsigned)strtoul(v, NULL, 0);
			i++;
		} else if (!strcmp(a, "--list")) {
			opt.list = true;
		} else if (!strcmp(a, "--no-fork")) {
			opt.no_fork = true;
		} else if (!strcmp(a, "--compat")) {
			opt.compat = true;
		} else if (!strcmp(a, "--translate")) {
			opt.translate = true;
		} else if (!strcmp(a, "--native-only")) {
			opt.native_only = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = true;
		} else {
			usage();
			return -1;
		}
	}
	return 0;
}

/* Native-only check of a form: it must run natively without unexpected hangs; counts exceptions. */
static unsigned form_native_only(const struct oracle_entry *e, struct oracle_rng *rng)
{
	struct oracle_case c;
	struct oracle_result n;
	unsigned i, faults = 0;

	for (i = 0; i < opt.cases; i++) {
		case_gen(e, rng, &c);
		native_run(&c, &n);
		faults += n.vector >= 0;
	}
	return faults;
}

/* Check the native runner against known answers, so a broken stub cannot pass as "all equal". */
static int native_selftest(void)
{
	static const uint8_t add[] = { 0x48, 0x01, 0xc8 };		/* add rax, rcx */
	static const uint8_t sub_mem[] = { 0x48, 0x29, 0x53, 0x10 };	/* sub [rbx+0x10], rdx */
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	static struct oracle_case c;
	static struct oracle_result r;
	uint64_t addr, v;
	unsigned i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < 16; i++)
		c.r.gpr[i] = 0x1111111111111111ull * i;
	c.r.gpr[RSP] = ORACLE_STACK;
	c.r.gpr[RAX] = ~0ull;
	c.r.gpr[RCX] = 1;
	c.r.rflags = 2 | F_OF | F_SF;
	native_load(add, sizeof(add), false, false);
	native_run(&c, &r);
	if (r.vector >= 0 || r.r.gpr[RAX] != 0 || (r.r.rflags & F_ARITH) != (F_CF | F_ZF | F_PF | F_AF) ||
	    r.r.gpr[R15] != c.r.gpr[R15] || r.r.gpr[RSP] != ORACLE_STACK)
		return -1;

	c.r.gpr[RBX] = ORACLE_MEMPTR;
	c.r.gpr[RDX] = 5;
	v = 3;
	memcpy(c.win + 0x90, &v, 8);
	native_load(sub_mem, sizeof(sub_mem), false, false);
	native_run(&c, &r);
	memcpy(&v, r.win + 0x90, 8);
	if (r.vector >= 0 || v != (uint64_t)-2 || !(r.r.rflags & F_CF))
		return -2;

	addr = native_load(ud2, sizeof(ud2), false, false);
	native_run(&c, &r);
	if (r.vector != 6 || r.fault_rip != addr || r.r.gpr[R14] != c.r.gpr[R14])
		return -3;
	return 0;
}

#define FORM_FAILED     1
#define FORM_UNDEF_DIFF 2

/* All cases of one form on both sides; prints its failures. Returns FORM_* bits. */
static int form_run(const struct oracle_entry *e)
{
	struct oracle_rng rngs = { opt.seed ^ name_hash(e->name) }, *rng = &rngs;
	static struct oracle_case c;
	static struct oracle_result n, s;
	bool compat = e->f.opt & ORACLE_COMPAT32;
	bool fpu = e->f.opt & ORACLE_FPU;
	unsigned k, nfail = 0, nundef = 0;
	uint32_t undef_seen = 0;
	uint64_t addr;
	int ret = 0;

	current_form = e->name;
	alarm(20);
	addr = native_load(e->code, e->len, compat, fpu);
	soft_load(e->code, e->len, addr, compat, fpu);
	for (k = 0; k < opt.cases; k++) {
		struct cmp r;

		case_gen(e, rng, &c);
		native_run(&c, &n);
		soft_run(&c, &s);
		r = case_compare(e, &c, &n, &s);
		if (r.undef_diff) {
			nundef++;
			undef_seen |= r.undef_diff;
		}
		if (!r.fail)
			continue;
		if (nfail == 0) {
			printf("FAIL %s [", e->name);
			for (unsigned b = 0; b < e->len; b++)
				printf("%s%02x", b ? " " : "", e->code[b]);
			printf("]\n");
		}
		if (nfail < opt.max_print)
			case_print(e, &c, &n, &s);
		nfail++;
		if (s.error)
			break;	/* the soft CPU cannot run it at all: one report is enough */
	}
	alarm(0);
	if (nfail) {
		printf("     %s: %u of %u cases failed\n", e->name, nfail, k < opt.cases ? k + 1 : opt.cases);
		ret |= FORM_FAILED;
	} else if (opt.verbose) {
		printf("ok   %s\n", e->name);
	}
	if (nundef) {
		char fu[16];
		flags_str(undef_seen, fu);
		ret |= FORM_UNDEF_DIFF;
		if (opt.verbose)
			printf("info %s: undefined flags %s differ in %u cases\n", e->name, fu, nundef);
	}
	return ret;
}

/*
 * Run the forms run[0..n) in child processes, so a crash or hang of the
 * soft CPU costs one form, not the run. A child runs forms in order and
 * reports each result through a pipe; if it dies, the form it was in is
 * failed and a new child continues with the next one.
 */
static void forms_run_children(const struct oracle_set *set, const unsigned *run, unsigned n, int *res)
{
	unsigned next = 0;

	while (next < n) {
		int fd[2], status;
		unsigned got = 0;
		pid_t pid;
		int32_t rec[2];

		fflush(stdout);
		if (pipe(fd) || (pid = fork()) < 0) {
			perror("oracle: fork");
			exit(2);
		}
		if (pid == 0) {
			unsigned i;
			close(fd[0]);
			for (i = next; i < n; i++) {
				rec[0] = (int32_t)i;
				rec[1] = form_run(&set->e[run[i]]);
				fflush(stdout);
				if (write(fd[1], rec, sizeof(rec)) != (ssize_t)sizeof(rec))
					_exit(4);
			}
			_exit(0);
		}
		close(fd[1]);
		while (read(fd[0], rec, sizeof(rec)) == (ssize_t)sizeof(rec)) {
			res[rec[0]] = rec[1];
			next = (unsigned)rec[0] + 1;
			got++;
		}
		close(fd[0]);
		waitpid(pid, &status, 0);
		if (next < n && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			const char *name = set->e[run[next]].name;
			if (WIFSIGNALED(status))
				printf("FAIL %s: the soft CPU (or the harness) died with signal %d (%s)\n", name,
				       WTERMSIG(status), strsignal(WTERMSIG(status)));
			else
				printf("FAIL %s: the harness exited with status %d (hang?)\n", name,
				       WEXITSTATUS(status));
			res[next++] = FORM_FAILED;
		}
		(void)got;
	}
}

int main(int argc, char **argv)
{
	struct oracle_set set = { 0 };
	unsigned i, passed = 0, failed = 0, skipped = 0, not_run = 0, info_forms = 0, nrun = 0;
	unsigned *run;
	int *res;
	bool soft;
	struct timespec t0, t1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv))
		return 2;
	oracle_forms_core(&set);
	oracle_forms_arith(&set);
	if (oracle_forms_int2)
		oracle_forms_int2(&set);
	if (oracle_forms_sys)
		oracle_forms_sys(&set);
	if (oracle_forms_fpu)
		oracle_forms_fpu(&set);
	if (oracle_forms_sse)
		oracle_forms_sse(&set);
	if (opt.list) {
		for (i = 0; i < set.n; i++) {
			unsigned k;
			printf("%-48s", set.e[i].name);
			for (k = 0; k < set.e[i].len; k++)
				printf(" %02x", set.e[i].code[k]);
			printf("\n");
		}
		return 0;
	}
	if (native_init()) {
		fprintf(stderr, "oracle: cannot map the fixed native pages at %#llx/%#llx\n",
			(unsigned long long)ORACLE_CODE, (unsigned long long)ORACLE_DATA);
		return 2;
	}
	if (native_selftest()) {
		fprintf(stderr, "oracle: native runner self-test failed (%d)\n", native_selftest());
		return 2;
	}
	soft = soft_available() && !opt.native_only;
	if (soft && soft_init(opt.translate)) {
		fprintf(stderr, "oracle: soft CPU initialisation failed\n");
		return 2;
	}
	if (!soft)
		printf("oracle: soft CPU %s: running the native side only\n",
		       soft_available() ? "disabled" : "not built yet (no cpu_run in libringvm-cpu.a)");
	/*
	 * The compatibility-mode path (far jump to a 32-bit CS and back, natively
	 * and on the soft CPU) has never run on a host that allows it, so it is
	 * opt-in: a harness bug there must not fail a default (CI) run. The guest
	 * tests/guests/legacy.asm covers these instructions with QEMU as oracle.
	 */
	if (opt.compat && !native_setup_compat())
		printf("oracle: --compat: host refuses 32-bit compatibility mode: 32-bit forms skipped\n");
	signal(SIGALRM, on_alarm);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	run = calloc(set.n + 1, sizeof(*run));
	res = calloc(set.n + 1, sizeof(*res));
	if (!run || !res)
		return 2;
	for (i = 0; i < set.n; i++) {
		const struct oracle_entry *e = &set.e[i];
		bool compat = e->f.opt & ORACLE_COMPAT32;

		if (opt.filter && !strstr(e->name, opt.filter))
			continue;
		if (compat && !opt.compat) {
			if (opt.verbose)
				printf("not run %s (32-bit compatibility mode: needs --compat)\n", e->name);
			not_run++;
			continue;
		}
		if ((compat && !native_has_compat32()) || !native_has_feature(e->f.feature) ||
		    (soft && !soft_has_feature(e->f.feature))) {
			if (opt.verbose)
				printf("skip %s (%s lacks the feature)\n", e->name,
				       !native_has_feature(e->f.feature) || compat ? "host" : "soft CPU");
			skipped++;
			continue;
		}
		run[nrun++] = i;
	}
	if (!soft) {
		for (i = 0; i < nrun; i++) {
			const struct oracle_entry *e = &set.e[run[i]];
			struct oracle_rng rng = { opt.seed ^ name_hash(e->name) };
			unsigned faults;
			current_form = e->name;
			alarm(20);
			native_load(e->code, e->len, e->f.opt & ORACLE_COMPAT32, e->f.opt & ORACLE_FPU);
			faults = form_native_only(e, &rng);
			if (opt.verbose)
				printf("native %-44s %u/%u cases raised exceptions\n", e->name, faults, opt.cases);
		}
	} else if (opt.no_fork) {
		for (i = 0; i < nrun; i++)
			res[i] = form_run(&set.e[run[i]]);
	} else {
		forms_run_children(&set, run, nrun, res);
	}
	for (i = 0; i < nrun; i++) {
		if (res[i] & FORM_FAILED)
			failed++;
		else
			passed++;
		if (res[i] & FORM_UNDEF_DIFF)
			info_forms++;
	}
	alarm(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (info_forms)
		printf("info: %u forms differ from the host only in undefined flags (-v lists them)\n",
		       info_forms);
	printf("oracle: %u forms, %u cases each, seed %#llx, %.1f s%s\n", passed + failed,
	       opt.cases, (unsigned long long)opt.seed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       skipped ? "" : "");
	if (skipped)
		printf("oracle: %u forms skipped (feature or mode missing)\n", skipped);
	if (not_run)
		printf("oracle: %u 32-bit compatibility-mode forms NOT run (opt in with --compat; "
		       "covered by tests/guests/legacy.asm against QEMU)\n", not_run);
	printf("%u passed, %u failed\n", passed, failed);
	free(run);
	free(res);
	free(set.e);
	return failed ? 1 : 0;
}
