/*-------------------------------------------------------------------------
 *
 * sql_session_reset.c
 *	  What lets a job's session (sql_session.c) take a second job of the
 *	  same role: the reset between two jobs, and the watch over the role's
 *	  catalog rows that ends a session whose role has changed.
 *
 *	  A session never switches role: it was connected as its role and only
 *	  ever takes jobs of that role (the worker hands them over).  Between two
 *	  jobs it must leave nothing the next job could observe.  It ends,
 *	  instead of being reused, when the job that just ran:
 *	    - failed (whatever the error: a session in doubt is not kept),
 *	    - left a transaction open or an interrupt pending,
 *	    - used a temporary object (the temporary schema then exists, and
 *	      temp_buffers can no longer be set: both observable),
 *	    - created a setting (a placeholder such as "myapp.x" cannot be
 *	      removed) or loaded a shared library (a library, a procedural
 *	      language's interpreter, may keep state of its own);
 *	  or when its role's pg_authid row changed (its xmin differs), the role
 *	  lost LOGIN or CONNECT on the database, or any role membership or the
 *	  database's row changed (a syscache callback sees it).  Otherwise the
 *	  reset is DISCARD ALL run as at top level (portals, SESSION
 *	  AUTHORIZATION and ROLE, every setting, prepared statements, LISTEN,
 *	  advisory locks, plan caches, temporary objects, sequences' caches and
 *	  lastval), plus a fresh random() seed, in a transaction of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <link.h>
#endif

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/discard.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "jobs/jobs.h"
#include "pg_mlops.h"

/* In a job's session: its role, and what it was when the session began. */
static Oid	SessionRole = InvalidOid;
static uint32 SessionRoleHash = 0;
static bool RoleChanged = false;
static int	BaseConfigOptions = 0;
static int	BaseLibraries = 0;

/* In the worker: bumped by every change of a role, a membership or a database. */
static uint64 RolesEpoch = 0;
static bool WorkerWatching = false;

static void SessionRoleCallback(Datum arg, int cacheid, uint32 hashvalue);
static void SessionAnyCallback(Datum arg, int cacheid, uint32 hashvalue);
static void WorkerCallback(Datum arg, int cacheid, uint32 hashvalue);
static int	LoadedLibraries(void);
static bool RoleStillFit(Oid role, TransactionId xmin);

/*
 * SessionRoleCallback: a pg_authid row changed; ours (or, for a cache
 * reset, maybe ours) ends the session.
 */
static void
SessionRoleCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	if (hashvalue == 0 || hashvalue == SessionRoleHash)
		RoleChanged = true;
}

/* SessionAnyCallback: a membership or the database's row changed. */
static void
SessionAnyCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	RoleChanged = true;
}

/* WorkerCallback: in the worker, any change makes its warm sessions unfit. */
static void
WorkerCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	RolesEpoch++;
}

#ifdef __GLIBC__
static int
CountObject(struct dl_phdr_info *info, size_t size, void *data)
{
	(*(int *) data)++;
	return 0;
}
#endif

/*
 * LoadedLibraries counts the shared objects mapped in this process (-1
 * where that cannot be known: the session is then never reused).
 */
static int
LoadedLibraries(void)
{
#ifdef __GLIBC__
	int			n = 0;

	dl_iterate_phdr(CountObject, &n);
	return n;
#else
	return -1;
#endif
}

/*
 * RoleStillFit: inside a transaction, the role's pg_authid row is the one
 * the session began with (same xmin), it may log in, and it may connect to
 * this database.
 */
static bool
RoleStillFit(Oid role, TransactionId xmin)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	bool		fit;

	if (!HeapTupleIsValid(tup))
		return false;
	fit = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin &&
		TransactionIdEquals(HeapTupleHeaderGetXmin(tup->t_data), xmin);
	ReleaseSysCache(tup);
	return fit && pg_database_aclcheck(MyDatabaseId, role, ACL_CONNECT) == ACLCHECK_OK;
}

/*
 * mlops_session_reuse_begin, in a job's session right after it connected:
 * watches the role's catalog rows, loads PL/pgSQL (so that a job's first
 * DO block does not count as a library load), and notes what a reset
 * compares against.  Returns the xmin of the role's pg_authid row.
 */
TransactionId
mlops_session_reuse_begin(Oid role)
{
	HeapTuple	tup;
	TransactionId xmin = InvalidTransactionId;

	SessionRole = role;
	SessionRoleHash = GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(role));
	CacheRegisterSyscacheCallback(AUTHOID, SessionRoleCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, SessionAnyCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, SessionAnyCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(DATABASEOID, SessionAnyCallback, (Datum) 0);
	load_file("plpgsql", false);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	if (HeapTupleIsValid(tup))
	{
		xmin = HeapTupleHeaderGetXmin(tup->t_data);
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	RoleChanged = false;
	BaseConfigOptions = GetNumConfigOptions();
	BaseLibraries = LoadedLibraries();
	return xmin;
}

/*
 * mlops_session_reset, in a job's session after a job that succeeded:
 * true when the session may take the next job of its role, after the reset
 * described at the top of this file; false (with *why) when it must end.
 */
bool
mlops_session_reset(TransactionId xmin, const char **why)
{
	Oid			temp_ns;
	Oid			temp_toast;
	volatile bool ok = false;

	*why = NULL;
	GetTempNamespaceState(&temp_ns, &temp_toast);
	if (IsTransactionOrTransactionBlock())
		*why = "a transaction is open";
	else if (InterruptPending || QueryCancelPending || ProcDiePending)
		*why = "an interrupt is pending";
	else if (OidIsValid(temp_ns) || NLocBuffer > 0)
		*why = "the job used a temporary object";
	else if (GetNumConfigOptions() != BaseConfigOptions)
		*why = "the job created a setting or loaded a library";
	else if (BaseLibraries < 0 || LoadedLibraries() != BaseLibraries)
		*why = "the job loaded a shared library";
	if (*why != NULL)
		return false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();	/* takes in the catalog changes committed so far */
	PG_TRY();
	{
		if (RoleChanged)
			*why = "a role, a membership or the database changed";
		else if (!RoleStillFit(SessionRole, xmin))
			*why = "the role changed, lost LOGIN or may no longer connect";
		else
		{
			DiscardStmt *stmt = makeNode(DiscardStmt);
			uint64		r;

			stmt->target = DISCARD_ALL;
			DiscardCommand(stmt, true);
			/* random() must not continue a sequence the last job seeded */
			if (!pg_strong_random(&r, sizeof(r)))
				r = (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32);
			DirectFunctionCall1(setseed, Float8GetDatum((double) r / (double) PG_UINT64_MAX * 2.0 - 1.0));
			if (GetSessionUserId() != SessionRole || GetOuterUserId() != SessionRole ||
				GetUserId() != SessionRole)
				*why = "the session's user is not its role after the reset";
			else
				ok = true;
		}
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		FlushErrorState();
		AbortCurrentTransaction();
		*why = "the reset failed";
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * mlops_roles_epoch, in the worker: a number that changes whenever a role,
 * a role membership or a database row changes (as far as the worker's
 * last transaction saw).  A warm session is handed a job only while it is
 * the number the session started under.
 */
uint64
mlops_roles_epoch(void)
{
	if (!WorkerWatching)
	{
		CacheRegisterSyscacheCallback(AUTHOID, WorkerCallback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, WorkerCallback, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, WorkerCallback, (Datum) 0);
		CacheRegisterSyscacheCallback(DATABASEOID, WorkerCallback, (Datum) 0);
		WorkerWatching = true;
	}
	return RolesEpoch;
}

/*
 * mlops_role_still_fit, in the worker: the role's row is unchanged since
 * xmin, it may log in and connect (in a transaction of its own).
 */
bool
mlops_role_still_fit(Oid role, TransactionId xmin)
{
	bool		fit;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	fit = RoleStillFit(role, xmin);
	CommitTransactionCommand();
	return fit;
}
