/*
 * coreset_tile.h
 *	  The core-set distance loops, written once and compiled once per vector
 *	  width (coreset.c includes this file three times: 4-float vectors for
 *	  any x86-64, 8 for AVX2 and 16 for AVX-512).  Every instance computes
 *	  the same bits: each pair's 16 float lanes get the same float squares
 *	  of the same float differences in the same order, and are added in
 *	  the same tree (lane j + lane j+8, then +4, +2, +1) — only how many
 *	  lanes one instruction holds differs.
 *
 *	  Before inclusion define:
 *	    CS_SFX	name suffix (token)
 *	    CS_ATTR	function attributes (a target, or empty)
 *	    CS_W	floats per vector (4, 8 or 16)
 *	    CS_P	points per tile
 *	    CS_Q	centres per tile
 *
 *	  Rows are padded with zeros to a multiple of 16 floats (dp), so there
 *	  is no tail: a zero difference adds +0 to a lane, which changes nothing.
 *
 *	  Not a public header: coreset.c only.
 */

#define CS_CAT_(a, b) a##_##b
#define CS_CAT(a, b) CS_CAT_(a, b)
#define CS_NAME(f) CS_CAT(f, CS_SFX)
#define CS_NV (16 / CS_W)

typedef float CS_NAME(cs_vec) __attribute__((vector_size(CS_W * 4)));

/* CS_NAME(cs_ld) loads CS_W floats from p (any alignment). */
static inline CS_ATTR __attribute__((always_inline)) CS_NAME(cs_vec)
CS_NAME(cs_ld) (const float *p)
{
	CS_NAME(cs_vec) v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* CS_NAME(cs_sum) adds one pair's 16 lanes in the documented tree. */
static inline CS_ATTR __attribute__((always_inline)) double
CS_NAME(cs_sum) (const CS_NAME(cs_vec) * acc)
{
	float		l[16];
	float		h[8],
				q[4],
				p0,
				p1;

	memcpy(l, acc, sizeof(l));
	for (int j = 0; j < 8; j++)
		h[j] = l[j] + l[j + 8];
	for (int j = 0; j < 4; j++)
		q[j] = h[j] + h[j + 4];
	p0 = q[0] + q[2];
	p1 = q[1] + q[3];
	return (double) (p0 + p1);
}

/*
 * CS_NAME(cs_tile) lowers m[0..np) (np is CS_P or 1) by the squared
 * distances of the points xs[0..np) to the nc centres C (rows of dp floats).
 * A tile of np x CS_Q pairs keeps its accumulators in registers and shares
 * each point's and each centre's loads across the tile.
 */
static inline CS_ATTR __attribute__((always_inline)) void
CS_NAME(cs_tile_n) (const float *const *xs, const int np, const float *C, int64_t nc,
					int dp, double *m)
{
	int64_t		j = 0;

	for (; j + CS_Q <= nc; j += CS_Q)
	{
		CS_NAME(cs_vec) acc[CS_P][CS_Q][CS_NV];
		const float *cq[CS_Q];

#pragma GCC unroll 16
		for (int q = 0; q < CS_Q; q++)
			cq[q] = C + (size_t) (j + q) * (size_t) dp;
#pragma GCC unroll 16
		for (int p = 0; p < CS_P; p++)
#pragma GCC unroll 16
			for (int q = 0; q < CS_Q; q++)
#pragma GCC unroll 16
				for (int v = 0; v < CS_NV; v++)
					acc[p][q][v] = (CS_NAME(cs_vec)) {0};
		for (int k = 0; k < dp; k += 16)
		{
#pragma GCC unroll 16
			for (int v = 0; v < CS_NV; v++)
			{
				CS_NAME(cs_vec) xv[CS_P];

#pragma GCC unroll 16
				for (int p = 0; p < CS_P; p++)
					if (p < np)
						xv[p] = CS_NAME(cs_ld) (xs[p] + k + v * CS_W);
#pragma GCC unroll 16
				for (int q = 0; q < CS_Q; q++)
				{
					CS_NAME(cs_vec) cv = CS_NAME(cs_ld) (cq[q] + k + v * CS_W);

#pragma GCC unroll 16
					for (int p = 0; p < CS_P; p++)
						if (p < np)
						{
							CS_NAME(cs_vec) t = xv[p] - cv;
							CS_NAME(cs_vec) t2 = t * t;

							CS_OPAQUE(t2);	/* no fused multiply-add */
							acc[p][q][v] += t2;
						}
				}
			}
		}
#pragma GCC unroll 16
		for (int p = 0; p < CS_P; p++)
			if (p < np)
#pragma GCC unroll 16
				for (int q = 0; q < CS_Q; q++)
				{
					double		d2 = CS_NAME(cs_sum) (acc[p][q]);

					if (d2 < m[p])
						m[p] = d2;
				}
	}
	for (; j < nc; j++)
	{
		CS_NAME(cs_vec) acc[CS_P][CS_NV];
		const float *c = C + (size_t) j * (size_t) dp;

#pragma GCC unroll 16
		for (int p = 0; p < CS_P; p++)
#pragma GCC unroll 16
			for (int v = 0; v < CS_NV; v++)
				acc[p][v] = (CS_NAME(cs_vec)) {0};
		for (int k = 0; k < dp; k += 16)
		{
#pragma GCC unroll 16
			for (int v = 0; v < CS_NV; v++)
			{
				CS_NAME(cs_vec) cv = CS_NAME(cs_ld) (c + k + v * CS_W);

#pragma GCC unroll 16
				for (int p = 0; p < CS_P; p++)
					if (p < np)
					{
						CS_NAME(cs_vec) t = CS_NAME(cs_ld) (xs[p] + k + v * CS_W) - cv;
						CS_NAME(cs_vec) t2 = t * t;

						CS_OPAQUE(t2);
						acc[p][v] += t2;
					}
			}
		}
#pragma GCC unroll 16
		for (int p = 0; p < CS_P; p++)
			if (p < np)
			{
				double		d2 = CS_NAME(cs_sum) (acc[p]);

				if (d2 < m[p])
					m[p] = d2;
			}
	}
}

static CS_ATTR void
CS_NAME(cs_tile) (const float *const *xs, int np, const float *C, int64_t nc, int dp, double *m)
{
	if (np == CS_P)
		CS_NAME(cs_tile_n) (xs, CS_P, C, nc, dp, m);
	else
		for (int p = 0; p < np; p++)
			CS_NAME(cs_tile_n) (xs + p, 1, C, nc, dp, m + p);
}

#undef CS_NV
#undef CS_NAME
#undef CS_CAT
#undef CS_CAT_
