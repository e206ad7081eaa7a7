/*
 * idw_simd_loop.h
 *	  The body of invdist's SIMD loops, written once and included by
 *	  idw_simd.c once per instruction set, so that the AVX-512 and the AVX2
 *	  loops are one text (no include guard: being included twice is the
 *	  point).  Before each inclusion idw_simd.c defines, for its set:
 *
 *	  V(name)		the set's name of a function of the body (name##512 ...)
 *	  V_TARGET		its target attribute
 *	  V_LANES		floats a vector; V_NB vectors a block (V_NB * V_LANES
 *					cells at most, the first V_NB <= 4)
 *	  VF, VD, VI	vectors of float, double (V_LANES / 2) and int32
 *	  V_SET1, V_ZERO, V_ADD, V_SUB, V_MUL, V_FMADD, V_FNMADD, V_ROUND,
 *	  V_IOTA		float vector operations (V_ROUND: to nearest)
 *	  V_RCP, V_RSQRT	the hardware estimates of 1 / x and 1 / sqrt(x)
 *	  V_SCALE2(q, e) q * 2^e for integral e (q normal, so is the result)
 *	  V_CASTI, V_CASTF, VI_SET1, VI_SUB, VI_SRAI, VI_SLLI, VI_TOF
 *					bits of a float vector as int32 and back, and int32
 *					operations
 *	  V_LO_PD, V_HI_PD	the low and high halves of a float vector in double
 *	  VD_ZERO, VD_ADD, VD_STORE	double vector operations
 *	  V_ROW_FN		the name of the exported row function
 *	  V_TILE_FN		when defined, the name of the exported tile row function
 *
 *	  It undefines them all at its end, for the next instruction set.
 *
 *	  A block is nb vectors of neighbouring cells of one row; for each point,
 *	  every lane computes its own cell's weight, so a cell's arithmetic is
 *	  the same whatever block or thread it falls in.  The helpers are
 *	  always inlined into the exported functions, where the weight class
 *	  and nb are constants, so each combination compiles to a straight loop.
 */

/*
 * V(idw_rcp) is 1 / x: the estimate (rcp14, relative error < 2^-14; rcp,
 * < 1.5 * 2^-12) and one Newton-Raphson step r + r (1 - x r).
 */
IDW_INLINE V_TARGET VF
V(idw_rcp) (VF x)
{
	VF			r = V_RCP(x);

	return V_FMADD(r, V_FNMADD(x, r, V_SET1(1.0f)), r);
}

/*
 * V(idw_rsqrt) is 1 / sqrt(x): the estimate and one Newton-Raphson step
 * y + (y / 2) (1 - x y^2).
 */
IDW_INLINE V_TARGET VF
V(idw_rsqrt) (VF x)
{
	VF			y = V_RSQRT(x);
	VF			e = V_FNMADD(V_MUL(x, y), y, V_SET1(1.0f));

	return V_FMADD(V_MUL(y, V_SET1(0.5f)), e, y);
}

/*
 * V(idw_pow) is x^-h for normal x > 0 (see the file header of idw_simd.c):
 * with x = 2^e m, m in [sqrt(1/2), sqrt(2)), x^-h = 2^-(hh e) 2^-(hl e + h
 * log2 m), where hh e is exact; the integral parts go to the exponent.
 * The caller guarantees that the result is a normal float.
 */
IDW_INLINE V_TARGET VF
V(idw_pow) (VF x, VF h, VF hh, VF hl)
{
	VI			bits = V_CASTI(x);
	VI			ei = VI_SRAI(VI_SUB(bits, VI_SET1(IDW_SQRT_HALF_BITS)), 23);
	VF			m = V_CASTF(VI_SUB(bits, VI_SLLI(ei, 23)));
	VF			e = VI_TOF(ei);
	VF			f = V_SUB(m, V_SET1(1.0f));
	VF			q = V_SET1(IDW_LOG_C9);
	VF			a,
				na,
				b,
				nb;

	q = V_FMADD(q, f, V_SET1(IDW_LOG_C8));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C7));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C6));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C5));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C4));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C3));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C2));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C1));
	q = V_FMADD(q, f, V_SET1(IDW_LOG_C0));
	q = V_MUL(q, f);			/* log2 m */

	a = V_MUL(hh, e);			/* exact */
	na = V_ROUND(a);
	/* b = -(a - na) - hl e - h log2 m, |b| <= 0.6 + h / 2 */
	b = V_FNMADD(h, q, V_FNMADD(hl, e, V_SUB(na, a)));
	nb = V_ROUND(b);
	f = V_SUB(b, nb);			/* in [-0.5, 0.5] */
	q = V_SET1(IDW_EXP_C6);
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C5));
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C4));
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C3));
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C2));
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C1));
	q = V_FMADD(q, f, V_SET1(IDW_EXP_C0));
	return V_SCALE2(q, V_SUB(nb, na));
}

/*
 * V(idw_w) is the weight of squared distance r2 for class cls.
 */
IDW_INLINE V_TARGET VF
V(idw_w) (idw_wclass cls, VF r2, VF h, VF hh, VF hl)
{
	VF			y;

	switch (cls)
	{
		case IDW_W_P2:
			return V(idw_rcp) (r2);
		case IDW_W_P1:
			return V(idw_rsqrt) (r2);
		case IDW_W_P3:
			y = V(idw_rsqrt) (r2);
			return V_MUL(V_MUL(y, y), y);
		case IDW_W_P4:
			y = V(idw_rcp) (r2);
			return V_MUL(y, y);
		default:
			return V(idw_pow) (r2, h, hh, hl);
	}
}

/*
 * V(idw_block) computes nb (1..V_NB) vectors of V_LANES cells from column
 * col0 of a row: dy2 holds the row's dy^2 + s^2 in cell units for each
 * point.  ffn/ffd (or NULL) are the far field's sums of these cells, in
 * the same units, added before the quotient.  Lanes past width are
 * computed and dropped.
 */
IDW_INLINE V_TARGET void
V(idw_block) (idw_wclass cls, int nb, const idw_simd_in *s, const float *dy2, size_t n,
			  int col0, int width, double nodata, double *orow,
			  const double *ffn, const double *ffd)
{
	const float *xh = s->xh;
	const float *xl = s->xl;
	const float *vf = s->vf;
	VF			h = V_SET1(s->h);
	VF			hh = V_SET1(s->hh);
	VF			hl = V_SET1(s->hl);
	VF			iota = V_IOTA;
	VF			c[V_NB];
	VD			an[V_NB][2];
	VD			ad[V_NB][2];

#pragma GCC unroll 4
	for (int b = 0; b < nb; b++)
	{
		/* cell centres in cell units: exact integers */
		c[b] = V_ADD(V_SET1((float) (col0 + V_LANES * b)), iota);
		an[b][0] = an[b][1] = ad[b][0] = ad[b][1] = VD_ZERO();
	}
	for (size_t i0 = 0; i0 < n; i0 += IDW_K)
	{
		size_t		i1 = n - i0 > IDW_K ? i0 + IDW_K : n;
		VF			fn[V_NB];
		VF			fd[V_NB];

#pragma GCC unroll 4
		for (int b = 0; b < nb; b++)
			fn[b] = fd[b] = V_ZERO();
		for (size_t i = i0; i < i1; i++)
		{
			VF			bh = V_SET1(xh[i]);
			VF			bl = V_SET1(xl[i]);
			VF			bd = V_SET1(dy2[i]);
			VF			bv = V_SET1(vf[i]);

#pragma GCC unroll 4
			for (int b = 0; b < nb; b++)
			{
				/* c - xh is exact; one rounding for dx, one for r2 */
				VF			dx = V_SUB(V_SUB(c[b], bh), bl);
				VF			r2 = V_FMADD(dx, dx, bd);
				VF			w = V(idw_w) (cls, r2, h, hh, hl);

				fn[b] = V_FMADD(w, bv, fn[b]);
				fd[b] = V_ADD(fd[b], w);
			}
		}
#pragma GCC unroll 4
		for (int b = 0; b < nb; b++)
		{
			an[b][0] = VD_ADD(an[b][0], V_LO_PD(fn[b]));
			an[b][1] = VD_ADD(an[b][1], V_HI_PD(fn[b]));
			ad[b][0] = VD_ADD(ad[b][0], V_LO_PD(fd[b]));
			ad[b][1] = VD_ADD(ad[b][1], V_HI_PD(fd[b]));
		}
	}
	for (int b = 0; b < nb; b++)
	{
		double		num[V_LANES];
		double		den[V_LANES];

		VD_STORE(num, an[b][0]);
		VD_STORE(num + V_LANES / 2, an[b][1]);
		VD_STORE(den, ad[b][0]);
		VD_STORE(den + V_LANES / 2, ad[b][1]);
		for (int l = 0; l < V_LANES && col0 + V_LANES * b + l < width; l++)
		{
			double		nm = num[l];
			double		dn = den[l];

			if (ffn != NULL)
			{
				nm += ffn[V_LANES * b + l];
				dn += ffd[V_LANES * b + l];
			}
			orow[col0 + V_LANES * b + l] = (dn == 0.0 || !isfinite(dn)) ? nodata : nm / dn;
		}
	}
}

/*
 * V(idw_row_cls) computes a row in blocks of V_NB vectors, then of one.
 */
IDW_INLINE V_TARGET void
V(idw_row_cls) (idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
				int width, double nodata, double *orow)
{
	int			col0 = 0;

	for (; width - col0 >= V_NB * V_LANES; col0 += V_NB * V_LANES)
		V(idw_block) (cls, V_NB, s, dy2, n, col0, width, nodata, orow, NULL, NULL);
	for (; col0 < width; col0 += V_LANES)
		V(idw_block) (cls, 1, s, dy2, n, col0, width, nodata, orow, NULL, NULL);
}

/*
 * V_ROW_FN computes every cell of a row (see idw_private.h).
 */
V_TARGET void
V_ROW_FN(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
		 int width, double nodata, double *orow)
{
	switch (cls)
	{
		case IDW_W_P2:
			V(idw_row_cls) (IDW_W_P2, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P1:
			V(idw_row_cls) (IDW_W_P1, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P3:
			V(idw_row_cls) (IDW_W_P3, s, dy2, n, width, nodata, orow);
			break;
		case IDW_W_P4:
			V(idw_row_cls) (IDW_W_P4, s, dy2, n, width, nodata, orow);
			break;
		default:
			V(idw_row_cls) (IDW_W_POW, s, dy2, n, width, nodata, orow);
			break;
	}
}

#ifdef V_TILE_FN

/*
 * V(idw_tile_row_cls) computes the cells [col0, col1) of a row (col0 a
 * multiple of V_NB * V_LANES) from the n near points in s and dy2, adding
 * the far field's sums ffn/ffd (indexed from col0).
 */
IDW_INLINE V_TARGET void
V(idw_tile_row_cls) (idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
					 int col0, int col1, double nodata, double *orow,
					 const double *ffn, const double *ffd)
{
	for (int c = col0; c < col1; c += V_NB * V_LANES)
		V(idw_block) (cls, V_NB, s, dy2, n, c, col1, nodata, orow, ffn + (c - col0), ffd + (c - col0));
}

/*
 * V_TILE_FN is V(idw_tile_row_cls) for a weight class known at run time,
 * powers 1 to 4 (the far field's).
 */
V_TARGET void
V_TILE_FN(idw_wclass cls, const idw_simd_in *s, const float *dy2, size_t n,
		  int col0, int col1, double nodata, double *orow,
		  const double *ffn, const double *ffd)
{
	switch (cls)
	{
		case IDW_W_P2:
			V(idw_tile_row_cls) (IDW_W_P2, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		case IDW_W_P1:
			V(idw_tile_row_cls) (IDW_W_P1, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		case IDW_W_P3:
			V(idw_tile_row_cls) (IDW_W_P3, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
		default:
			V(idw_tile_row_cls) (IDW_W_P4, s, dy2, n, col0, col1, nodata, orow, ffn, ffd);
			break;
	}
}
#endif							/* V_TILE_FN */

#undef V
#undef V_TARGET
#undef V_LANES
#undef V_NB
#undef VF
#undef VD
#undef VI
#undef V_SET1
#undef V_ZERO
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_FMADD
#undef V_FNMADD
#undef V_ROUND
#undef V_IOTA
#undef V_RCP
#undef V_RSQRT
#undef V_SCALE2
#undef V_CASTI
#undef V_CASTF
#undef VI_SET1
#undef VI_SUB
#undef VI_SRAI
#undef VI_SLLI
#undef VI_TOF
#undef V_LO_PD
#undef V_HI_PD
#undef VD_ZERO
#undef VD_ADD
#undef VD_STORE
#undef V_ROW_FN
#undef V_TILE_FN
