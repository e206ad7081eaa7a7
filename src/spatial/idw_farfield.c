/*
 * idw_farfield.c
 *	  Kernel: the far field of invdist (see idw_private.h), for
 *	  interpolate.c's idw_all on the SIMD path.
 *
 *	  With powers 1 to 4 on the SIMD path and enough points and cells
 *	  (IDW_FF_*), the grid is cut into tiles of 64 x 64 cells.  For
 *	  each tile, the points at least 6 H from its centre (H: half the
 *	  tile's larger side, 31.5 cells or rows) are "far": their sums (of w v
 *	  and of w) are computed exactly, in double, at the 16 x 16 Chebyshev
 *	  points of the second kind spanning the tile's cell centres, and
 *	  interpolated to its cells (tensor-product Lagrange interpolation);
 *	  the near points go through the SIMD loop cell by cell, and the two
 *	  parts are added before the quotient.  That costs 256 weights a far
 *	  point and tile instead of 4,096.
 *
 *	  Its error.  Interpolation is linear, so the far sums are sums of
 *	  interpolated weights, each within a relative delta of its weight; the
 *	  bound of the SIMD loops (idw_simd.c's header) holds as long as
 *	  delta <= eps_w (and the far sums, in
 *	  double, add no float error).  Along a line of the tile (half-side
 *	  units, the line's cells on [-1, 1]), w(x) = ((x - a)^2 + e^2)^(-p/2)
 *	  is analytic but at a +- i e, at least 5 from the line's centre (the
 *	  point is >= 6 H from the tile's, the line within H of it); on the
 *	  Bernstein ellipse E_4 (semi-axes 2.125, 1.875) |(z - a)^2 + e^2| stays
 *	  >= (5 - 2.125)^2 with a positive real part, so |w| <= (6 / 2.875)^p
 *	  times w's minimum on the line, and degree-15 Chebyshev interpolation
 *	  is off by at most 4 * 2.09^p * 4^-15 / 3 of it (Trefethen,
 *	  Approximation Theory and Approximation Practice, thm 8.2).  In 2-D
 *	  the second direction multiplies that by 1 + 2.8 * ((6 + 1.42) /
 *	  (6 - 1.42))^p (Lebesgue constant 2.8; w's spread over the tile), so
 *	  delta <= 1.4e-8, 4.4e-8, 1.4e-7 and 4.7e-7 for p = 1 to 4, each below
 *	  that power's eps_w.  Measured, the interpolation is exact to 1e-14 (the
 *	  bound is loose) and the results stay within 6.6e-7 relative.
 *
 *	  Pure C: no PostgreSQL headers; malloc/free.
 */
#include "spatial/idw_private.h"

#include <math.h>

/*
 * idw_ff_init fills c->ff_node with the IDW_FF_NODES Chebyshev points of
 * the second kind, cos(j pi / (IDW_FF_NODES - 1)), and c->ff_phi[u][j] with
 * the Lagrange basis of node j at cell offset u of a tile, at
 * t = (u - h) / h with h = (IDW_FF_TILE - 1) / 2 (the barycentric
 * formula, weights (-1)^j, halved at both ends).
 */
void
idw_ff_init(idw_all_ctx *c)
{
	const int	m = IDW_FF_NODES - 1;
	const double h = 0.5 * (IDW_FF_TILE - 1);
	double		bw[IDW_FF_NODES];

	for (int j = 0; j <= m; j++)
	{
		c->ff_node[j] = j == 0 ? 1.0 : (j == m ? -1.0 : cos(3.14159265358979323846 * j / m));
		bw[j] = (j % 2 ? -1.0 : 1.0) * (j == 0 || j == m ? 0.5 : 1.0);
	}
	for (int u = 0; u < IDW_FF_TILE; u++)
	{
		double		t = (u - h) / h;
		double		sum = 0.0;
		int			hit = -1;

		for (int j = 0; j <= m; j++)
			if (t == c->ff_node[j])
				hit = j;
		for (int j = 0; j <= m; j++)
		{
			c->ff_phi[u][j] = hit >= 0 ? (j == hit) : bw[j] / (t - c->ff_node[j]);
			sum += c->ff_phi[u][j];
		}
		if (hit < 0)
			for (int j = 0; j <= m; j++)
				c->ff_phi[u][j] /= sum;
	}
}

#ifdef IDW_X86

/*
 * ff_w256d is the weight of r2 for powers 1 to 4, in double.
 */
IDW_INLINE IDW_T256 __m256d
ff_w256d(idw_wclass cls, __m256d r2)
{
	__m256d		one = _mm256_set1_pd(1.0);

	switch (cls)
	{
		case IDW_W_P2:
			return _mm256_div_pd(one, r2);
		case IDW_W_P1:
			return _mm256_div_pd(one, _mm256_sqrt_pd(r2));
		case IDW_W_P3:
			return _mm256_div_pd(one, _mm256_mul_pd(r2, _mm256_sqrt_pd(r2)));
		default:
			return _mm256_div_pd(one, _mm256_mul_pd(r2, r2));
	}
}

/*
 * ff_nodes256_cls sums, in double, the weights (D) and weighted values (N)
 * of the nf far points (fx, fy, fv, in cell units from the tile's centre)
 * at the IDW_FF_NODES^2 nodes (xn[j], yn[k]): N[k][j], D[k][j].
 */
IDW_INLINE IDW_T256 void
ff_nodes256_cls(idw_wclass cls, const double *fx, const double *fy, const double *fv,
				size_t nf, const double *xn, const double *yn, double s2,
				double *N, double *D)
{
	__m256d		x[IDW_FF_NODES / 4];

	for (int q = 0; q < IDW_FF_NODES / 4; q++)
		x[q] = _mm256_loadu_pd(xn + 4 * q);
	for (int k = 0; k < IDW_FF_NODES; k++)
	{
		__m256d		an[IDW_FF_NODES / 4];
		__m256d		ad[IDW_FF_NODES / 4];

		for (int q = 0; q < IDW_FF_NODES / 4; q++)
			an[q] = ad[q] = _mm256_setzero_pd();
		for (size_t m = 0; m < nf; m++)
		{
			double		dy = yn[k] - fy[m];
			__m256d		bd = _mm256_set1_pd(dy * dy + s2);
			__m256d		bx = _mm256_set1_pd(fx[m]);
			__m256d		bv = _mm256_set1_pd(fv[m]);

#pragma GCC unroll 4
			for (int q = 0; q < IDW_FF_NODES / 4; q++)
			{
				__m256d		dx = _mm256_sub_pd(x[q], bx);
				__m256d		w = ff_w256d(cls, _mm256_fmadd_pd(dx, dx, bd));

				an[q] = _mm256_fmadd_pd(w, bv, an[q]);
				ad[q] = _mm256_add_pd(ad[q], w);
			}
		}
		for (int q = 0; q < IDW_FF_NODES / 4; q++)
		{
			_mm256_storeu_pd(N + k * IDW_FF_NODES + 4 * q, an[q]);
			_mm256_storeu_pd(D + k * IDW_FF_NODES + 4 * q, ad[q]);
		}
	}
}

/*
 * ff_nodes_avx2 is ff_nodes256_cls for a weight class known at run time.
 */
static IDW_T256 void
ff_nodes_avx2(idw_wclass cls, const double *fx, const double *fy, const double *fv,
			  size_t nf, const double *xn, const double *yn, double s2,
			  double *N, double *D)
{
	switch (cls)
	{
		case IDW_W_P2:
			ff_nodes256_cls(IDW_W_P2, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		case IDW_W_P1:
			ff_nodes256_cls(IDW_W_P1, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		case IDW_W_P3:
			ff_nodes256_cls(IDW_W_P3, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
		default:
			ff_nodes256_cls(IDW_W_P4, fx, fy, fv, nf, xn, yn, s2, N, D);
			break;
	}
}
/*
 * ff_interpolate turns node sums S[k][j] (node row k, column j) into cell
 * sums F[v][u] of a tile (IDW_FF_TILE x IDW_FF_TILE, row-major), through
 * T[k][u] = sum_j S[k][j] phi[u][j] and F[v][u] = sum_k phi[v][k] T[k][u].
 */
static void
ff_interpolate(const idw_all_ctx *c, const double *restrict S, double *restrict T,
			   double *restrict F)
{
	for (int k = 0; k < IDW_FF_NODES; k++)
		for (int u = 0; u < IDW_FF_TILE; u++)
		{
			double		t = 0.0;

			for (int j = 0; j < IDW_FF_NODES; j++)
				t += S[k * IDW_FF_NODES + j] * c->ff_phi[u][j];
			T[k * IDW_FF_TILE + u] = t;
		}
	for (int v = 0; v < IDW_FF_TILE; v++)
	{
		double	   *f = F + v * IDW_FF_TILE;

		for (int u = 0; u < IDW_FF_TILE; u++)
			f[u] = 0.0;
		for (int k = 0; k < IDW_FF_NODES; k++)
		{
			double		phi = c->ff_phi[v][k];
			const double *t = T + k * IDW_FF_TILE;

			for (int u = 0; u < IDW_FF_TILE; u++)
				f[u] += phi * t[u];
		}
	}
}

/*
 * idw_ff_tile computes the SIMD invdist of the cells of one tile, rows
 * [tr0, tr1) and columns [tc0, tc1) (tr0 and tc0 multiples of
 * IDW_FF_TILE): the far points' sums come from ff_nodes_avx2 and
 * ff_interpolate, the near points' from the SIMD loop, cell by cell.
 * Cells that need the double path are redone by the caller.
 */
void
idw_ff_tile(const idw_all_ctx *c, int tid, int tr0, int tr1, int tc0, int tc1)
{
	const interp_points *p = c->p;
	const interp_grid *g = c->g;
	size_t		n = p->n;
	size_t		ns = c->nstride;
	size_t	   *near = c->near + (size_t) tid * ns;
	float	   *nf3 = c->near_f + (size_t) tid * 3 * ns;
	double	   *fd3 = c->far_d + (size_t) tid * 3 * ns;
	float	   *dy2f = c->dy2f + (size_t) tid * ns;
	double	   *S = c->ff_buf + (size_t) tid * FF_BUF_LEN;	/* N, then D */
	double	   *T = S + 2 * IDW_FF_NODES * IDW_FF_NODES;
	double	   *Fn = T + 2 * IDW_FF_NODES * IDW_FF_TILE;
	double	   *Fd = Fn + IDW_FF_TILE * IDW_FF_TILE;
	double		inv = c->ff_scale;
	double		half = 0.5 * (IDW_FF_TILE - 1);
	double		q = g->sy * inv;	/* a row's step in cell units (< 0) */
	double		xc = g->ulx + (tc0 + 0.5 * IDW_FF_TILE) * g->sx;
	double		yc = g->uly + (tr0 + 0.5 * IDW_FF_TILE) * g->sy;
	double		reach = IDW_FF_FAR * half * fmax(1.0, fabs(q));
	double		far2 = reach * reach;
	size_t		nnear = 0,
				nfar = 0;
	idw_simd_in vs = c->vs;

	for (size_t i = 0; i < n; i++)
	{
		double		X = (p->x[i] - xc) * inv;
		double		Y = (p->y[i] - yc) * inv;

		if (X * X + Y * Y >= far2)
		{
			fd3[nfar] = X;
			fd3[ns + nfar] = Y;
			fd3[2 * ns + nfar] = p->v[i];
			nfar++;
		}
		else
		{
			near[nnear] = i;
			nf3[nnear] = c->vs.xh[i];
			nf3[ns + nnear] = c->vs.xl[i];
			nf3[2 * ns + nnear] = c->vs.vf[i];
			nnear++;
		}
	}

	if (nfar > 0)
	{
		double		xn[IDW_FF_NODES];
		double		yn[IDW_FF_NODES];

		for (int j = 0; j < IDW_FF_NODES; j++)
		{
			xn[j] = half * c->ff_node[j];
			yn[j] = half * q * c->ff_node[j];
		}
		ff_nodes_avx2(c->cls, fd3, fd3 + ns, fd3 + 2 * ns, nfar, xn, yn, c->s2 * c->inv_sx2,
					  S, S + IDW_FF_NODES * IDW_FF_NODES);
		ff_interpolate(c, S, T, Fn);
		ff_interpolate(c, S + IDW_FF_NODES * IDW_FF_NODES, T + IDW_FF_NODES * IDW_FF_TILE, Fd);
	}
	else
		for (int k = 0; k < IDW_FF_TILE * IDW_FF_TILE; k++)
			Fn[k] = Fd[k] = 0.0;

	vs.xh = nf3;
	vs.xl = nf3 + ns;
	vs.vf = nf3 + 2 * ns;
	for (int row = tr0; row < tr1; row++)
	{
		double		cy = g->uly + (row + 0.5) * g->sy;
		int			v = row - tr0;

		for (size_t m = 0; m < nnear; m++)
		{
			double		dy = p->y[near[m]] - cy;

			dy2f[m] = (float) ((dy * dy + c->s2) * c->inv_sx2);
		}
		idw_tile_row_avx2(c->cls, &vs, dy2f, nnear, tc0, tc1, c->nodata,
						  c->out + (size_t) row * (size_t) g->width,
						  Fn + v * IDW_FF_TILE, Fd + v * IDW_FF_TILE);
	}
}
#endif							/* IDW_X86 */
