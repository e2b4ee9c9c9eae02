/*
 * Clean-room C model of the Linux kernel's per-I/O multipath work, for the
 * mpath benches (issue 14). Written from the behaviour of
 * drivers/nvme/host/multipath.c (round-robin and queue-depth iopolicies,
 * nvme_mpath_start_request / nvme_mpath_end_request) and
 * drivers/md/dm-ps-service-time.c (select under the selector spinlock,
 * in-flight bytes added at start and subtracted at end); no kernel code is
 * copied. See benches/README.md, "The kernel reference".
 *
 * Every device is allocated and freed here so that its cache-line layout
 * is the C compiler's, as in the kernel: the Rust side holds an opaque
 * pointer.
 */
#ifndef MPATH_REFERENCE_H
#define MPATH_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#define REF_MAX_PATHS 64

/* NVMe iopolicy values (the subsystem's iopolicy attribute). */
#define REF_NVME_NUMA 0
#define REF_NVME_RR 1
#define REF_NVME_QD 2

/* ANA states that matter to selection. */
#define REF_ANA_OPTIMIZED 1
#define REF_ANA_NONOPTIMIZED 2
#define REF_ANA_INACCESSIBLE 3

struct ref_nvme;
struct ref_st;

/* A request's multipath bookkeeping (what struct nvme_request carries). */
struct ref_req {
	int32_t path;
	uint32_t flags;
};

/* ---- NVMe native multipath: one namespace head, n paths ---- */

/* n in 1..=REF_MAX_PATHS paths, all live, ready and ANA-optimized, under
 * iopolicy `policy`. NULL on a bad argument or no memory. */
struct ref_nvme *ref_nvme_new(uint32_t n, int32_t policy);
void ref_nvme_free(struct ref_nvme *h);

/* nvme_find_path: the path index chosen, or -1 for none. Round-robin
 * writes the head's current path (one node: every caller shares it). */
int32_t ref_nvme_select(struct ref_nvme *h);
/* nvme_mpath_start_request / _end_request for a request sent to `path`. */
void ref_nvme_start(struct ref_nvme *h, struct ref_req *rq, int32_t path);
void ref_nvme_end(struct ref_nvme *h, struct ref_req *rq);
/* select + start + end: one I/O, as the benches time it. */
int32_t ref_nvme_io(struct ref_nvme *h);

/* Test hooks. */
void ref_nvme_set_ana(struct ref_nvme *h, uint32_t path, int32_t ana_state);
void ref_nvme_set_live(struct ref_nvme *h, uint32_t path, int32_t live);
int32_t ref_nvme_nr_active(const struct ref_nvme *h, uint32_t path);
void ref_nvme_set_nr_active(struct ref_nvme *h, uint32_t path, int32_t v);
/* The head's current path, or -1 when none is cached. */
int32_t ref_nvme_current(const struct ref_nvme *h);

/* ---- dm-multipath service-time path selector: n valid paths ---- */

/* Path i has relative throughput 1 + i % 3, as the Rust benches' paths. */
struct ref_st *ref_st_new(uint32_t n);
void ref_st_free(struct ref_st *s);

/* st_select_path under the selector lock: path index or -1. */
int32_t ref_st_select(struct ref_st *s, size_t nr_bytes);
void ref_st_start(struct ref_st *s, int32_t path, size_t nr_bytes);
void ref_st_end(struct ref_st *s, int32_t path, size_t nr_bytes);
/* select + start + end of one nr_bytes I/O. */
int32_t ref_st_io(struct ref_st *s, size_t nr_bytes);

/* Test hooks. */
void ref_st_set_throughput(struct ref_st *s, uint32_t path, uint32_t rt);
int32_t ref_st_in_flight(const struct ref_st *s, uint32_t path);
/* Path indices in list order (the scan order of the next selection);
 * returns how many were written. */
uint32_t ref_st_order(const struct ref_st *s, int32_t *out, uint32_t cap);

#endif
