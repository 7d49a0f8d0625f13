/*
 * faultvfs.c - an SQLite VFS that counts and fails chosen I/O operations (see
 * faultvfs.h). Every file is the real VFS's file with a header of ours in
 * front: our methods count, maybe fail, and otherwise call the real ones.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "faultvfs.h"

struct faultvfs {
	sqlite3_vfs vfs;   /* ours: pAppData points back here */
	sqlite3_vfs *real; /* the default it wraps */
	int free_syncs;
	pthread_mutex_t mu; /* guards what follows: the checkpoint thread does I/O too */
	long counts[FV_NOPS];
	unsigned mask; /* the kinds armed (0: none) */
	long n;        /* the armed operation, counted among `mask` */
	long seen;     /* operations of `mask` since fv_arm */
	int code;
	int persistent;
	long failed;
};

/* Our file: the real one follows it in the same block (szOsFile). */
struct fv_file {
	sqlite3_file base;
	struct faultvfs *fv;
	sqlite3_file *real;
};

static const int own_code[FV_NOPS] = { SQLITE_IOERR_READ, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC,
				       SQLITE_IOERR_TRUNCATE };

const char *fv_op_name(int k)
{
	static const char *const names[FV_NOPS] = { "read", "write", "sync", "truncate" };
	return k >= 0 && k < FV_NOPS ? names[k] : "?";
}

/* Counts an operation of kind k; returns the code it fails with, or SQLITE_OK. */
static int judge(struct faultvfs *fv, int k)
{
	int rc = SQLITE_OK;

	pthread_mutex_lock(&fv->mu);
	fv->counts[k]++;
	if (fv->mask & (1u << k)) {
		fv->seen++;
		if (fv->seen == fv->n || (fv->persistent && fv->seen > fv->n)) {
			rc = fv->code != 0 ? fv->code : own_code[k];
			fv->failed++;
		}
	}
	pthread_mutex_unlock(&fv->mu);
	return rc;
}

static struct fv_file *file(sqlite3_file *f)
{
	return (struct fv_file *)f;
}

/* ------------------------------------------------------------------------ */
/* The file's methods: four judged, the rest passed on                     */

static int f_close(sqlite3_file *f)
{
	return file(f)->real->pMethods->xClose(file(f)->real);
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	int rc = judge(file(f)->fv, 0);
	return rc != SQLITE_OK ? rc : file(f)->real->pMethods->xRead(file(f)->real, buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	int rc = judge(file(f)->fv, 1);
	return rc != SQLITE_OK ? rc : file(f)->real->pMethods->xWrite(file(f)->real, buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = judge(file(f)->fv, 3);
	return rc != SQLITE_OK ? rc : file(f)->real->pMethods->xTruncate(file(f)->real, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	int rc = judge(file(f)->fv, 2);
	if (rc != SQLITE_OK || file(f)->fv->free_syncs)
		return rc;
	return file(f)->real->pMethods->xSync(file(f)->real, flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return file(f)->real->pMethods->xFileSize(file(f)->real, size);
}

static int f_lock(sqlite3_file *f, int level)
{
	return file(f)->real->pMethods->xLock(file(f)->real, level);
}

static int f_unlock(sqlite3_file *f, int level)
{
	return file(f)->real->pMethods->xUnlock(file(f)->real, level);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
	return file(f)->real->pMethods->xCheckReservedLock(file(f)->real, out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	return file(f)->real->pMethods->xFileControl(file(f)->real, op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return file(f)->real->pMethods->xSectorSize(file(f)->real);
}

static int f_device(sqlite3_file *f)
{
	return file(f)->real->pMethods->xDeviceCharacteristics(file(f)->real);
}

static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **pp)
{
	return file(f)->real->pMethods->xShmMap(file(f)->real, page, size, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return file(f)->real->pMethods->xShmLock(file(f)->real, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	file(f)->real->pMethods->xShmBarrier(file(f)->real);
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return file(f)->real->pMethods->xShmUnmap(file(f)->real, delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return file(f)->real->pMethods->xFetch(file(f)->real, off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return file(f)->real->pMethods->xUnfetch(file(f)->real, off, p);
}

/* The methods of every version; a file has those of its real file's version. */
#define FV_METHODS_V1                                                                              \
	.xClose = f_close, .xRead = f_read, .xWrite = f_write, .xTruncate = f_truncate,            \
	.xSync = f_sync, .xFileSize = f_size, .xLock = f_lock, .xUnlock = f_unlock,                \
	.xCheckReservedLock = f_check_lock, .xFileControl = f_control, .xSectorSize = f_sector,    \
	.xDeviceCharacteristics = f_device
#define FV_METHODS_V2                                                                              \
	FV_METHODS_V1, .xShmMap = f_shm_map, .xShmLock = f_shm_lock, .xShmBarrier = f_shm_barrier, \
		       .xShmUnmap = f_shm_unmap

static const sqlite3_io_methods methods[3] = {
	{ .iVersion = 1, FV_METHODS_V1 },
	{ .iVersion = 2, FV_METHODS_V2 },
	{ .iVersion = 3, FV_METHODS_V2, .xFetch = f_fetch, .xUnfetch = f_unfetch },
};

/* ------------------------------------------------------------------------ */
/* The VFS's methods: opening wraps the file, the rest is the real VFS's     */

static struct faultvfs *of(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct fv_file *p = file(f);
	p->fv = of(vfs);
	p->real = (sqlite3_file *)(p + 1);
	p->base.pMethods = NULL;
	int rc = p->fv->real->xOpen(p->fv->real, name, p->real, flags, out);
	const sqlite3_io_methods *m = p->real->pMethods;
	if (m != NULL)
		p->base.pMethods = &methods[(m->iVersion >= 3  ? 3
					     : m->iVersion < 1 ? 1
							       : m->iVersion) -
					    1];
	return rc;
}

/* With free syncs, the directory is not synced after a deletion either. */
static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return of(vfs)->real->xDelete(of(vfs)->real, name, of(vfs)->free_syncs ? 0 : sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return of(vfs)->real->xAccess(of(vfs)->real, name, flags, out);
}

static int v_full(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return of(vfs)->real->xFullPathname(of(vfs)->real, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return of(vfs)->real->xDlOpen(of(vfs)->real, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	of(vfs)->real->xDlError(of(vfs)->real, n, out);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return of(vfs)->real->xDlSym(of(vfs)->real, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
	of(vfs)->real->xDlClose(of(vfs)->real, h);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
	return of(vfs)->real->xRandomness(of(vfs)->real, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
	return of(vfs)->real->xSleep(of(vfs)->real, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
	return of(vfs)->real->xCurrentTime(of(vfs)->real, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return of(vfs)->real->xGetLastError(of(vfs)->real, n, out);
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return of(vfs)->real->xCurrentTimeInt64(of(vfs)->real, out);
}

int fv_install(struct faultvfs **out, int free_syncs)
{
	sqlite3_vfs *real;
	struct faultvfs *fv;

	*out = NULL;
	if (sqlite3_initialize() != SQLITE_OK || (real = sqlite3_vfs_find(NULL)) == NULL ||
	    real->iVersion < 2 || (fv = calloc(1, sizeof *fv)) == NULL)
		return -1;
	fv->real = real;
	fv->free_syncs = free_syncs;
	pthread_mutex_init(&fv->mu, NULL);
	fv->vfs = (sqlite3_vfs){
		.iVersion = 2, /* the system-call overrides (version 3) stay the real VFS's */
		.szOsFile = (int)sizeof(struct fv_file) + real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = "faultvfs",
		.pAppData = fv,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_full,
		.xDlOpen = v_dlopen,
		.xDlError = v_dlerror,
		.xDlSym = v_dlsym,
		.xDlClose = v_dlclose,
		.xRandomness = v_random,
		.xSleep = v_sleep,
		.xCurrentTime = v_time,
		.xGetLastError = v_last_error,
		.xCurrentTimeInt64 = v_time64,
	};
	if (sqlite3_vfs_register(&fv->vfs, 1) != SQLITE_OK) {
		pthread_mutex_destroy(&fv->mu);
		free(fv);
		return -1;
	}
	*out = fv;
	return 0;
}

void fv_uninstall(struct faultvfs *fv)
{
	if (fv == NULL)
		return;
	sqlite3_vfs_unregister(&fv->vfs);
	sqlite3_vfs_register(fv->real, 1);
	pthread_mutex_destroy(&fv->mu);
	free(fv);
}

void fv_arm(struct faultvfs *fv, unsigned mask, long n, int code, int persistent)
{
	pthread_mutex_lock(&fv->mu);
	fv->mask = mask & FV_ANY;
	fv->n = n;
	fv->seen = 0;
	fv->code = code;
	fv->persistent = persistent;
	fv->failed = 0;
	pthread_mutex_unlock(&fv->mu);
}

void fv_clear(struct faultvfs *fv)
{
	pthread_mutex_lock(&fv->mu);
	fv->mask = 0;
	pthread_mutex_unlock(&fv->mu);
}

long fv_failed(struct faultvfs *fv)
{
	pthread_mutex_lock(&fv->mu);
	long n = fv->failed;
	pthread_mutex_unlock(&fv->mu);
	return n;
}

void fv_counts(struct faultvfs *fv, long counts[FV_NOPS])
{
	pthread_mutex_lock(&fv->mu);
	memcpy(counts, fv->counts, sizeof fv->counts);
	pthread_mutex_unlock(&fv->mu);
}

void fv_reset(struct faultvfs *fv)
{
	pthread_mutex_lock(&fv->mu);
	memset(fv->counts, 0, sizeof fv->counts);
	fv->mask = 0;
	pthread_mutex_unlock(&fv->mu);
}
