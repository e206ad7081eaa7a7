/*
 * fuzz_select.c — libFuzzer target for the active-learning selection
 * kernels (src/active/select.c, coreset.c, badge.c).
 *
 * The input is read as a spec (strategy, b, d, c, m, seed, threads) and a
 * small pool (up to 64 items) whose embeddings are a few byte-coded values
 * (duplicates are common; NaN and infinity sometimes) and whose probability
 * rows are byte weights normalised, sometimes left unnormalised or made
 * negative.  Besides the sanitizers, it checks that a failure carries a
 * reason, and that a success gives b distinct indices in range, the same
 * again when run twice, and, for the per-row strategies, a heap result
 * sorted best first.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "active/select.h"
#include "util/alloc.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static uint8_t
next_byte(Reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

static float
pick_value(uint8_t b)
{
	static const float vals[] = {0, 1, -1, 0.5f, 2, 1e-30f, 1e30f, -3.25f, 7, 0.1f, 100, -0.5f};

	if (b == 255)
		return NAN;
	if (b == 254)
		return INFINITY;
	return vals[b % (sizeof(vals) / sizeof(vals[0]))];
}

static int
distinct_in_range(const int64_t *x, int64_t b, int64_t n)
{
	for (int64_t i = 0; i < b; i++)
	{
		if (x[i] < 0 || x[i] >= n)
			return 0;
		for (int64_t j = 0; j < i; j++)
			if (x[i] == x[j])
				return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mlops_allocator alloc = MLOPS_MALLOC_ALLOCATOR;
	Reader		r = {data, size};
	int			strategy = next_byte(&r) % 7;
	int64_t		n = next_byte(&r) % 65;
	int64_t		b = (int64_t) (next_byte(&r) % 70) - 2;
	int			d = (int) (next_byte(&r) % 40) - 1;
	int			c = (int) (next_byte(&r) % 6) - 1;
	int64_t		m = next_byte(&r) % 9;
	uint32_t	seed = (uint32_t) next_byte(&r) << 8 | next_byte(&r);
	int			threads = next_byte(&r) % 4;
	uint8_t		pflags = next_byte(&r);
	int			dd = d > 0 ? d : 1;
	int			cc = c > 0 ? c : 1;
	float	   *E = malloc(sizeof(float) * (size_t) (n + 1) * dd);
	float	   *L = malloc(sizeof(float) * (size_t) (m + 1) * dd);
	double	   *P = malloc(sizeof(double) * (size_t) (n + 1) * cc);
	int64_t    *p1 = malloc(sizeof(int64_t) * 80);
	int64_t    *p2 = malloc(sizeof(int64_t) * 80);
	double	   *dist = malloc(sizeof(double) * 80);
	char		err[256];
	int			rc,
				rc2;

	for (int64_t i = 0; i < (n + 1) * dd; i++)
		E[i] = pick_value(next_byte(&r));
	for (int64_t i = 0; i < (m + 1) * dd; i++)
		L[i] = pick_value(next_byte(&r));
	for (int64_t i = 0; i <= n; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < cc; j++)
			s += (P[i * cc + j] = next_byte(&r) % 8);
		for (int j = 0; j < cc; j++)
			P[i * cc + j] = s > 0.0 && !(pflags & 1) ? P[i * cc + j] / s : P[i * cc + j];
		if ((pflags & 6) == 6)
			P[i * cc] = -P[i * cc];
	}

	err[0] = '\0';
	rc = rc2 = 0;
	if (strategy <= SELECT_RANDOM)
	{
		SelectHeap *h = select_heap_create(b, &alloc);
		SelectHeap *h2 = select_heap_create(b, &alloc);

		REQUIRE((h == NULL) == (b < 1));
		if (h)
		{
			int64_t		got,
						got2;

			for (int64_t i = 0; i < n && rc == 0; i++)
			{
				double		s;

				rc = select_row_score((SelectStrategy) strategy, P + i * cc, c, i, seed, SELECT_PROBS_TOLERANCE, &s, err, sizeof(err));
				if (strategy == SELECT_ENTROPY)
				{
					/* the screen refuses what the score refuses, with its reason, and bounds it */
					char		err2[256];
					double		u;
					int			rc3 = select_entropy_upper(P + i * cc, c, SELECT_PROBS_TOLERANCE, &u, err2, sizeof(err2));

					REQUIRE(rc3 == rc);
					if (rc == 0)
						REQUIRE(u >= s);
					else
						REQUIRE(strcmp(err, err2) == 0);
					/* the float4 screen against the score of the same row read as floats */
					if (c >= 1 && c <= 64)
					{
						float		f[64];
						double		d[64],
									sf;
						char		err3[256],
									err4[256];
						int			rc4,
									rc5;

						for (int j = 0; j < c; j++)
							d[j] = f[j] = (float) P[i * cc + j];
						rc4 = select_row_score(SELECT_ENTROPY, d, c, i, 0, SELECT_PROBS_TOLERANCE, &sf, err3, sizeof(err3));
						rc5 = select_entropy_upper_f32(f, c, SELECT_PROBS_TOLERANCE, &u, err4, sizeof(err4));
						REQUIRE(rc4 == rc5);
						if (rc4 == 0)
							REQUIRE(u >= sf);
						else
							REQUIRE(strcmp(err3, err4) == 0);
					}
				}
				if (rc == 0)
				{
					REQUIRE(!isnan(s));
					REQUIRE(select_heap_offer(i % 2 ? h : h2, s, i) == 0);
				}
				else
					REQUIRE(err[0] != '\0');
			}
			REQUIRE(select_heap_merge(h, h2) == 0);
			got = select_heap_result(h, p1, dist);
			REQUIRE(got <= b && got == select_heap_count(h));
			if (rc == 0)
				REQUIRE(got == (n < b ? n : b));
			REQUIRE(distinct_in_range(p1, got, n > 0 ? n : 1) || got == 0);
			for (int64_t i = 1; i < got; i++)
				REQUIRE(dist[i - 1] > dist[i] || (dist[i - 1] == dist[i] && p1[i - 1] < p1[i]));
			got2 = select_heap_result(h, p2, NULL);
			REQUIRE(got2 == got && memcmp(p1, p2, sizeof(int64_t) * got) == 0);
		}
		select_heap_free(h);
		select_heap_free(h2);
	}
	else
	{
		for (int run = 0; run < 2; run++)
		{
			int64_t    *out = run ? p2 : p1;
			int			rr;

			if (strategy == SELECT_CORESET)
				rr = select_coreset(E, n, d, L, m, b, threads, out, dist, &alloc, err, sizeof(err));
			else if (strategy == SELECT_BADGE)
				rr = select_badge(E, d, P, c, n, b, seed, SELECT_PROBS_TOLERANCE, out, &alloc, err, sizeof(err));
			else
				rr = select_cluster_margin(E, d, P, c, n, b, seed, SELECT_PROBS_TOLERANCE, out, &alloc, err, sizeof(err));
			if (run)
				rc2 = rr;
			else
				rc = rr;
		}
		REQUIRE(rc == rc2);
		if (rc != 0)
			REQUIRE(err[0] != '\0');
		else
		{
			REQUIRE(b >= 1 && b <= n);
			REQUIRE(distinct_in_range(p1, b, n));
			REQUIRE(memcmp(p1, p2, sizeof(int64_t) * b) == 0);
		}
	}
	free(E);
	free(L);
	free(P);
	free(p1);
	free(p2);
	free(dist);
	return 0;
}
