/* Host atomics on guest memory reached through cpu_rmw_ptr() (LOCK-prefixed and always-locked instructions). */
#ifndef RV_CPU_INT2_ATOMIC_H
#define RV_CPU_INT2_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

static inline uint64_t atomic_load_sz(void *p, unsigned size)
{
	switch (size) {
	case 1: return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
	case 2: return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
	case 4: return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
	default: return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
	}
}

/* Compare-and-swap; on failure *expected receives the current value. */
static inline bool atomic_cas_sz(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
	bool ok;

	switch (size) {
	case 1: {
		uint8_t e = (uint8_t)*expected;
		ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		break;
	}
	case 2: {
		uint16_t e = (uint16_t)*expected;
		ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		break;
	}
	case 4: {
		uint32_t e = (uint32_t)*expected;
		ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*expected = e;
		break;
	}
	default:
		ok = __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		break;
	}
	return ok;
}

static inline uint64_t atomic_fetch_add_sz(void *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: return __atomic_fetch_add((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
	case 2: return __atomic_fetch_add((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
	case 4: return __atomic_fetch_add((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
	default: return __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST);
	}
}

/* 16-byte compare-and-swap (every x86-64 host this runs on has CMPXCHG16B). */
static inline bool atomic_cas16(void *p, uint64_t *exp_lo, uint64_t *exp_hi, uint64_t new_lo, uint64_t new_hi)
{
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
			 : "=q"(ok), "+m"(*(volatile uint64_t (*)[2])p), "+a"(*exp_lo), "+d"(*exp_hi)
			 : "b"(new_lo), "c"(new_hi)
			 : "memory", "cc");
	return ok;
}

#endif
