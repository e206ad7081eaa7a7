/*
 * fuzz_ewkb.c — libFuzzer target for the (E)WKB reader kernel
 * (src/spatial/ewkb.c).  Each input is read as points (with and without Z
 * required), as rings and as an extent.  Besides the sanitizers it checks that a
 * success gives finite coordinates inside the extent the other reader
 * finds, and that an error has a message.
 */
#include "spatial/ewkb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mlops_allocator a = MLOPS_MALLOC_ALLOCATOR;
	ewkb_bbox_result box;
	ewkb_error	eb = ewkb_bbox(data, size, &box);

	REQUIRE(ewkb_error_message(eb) != NULL);
	for (int rz = 0; rz <= 1; rz++)
	{
		ewkb_points_result r;
		ewkb_error	e = ewkb_points(data, size, rz == 1, &a, &r);

		REQUIRE(ewkb_error_message(e) != NULL);
		if (e != EWKB_OK)
			continue;
		/* points are a subset of all coordinates, so the extent read them too */
		REQUIRE(eb == EWKB_OK);
		REQUIRE(r.n <= box.npoints);
		for (size_t i = 0; i < r.n; i++)
		{
			REQUIRE(isfinite(r.x[i]) && isfinite(r.y[i]) && isfinite(r.z[i]));
			REQUIRE(r.x[i] >= box.xmin && r.x[i] <= box.xmax);
			REQUIRE(r.y[i] >= box.ymin && r.y[i] <= box.ymax);
		}
		free(r.x);
		free(r.y);
		free(r.z);
	}
	{
		ewkb_rings_result g;
		ewkb_error	e = ewkb_rings(data, size, &a, &g);

		REQUIRE(ewkb_error_message(e) != NULL);
		if (e == EWKB_OK)
		{
			/* rings are coordinates the extent read too, in rings that tile them */
			REQUIRE(eb == EWKB_OK);
			REQUIRE(g.nvertices <= box.npoints);
			REQUIRE(g.start[0] == 0 || g.nrings == 0);
			REQUIRE(g.start[g.nrings] == g.nvertices);
			for (size_t i = 0; i < g.nrings; i++)
				REQUIRE(g.start[i] <= g.start[i + 1]);
			for (size_t i = 0; i < g.nvertices; i++)
				REQUIRE(g.xy[2 * i] >= box.xmin && g.xy[2 * i] <= box.xmax &&
						g.xy[2 * i + 1] >= box.ymin && g.xy[2 * i + 1] <= box.ymax);
			free(g.xy);
			free(g.start);
		}
	}
	return 0;
}
