/*
 * blobs_conv.h
 *	  The inner loops of blobs.c (symmetric 1-D correlations and DoH's box
 *	  sums), one text included once per instruction set: blobs.c defines
 *	  BLOB_FN(name) (the name with a suffix), BLOB_ATTR (a target
 *	  attribute or nothing), BLOB_V (a vector of BLOB_L doubles, L = 2, 4
 *	  or 8), BLOB_M (the matching mask vector) and BLOB_SHUF (a two-vector
 *	  shuffle with constant indices) before including it.
 *
 *	  The Gaussian passes work on L x L blocks: the column pass (axis 0)
 *	  computes L rows of L columns from a strip of the input L columns wide
 *	  and stores the block transposed, so that the row pass (axis 1) also
 *	  reads whole aligned vectors (L rows of one column) and keeps L
 *	  independent sums per kernel; it transposes its blocks back into rows.
 *
 *	  Every output is computed by the same scalar operations in the same
 *	  order whatever the lane count (scipy's correlate1d order for a
 *	  symmetric kernel: o = x[0] w[0], then o += (x[-j] + x[j]) w[j] for
 *	  j = r down to 1), and nothing here may be contracted into an FMA (no
 *	  target below enables FMA), so every variant gives the same bits.
 */

/*
 * transpose turns v[0..BLOB_L), L rows of L lanes, into its transpose in
 * place (v[m] then holds lane m of every row); moves only, no arithmetic.
 */
static BLOB_ATTR inline void
BLOB_FN(transpose) (BLOB_V * v)
{
#if BLOB_L == 8
	BLOB_V		t[8],
				u[8];

	for (int i = 0; i < 8; i += 2)
	{
		t[i] = BLOB_SHUF(v[i], v[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
		t[i + 1] = BLOB_SHUF(v[i], v[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
	}
	for (int i = 0; i < 8; i += 4)
	{
		u[i] = BLOB_SHUF(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 1] = BLOB_SHUF(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
		u[i + 2] = BLOB_SHUF(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 3] = BLOB_SHUF(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
	}
	/* u[0]: lanes 0 and 4 of rows 0-3, u[1]: 2 and 6, u[2]: 1 and 5, u[3]: 3 and 7 */
	v[0] = BLOB_SHUF(u[0], u[4], 0, 1, 2, 3, 8, 9, 10, 11);
	v[4] = BLOB_SHUF(u[0], u[4], 4, 5, 6, 7, 12, 13, 14, 15);
	v[2] = BLOB_SHUF(u[1], u[5], 0, 1, 2, 3, 8, 9, 10, 11);
	v[6] = BLOB_SHUF(u[1], u[5], 4, 5, 6, 7, 12, 13, 14, 15);
	v[1] = BLOB_SHUF(u[2], u[6], 0, 1, 2, 3, 8, 9, 10, 11);
	v[5] = BLOB_SHUF(u[2], u[6], 4, 5, 6, 7, 12, 13, 14, 15);
	v[3] = BLOB_SHUF(u[3], u[7], 0, 1, 2, 3, 8, 9, 10, 11);
	v[7] = BLOB_SHUF(u[3], u[7], 4, 5, 6, 7, 12, 13, 14, 15);
#elif BLOB_L == 4
	BLOB_V		t0 = BLOB_SHUF(v[0], v[1], 0, 4, 2, 6),
				t1 = BLOB_SHUF(v[0], v[1], 1, 5, 3, 7),
				t2 = BLOB_SHUF(v[2], v[3], 0, 4, 2, 6),
				t3 = BLOB_SHUF(v[2], v[3], 1, 5, 3, 7);

	v[0] = BLOB_SHUF(t0, t2, 0, 1, 4, 5);
	v[2] = BLOB_SHUF(t0, t2, 2, 3, 6, 7);
	v[1] = BLOB_SHUF(t1, t3, 0, 1, 4, 5);
	v[3] = BLOB_SHUF(t1, t3, 2, 3, 6, 7);
#elif BLOB_L == 2
	BLOB_V		t0 = BLOB_SHUF(v[0], v[1], 0, 2),
				t1 = BLOB_SHUF(v[0], v[1], 1, 3);

	v[0] = t0;
	v[1] = t1;
#else
#error "BLOB_L must be 2, 4 or 8"
#endif
}

/*
 * col_pass: the correlation down the columns (axis 0) of one strip of the
 * input (L columns, its rows L doubles apart; in points at the first output
 * row) with the kernel wa (and wb, when not NULL: the pair sums are shared),
 * radius r, for ngroups groups of L output rows.  Each group's L x L block is
 * transposed and stored at outa + g * ostride (L vectors: one per column,
 * its lanes the group's rows), the layout row_pass reads.  The L rows of a
 * group are L independent sums per kernel; the strip's rows within reach
 * (2r + L of them, 64 bytes each) stay in L1 from one group to the next.
 */
static BLOB_ATTR void
BLOB_FN(col_pass) (const double *in, int r, const double *wa, const double *wb,
				   double *outa, double *outb, ptrdiff_t ostride, int64_t ngroups)
{
	for (int64_t g = 0; g < ngroups; g++)
	{
		const double *p = in + g * BLOB_L * BLOB_L;
		BLOB_V		a[BLOB_L],
					b[BLOB_L],
					x,
					y,
					s;

		if (wb == NULL)
		{
#pragma GCC unroll 8
			for (int q = 0; q < BLOB_L; q++)
			{
				memcpy(&x, p + q * BLOB_L, sizeof x);
				a[q] = x * wa[0];
			}
			for (int j = r; j >= 1; j--)
			{
				double		waj = wa[j];

#pragma GCC unroll 8
				for (int q = 0; q < BLOB_L; q++)
				{
					memcpy(&x, p + (q - j) * BLOB_L, sizeof x);
					memcpy(&y, p + (q + j) * BLOB_L, sizeof y);
					a[q] = a[q] + (x + y) * waj;
				}
			}
			BLOB_FN(transpose) (a);
			memcpy(outa + g * ostride, a, sizeof a);
			continue;
		}
#pragma GCC unroll 8
		for (int q = 0; q < BLOB_L; q++)
		{
			memcpy(&x, p + q * BLOB_L, sizeof x);
			a[q] = x * wa[0];
			b[q] = x * wb[0];
		}
		for (int j = r; j >= 1; j--)
		{
			double		waj = wa[j],
						wbj = wb[j];

#pragma GCC unroll 8
			for (int q = 0; q < BLOB_L; q++)
			{
				memcpy(&x, p + (q - j) * BLOB_L, sizeof x);
				memcpy(&y, p + (q + j) * BLOB_L, sizeof y);
				s = x + y;
				a[q] = a[q] + s * waj;
				b[q] = b[q] + s * wbj;
			}
		}
		BLOB_FN(transpose) (a);
		BLOB_FN(transpose) (b);
		memcpy(outa + g * ostride, a, sizeof a);
		memcpy(outb + g * ostride, b, sizeof b);
	}
}

/*
 * row_pass: the correlation along the rows (axis 1) for one group of L rows
 * held as col_pass stores them (ta + c * L is column c, lanes the rows;
 * readable r columns either side), nblocks blocks of L output columns.
 * With tb NULL the result is ta * wa; else (LoG) -(ta * wa + tb * wb) * s2,
 * scipy's generic_laplace sum times skimage's sigma^2.  Each block of L
 * columns (L independent sums per kernel) is transposed back into L rows
 * and stored as o says (see BlobRowOut), with the extremes and flags the
 * peak test needs taken on the way, while the block is in registers.
 */
static BLOB_ATTR void
BLOB_FN(row_pass) (const double *ta, const double *wa, const double *tb, const double *wb,
				   int r, double s2, BlobRowOut * o, int64_t nblocks)
{
	BLOB_V		mn,
				mx,
				lo;
	BLOB_M		iota;

	for (int q = 0; q < BLOB_L; q++)
	{
		mn[q] = o->mn;
		mx[q] = o->mx;
		lo[q] = o->lower;
		iota[q] = q;
	}
	for (int64_t cb = 0; cb < nblocks; cb++)
	{
		const double *pa = ta + cb * BLOB_L * BLOB_L;
		BLOB_V		a[BLOB_L],
					b[BLOB_L],
					x,
					y;

#pragma GCC unroll 8
		for (int m = 0; m < BLOB_L; m++)
		{
			memcpy(&x, pa + m * BLOB_L, sizeof x);
			a[m] = x * wa[0];
		}
		if (tb == NULL)
		{
			for (int j = r; j >= 1; j--)
			{
				double		waj = wa[j];

#pragma GCC unroll 8
				for (int m = 0; m < BLOB_L; m++)
				{
					memcpy(&x, pa + (m - j) * BLOB_L, sizeof x);
					memcpy(&y, pa + (m + j) * BLOB_L, sizeof y);
					a[m] = a[m] + (x + y) * waj;
				}
			}
		}
		else
		{
			const double *pb = tb + cb * BLOB_L * BLOB_L;

#pragma GCC unroll 8
			for (int m = 0; m < BLOB_L; m++)
			{
				memcpy(&x, pb + m * BLOB_L, sizeof x);
				b[m] = x * wb[0];
			}
			/* one kernel at a time: L sums and their operands stay in registers */
			for (int j = r; j >= 1; j--)
			{
				double		waj = wa[j];

#pragma GCC unroll 8
				for (int m = 0; m < BLOB_L; m++)
				{
					memcpy(&x, pa + (m - j) * BLOB_L, sizeof x);
					memcpy(&y, pa + (m + j) * BLOB_L, sizeof y);
					a[m] = a[m] + (x + y) * waj;
				}
			}
			for (int j = r; j >= 1; j--)
			{
				double		wbj = wb[j];

#pragma GCC unroll 8
				for (int m = 0; m < BLOB_L; m++)
				{
					memcpy(&x, pb + (m - j) * BLOB_L, sizeof x);
					memcpy(&y, pb + (m + j) * BLOB_L, sizeof y);
					b[m] = b[m] + (x + y) * wbj;
				}
			}
#pragma GCC unroll 8
			for (int m = 0; m < BLOB_L; m++)
				a[m] = -(a[m] + b[m]) * s2;
		}
		BLOB_FN(transpose) (a);
		if (o->prev)
		{
#pragma GCC unroll 8
			for (int q = 0; q < BLOB_L; q++)
			{
				double	   *pp = o->prev + q * o->ostride + cb * BLOB_L;

				memcpy(&x, pp, sizeof x);
				memcpy(pp, &a[q], sizeof x);
				a[q] = (x - a[q]) * o->sf;
			}
		}
#pragma GCC unroll 8
		for (int q = 0; q < BLOB_L; q++)
			memcpy(o->out + q * o->ostride + cb * BLOB_L, &a[q], sizeof x);
		if (o->flags)
		{
			BLOB_M		valid = (iota + cb * BLOB_L) < o->ncols,
						above = iota < 0;
			int			any = 0;

			for (int q = 0; q < BLOB_L; q++)
			{
				BLOB_M		lt = (a[q] < mn) & valid,
							gt = (a[q] > mx) & valid;

				if (q >= o->nrows)
					break;
				mn = (BLOB_V) ((lt & (BLOB_M) a[q]) | (~lt & (BLOB_M) mn));
				mx = (BLOB_V) ((gt & (BLOB_M) a[q]) | (~gt & (BLOB_M) mx));
				above |= a[q] > lo;
			}
			for (int q = 0; q < BLOB_L; q++)
				any |= above[q] != 0;
			o->flags[cb] = (unsigned char) any;
		}
	}
	for (int q = 0; q < BLOB_L; q++)
	{
		o->mn = mn[q] < o->mn ? mn[q] : o->mn;
		o->mx = mx[q] > o->mx ? mx[q] : o->mx;
	}
}

/*
 * doh_row: skimage's _hessian_matrix_det for n pixels of one row where no
 * box corner needs clipping; s points at the integral image at the first
 * pixel, off[b][0..3] are box b's four corner offsets (a + b - c - d), in
 * the order tl, br, bl, tr, mid x, side x, mid y, side y.
 */
static BLOB_ATTR void
BLOB_FN(doh_row) (const double *s, const ptrdiff_t off[8][4], double w_i,
				  double *out, int64_t n)
{
	int64_t		c = 0;
	const BLOB_V zero = {0};

	for (; c + BLOB_L <= n; c += BLOB_L)
	{
		const double *p = s + c;
		BLOB_V		box[8];

		for (int b = 0; b < 8; b++)
		{
			BLOB_V		a0,
						a1,
						a2,
						a3,
						ans;
			BLOB_M	m;

			memcpy(&a0, p + off[b][0], sizeof a0);
			memcpy(&a1, p + off[b][1], sizeof a1);
			memcpy(&a2, p + off[b][2], sizeof a2);
			memcpy(&a3, p + off[b][3], sizeof a3);
			ans = a0 + a1 - a2 - a3;
			m = ans > zero;
			box[b] = (BLOB_V) ((BLOB_M) ans & m);
		}
		{
			BLOB_V		dxy = box[2] + box[3] - box[0] - box[1];
			BLOB_V		dxx = box[4] - 3 * box[5];
			BLOB_V		dyy = box[6] - 3 * box[7];
			BLOB_V		res;

			dxy = -dxy * w_i;
			dxx = -dxx * w_i;
			dyy = -dyy * w_i;
			res = dxx * dyy - 0.81 * (dxy * dxy);
			memcpy(out + c, &res, sizeof res);
		}
	}
	for (; c < n; c++)
	{
		const double *p = s + c;
		double		box[8];

		for (int b = 0; b < 8; b++)
		{
			double		ans = p[off[b][0]] + p[off[b][1]] - p[off[b][2]] - p[off[b][3]];

			box[b] = ans > 0. ? ans : 0.;
		}
		{
			double		dxy = box[2] + box[3] - box[0] - box[1];
			double		dxx = box[4] - 3 * box[5];
			double		dyy = box[6] - 3 * box[7];

			dxy = -dxy * w_i;
			dxx = -dxx * w_i;
			dyy = -dyy * w_i;
			out[c] = dxx * dyy - 0.81 * (dxy * dxy);
		}
	}
}
