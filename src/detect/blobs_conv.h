/*
 * blobs_conv.h
 *	  The inner loops of blobs.c (symmetric 1-D correlations and DoH's box
 *	  sums), one text included once per instruction set: blobs.c defines
 *	  BLOB_FN(name) (the name with a suffix), BLOB_ATTR (a target
 *	  attribute or nothing), BLOB_V (a vector of BLOB_L doubles) and
 *	  BLOB_M (the matching mask vector) and BLOB_NV (vectors per block)
 *	  before including it.
 *
 *	  Every output is computed by the same scalar operations in the same
 *	  order whatever the lane count (scipy's correlate1d order for a
 *	  symmetric kernel: o = x[0] w[0], then o += (x[-j] + x[j]) w[j] for
 *	  j = r down to 1), and nothing here may be contracted into an FMA (no
 *	  target below enables FMA), so every variant gives the same bits.
 */

/*
 * conv_row: out[c] = sum over the symmetric kernel w[0..r] of in[c - j],
 * in[c + j] (in readable from in - r to in + n + r).  Blocks of BLOB_NV
 * vectors keep that many independent sums in flight (each sum is a chain
 * of dependent additions).
 */
static BLOB_ATTR void
BLOB_FN(conv_row) (const double *in, int r, const double *w, double *out, int64_t n)
{
	int64_t		c = 0;

	for (; c + BLOB_NV * BLOB_L <= n; c += BLOB_NV * BLOB_L)
	{
		const double *p = in + c;
		BLOB_V		a[BLOB_NV],
					x,
					y;

#pragma GCC unroll 8
		for (int v = 0; v < BLOB_NV; v++)
		{
			memcpy(&a[v], p + v * BLOB_L, sizeof x);
			a[v] = a[v] * w[0];
		}
		for (int j = r; j >= 1; j--)
		{
			double		wj = w[j];

#pragma GCC unroll 8
			for (int v = 0; v < BLOB_NV; v++)
			{
				memcpy(&x, p + v * BLOB_L - j, sizeof x);
				memcpy(&y, p + v * BLOB_L + j, sizeof y);
				a[v] = a[v] + (x + y) * wj;
			}
		}
#pragma GCC unroll 8
		for (int v = 0; v < BLOB_NV; v++)
			memcpy(out + c + v * BLOB_L, &a[v], sizeof x);
	}
	for (; c < n; c++)
	{
		const double *p = in + c;
		double		a = p[0] * w[0];

		for (int j = r; j >= 1; j--)
			a = a + (p[-j] + p[j]) * w[j];
		out[c] = a;
	}
}

/*
 * conv_col2: for one output row, outa[c] and outb[c] from the kernels wa and
 * wb (both of radius r) applied down the column through in[c] (rows at
 * stride apart, readable r rows up and down); the pair sums are shared.
 * wb may be NULL (then only outa).
 */
static BLOB_ATTR void
BLOB_FN(conv_col2) (const double *in, ptrdiff_t stride, int r,
					const double *wa, const double *wb,
					double *outa, double *outb, int64_t n)
{
	int64_t		c = 0;

	if (wb == NULL)
	{
		for (; c + BLOB_NV * BLOB_L <= n; c += BLOB_NV * BLOB_L)
		{
			const double *p = in + c;
			BLOB_V		a[BLOB_NV],
						x,
						y;

#pragma GCC unroll 8
			for (int v = 0; v < BLOB_NV; v++)
			{
				memcpy(&a[v], p + v * BLOB_L, sizeof x);
				a[v] = a[v] * wa[0];
			}
			for (int j = r; j >= 1; j--)
			{
				const double *u = p - j * stride,
						   *d = p + j * stride;
				double		wj = wa[j];

#pragma GCC unroll 8
				for (int v = 0; v < BLOB_NV; v++)
				{
					memcpy(&x, u + v * BLOB_L, sizeof x);
					memcpy(&y, d + v * BLOB_L, sizeof y);
					a[v] = a[v] + (x + y) * wj;
				}
			}
#pragma GCC unroll 8
			for (int v = 0; v < BLOB_NV; v++)
				memcpy(outa + c + v * BLOB_L, &a[v], sizeof x);
		}
		for (; c < n; c++)
		{
			const double *p = in + c;
			double		a = p[0] * wa[0];

			for (int j = r; j >= 1; j--)
				a = a + (p[-j * stride] + p[j * stride]) * wa[j];
			outa[c] = a;
		}
		return;
	}
	for (; c + BLOB_NV * BLOB_L <= n; c += BLOB_NV * BLOB_L)
	{
		const double *p = in + c;
		BLOB_V		a[BLOB_NV],
					b[BLOB_NV],
					x,
					y,
					s;

#pragma GCC unroll 8
		for (int v = 0; v < BLOB_NV; v++)
		{
			memcpy(&x, p + v * BLOB_L, sizeof x);
			a[v] = x * wa[0];
			b[v] = x * wb[0];
		}
		for (int j = r; j >= 1; j--)
		{
			const double *u = p - j * stride,
					   *d = p + j * stride;
			double		waj = wa[j],
						wbj = wb[j];

#pragma GCC unroll 8
			for (int v = 0; v < BLOB_NV; v++)
			{
				memcpy(&x, u + v * BLOB_L, sizeof x);
				memcpy(&y, d + v * BLOB_L, sizeof y);
				s = x + y;
				a[v] = a[v] + s * waj;
				b[v] = b[v] + s * wbj;
			}
		}
#pragma GCC unroll 8
		for (int v = 0; v < BLOB_NV; v++)
		{
			memcpy(outa + c + v * BLOB_L, &a[v], sizeof x);
			memcpy(outb + c + v * BLOB_L, &b[v], sizeof x);
		}
	}
	for (; c < n; c++)
	{
		const double *p = in + c;
		double		a = p[0] * wa[0],
					b = p[0] * wb[0];

		for (int j = r; j >= 1; j--)
		{
			double		s = p[-j * stride] + p[j * stride];

			a = a + s * wa[j];
			b = b + s * wb[j];
		}
		outa[c] = a;
		outb[c] = b;
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
