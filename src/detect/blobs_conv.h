/*
 * blobs_conv.h
 *	  The inner loops of blobs.c (symmetric 1-D correlations and DoH's box
 *	  sums), one text included once per instruction set: blobs.c defines
 *	  BLOB_FN(name) (the name with a suffix) and BLOB_ATTR (a target
 *	  attribute or nothing) before including it.
 *
 *	  Every output is computed by the same scalar operations in the same
 *	  order whatever the lane count (scipy's correlate1d order for a
 *	  symmetric kernel: o = x[0] w[0], then o += (x[-j] + x[j]) w[j] for
 *	  j = r down to 1), and nothing here may be contracted into an FMA (no
 *	  target below enables FMA), so every variant gives the same bits.
 */

/*
 * conv_row: out[c] = sum over the symmetric kernel w[0..r] of in[c - j],
 * in[c + j] (in readable from in - r to in + n + r).
 */
static BLOB_ATTR void
BLOB_FN(conv_row) (const double *in, int r, const double *w, double *out, int64_t n)
{
	int64_t		c = 0;

	for (; c + 8 <= n; c += 8)
	{
		const double *p = in + c;
		BlobVec		a0,
					a1,
					x,
					y;

		memcpy(&a0, p, sizeof a0);
		memcpy(&a1, p + 4, sizeof a1);
		a0 = a0 * w[0];
		a1 = a1 * w[0];
		for (int j = r; j >= 1; j--)
		{
			memcpy(&x, p - j, sizeof x);
			memcpy(&y, p + j, sizeof y);
			a0 = a0 + (x + y) * w[j];
			memcpy(&x, p + 4 - j, sizeof x);
			memcpy(&y, p + 4 + j, sizeof y);
			a1 = a1 + (x + y) * w[j];
		}
		memcpy(out + c, &a0, sizeof a0);
		memcpy(out + c + 4, &a1, sizeof a1);
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
		for (; c + 8 <= n; c += 8)
		{
			const double *p = in + c;
			BlobVec		a0,
						a1,
						x,
						y;

			memcpy(&a0, p, sizeof a0);
			memcpy(&a1, p + 4, sizeof a1);
			a0 = a0 * wa[0];
			a1 = a1 * wa[0];
			for (int j = r; j >= 1; j--)
			{
				const double *u = p - j * stride,
						   *d = p + j * stride;

				memcpy(&x, u, sizeof x);
				memcpy(&y, d, sizeof y);
				a0 = a0 + (x + y) * wa[j];
				memcpy(&x, u + 4, sizeof x);
				memcpy(&y, d + 4, sizeof y);
				a1 = a1 + (x + y) * wa[j];
			}
			memcpy(outa + c, &a0, sizeof a0);
			memcpy(outa + c + 4, &a1, sizeof a1);
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
	for (; c + 8 <= n; c += 8)
	{
		const double *p = in + c;
		BlobVec		a0,
					a1,
					b0,
					b1,
					x,
					y,
					s;

		memcpy(&x, p, sizeof x);
		memcpy(&y, p + 4, sizeof y);
		a0 = x * wa[0];
		a1 = y * wa[0];
		b0 = x * wb[0];
		b1 = y * wb[0];
		for (int j = r; j >= 1; j--)
		{
			const double *u = p - j * stride,
					   *d = p + j * stride;

			memcpy(&x, u, sizeof x);
			memcpy(&y, d, sizeof y);
			s = x + y;
			a0 = a0 + s * wa[j];
			b0 = b0 + s * wb[j];
			memcpy(&x, u + 4, sizeof x);
			memcpy(&y, d + 4, sizeof y);
			s = x + y;
			a1 = a1 + s * wa[j];
			b1 = b1 + s * wb[j];
		}
		memcpy(outa + c, &a0, sizeof a0);
		memcpy(outa + c + 4, &a1, sizeof a1);
		memcpy(outb + c, &b0, sizeof b0);
		memcpy(outb + c + 4, &b1, sizeof b1);
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
