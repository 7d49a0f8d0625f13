/*
 * faultvfs.h - an SQLite VFS for tests that fails chosen I/O operations: it
 * wraps the default VFS (the unix one), counts the reads, writes, syncs and
 * truncations of every file SQLite opens through it (the database, its WAL,
 * any journal), and fails the N-th one of the kinds chosen, once or (like a
 * disk that stays full) from then on until cleared.
 *
 * Installed as the process's default VFS, it is what every connection opened
 * afterwards uses, the engine's included, without naming it: the store needs
 * no test hook. Left alone, and never failed: the shared-memory index of the
 * WAL (xShmMap, xShmLock: memory, not the disk), locks, xFileSize, memory
 * mapping (off in the engine's connections), opening and deleting files.
 *
 * Thread safe: the store's checkpoint thread counts and fails as the rest.
 */
#ifndef FAULTVFS_H
#define FAULTVFS_H

/* The operations counted, as bits of a mask. */
enum fv_op {
	FV_READ = 1,     /* xRead */
	FV_WRITE = 2,    /* xWrite */
	FV_SYNC = 4,     /* xSync */
	FV_TRUNCATE = 8, /* xTruncate */
	FV_ANY = 15
};
#define FV_NOPS 4 /* counts[] below: read, write, sync, truncate */

struct faultvfs;

/*
 * Registers a VFS named "faultvfs" over SQLite's current default and makes
 * it the default (sqlite3_vfs_register(..., 1)). free_syncs: a sync is
 * counted (and may fail) but not made, nor is the directory synced after a
 * deletion, so runs are bound by the CPU; only for tests in which the machine
 * does not stop. Returns 0 and *out, or -1.
 */
int fv_install(struct faultvfs **out, int free_syncs);

/*
 * Unregisters the VFS (the default goes back to what it was) and frees it. No
 * connection may be open on it. Accepts NULL.
 */
void fv_uninstall(struct faultvfs *fv);

/*
 * Fails the n-th operation (from 1, counted from this call) among the kinds
 * in `mask` with `code` (0: each kind's own SQLITE_IOERR_READ, _WRITE, _FSYNC
 * or _TRUNCATE; SQLITE_FULL: a full disk); with `persistent`, every later
 * one of those kinds fails too, until fv_clear.
 */
void fv_arm(struct faultvfs *fv, unsigned mask, long n, int code, int persistent);

/* Stops failing; the counts go on. */
void fv_clear(struct faultvfs *fv);

/* Operations failed since the last fv_arm. */
long fv_failed(struct faultvfs *fv);

/* The operations of each kind since the last fv_reset (read, write, sync, truncate). */
void fv_counts(struct faultvfs *fv, long counts[FV_NOPS]);

/* Sets the counts to zero and clears. */
void fv_reset(struct faultvfs *fv);

/* The name of operation kind k (0..FV_NOPS-1): "read", "write", "sync", "truncate". */
const char *fv_op_name(int k);

#endif /* FAULTVFS_H */
