/*
 * Memory of the translator. Generated code lives in one memfd mapped twice:
 * executable (not writable) in the low 2 GiB, where the code runs, and
 * writable (not executable) elsewhere, where it is written and patched,
 * so no page is ever writable and executable at once (W^X). Both the code
 * and the vCPU state it touches are in the low 2 GiB (MAP_32BIT), so the
 * code reaches the state with absolute 32-bit addresses and calls with
 * rel32.
 */
#ifndef RV_JIT_CODEBUF_H
#define RV_JIT_CODEBUF_H

#include <stddef.h>
#include <stdint.h>

struct codebuf {
	uint8_t *rx;		/* executable view (low 2 GiB) */
	uint8_t *rw;		/* writable view */
	size_t size;
	int fd;
};

int codebuf_init(struct codebuf *cb, size_t size);
/*
 * The writable view's pages of [from, to) are not needed for now: drop
 * them from this view (the memfd keeps the code, and a later write to them,
 * a chaining patch, maps them again), so code written once counts once in
 * the resident size and not once per view.
 */
void codebuf_release_written(struct codebuf *cb, size_t from, size_t to);
void codebuf_fini(struct codebuf *cb);

static inline intptr_t codebuf_delta(const struct codebuf *cb)
{
	return (intptr_t)(cb->rx - cb->rw);
}

#endif
