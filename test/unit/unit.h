/*
 * unit.h — the kernels' test runner: each test/unit/test_*.c is a program that prints TAP
 * ("ok N - what", "not ok N - what", then the plan "1..N") and exits non-zero on a failure.
 * Plain C, no framework: kernels must build and run without the server.
 */
#ifndef MLOPS_UNIT_H
#define MLOPS_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int	unit_count = 0;
static int	unit_failures = 0;

static inline int
unit_report(int passed, const char *what, const char *file, int line)
{
	unit_count++;
	printf("%s %d - %s\n", passed ? "ok" : "not ok", unit_count, what);
	if (!passed)
	{
		printf("#   failed at %s:%d\n", file, line);
		unit_failures++;
	}
	return passed;
}

/* CHECK(cond, what): cond must hold. */
#define CHECK(cond, what) unit_report((cond) ? 1 : 0, (what), __FILE__, __LINE__)

/* CHECK_INT(got, want, what) */
#define CHECK_INT(got, want, what) \
	do { \
		long long g_ = (long long) (got), w_ = (long long) (want); \
		if (!unit_report(g_ == w_, (what), __FILE__, __LINE__)) \
			printf("#   got %lld, want %lld\n", g_, w_); \
	} while (0)

/* CHECK_STR(got, want, what) */
#define CHECK_STR(got, want, what) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		if (!unit_report(g_ && w_ && strcmp(g_, w_) == 0, (what), __FILE__, __LINE__)) \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* CHECK_NEAR(got, want, tol, what): |got - want| <= tol, and NaN only equals NaN. */
#define CHECK_NEAR(got, want, tol, what) \
	do { \
		double g_ = (got), w_ = (want); \
		int same_ = (isnan(g_) && isnan(w_)) || fabs(g_ - w_) <= (tol); \
		if (!unit_report(same_, (what), __FILE__, __LINE__)) \
			printf("#   got %.17g, want %.17g\n", g_, w_); \
	} while (0)

/* unit_done prints the plan; return its value from main. */
static inline int
unit_done(void)
{
	printf("1..%d\n", unit_count);
	return unit_failures ? 1 : 0;
}

#endif							/* MLOPS_UNIT_H */
