/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * mpath_selftest: what the module's files share. A "rig" is one data
 * plane, one device publishing to it, two cursors and ticket slots, all in
 * kmalloc'ed memory sized by the header's MPATH_*_SIZE/ALIGN, plus a model
 * of the storage target behind the paths (target.c). Each case (cases.c)
 * resets the rig, drives the device as a transport would and reports every
 * check with st_check().
 */
#ifndef MPATH_SELFTEST_H
#define MPATH_SELFTEST_H

#include <linux/types.h>
#include "mpath.h"

#define MS 1000000ULL

/* Our reservation key, and the most paths, tickets and log lines a case uses. */
#define ST_OURS 0xa1ULL
#define ST_PATHS 4
#define ST_HELD 8
#define ST_LOG 64
#define ST_EVENTS 32

/*
 * A model of an SPC-4 device server's persistent-reservation state (SPC-4
 * 5.13), one I_T nexus per path (keyed by path id), answering in the C ABI's
 * structs; the same model mpath-ffi's Rust tests use (src/tests/target.rs).
 * It also keeps each target port group's access state, for RefreshAccessState.
 */
struct st_target {
	struct { u32 nexus; u64 key; } regs[ST_PATHS];
	unsigned int nregs;
	bool has_resv;
	u32 resv_nexus;
	u64 resv_key;
	u32 resv_type;
	/* Paths whose nexus is cut: commands and I/O fail at the transport. */
	u32 down[ST_PATHS];
	unsigned int ndown;
	/* (nexus, command) of every reservation command that arrived. */
	struct { u32 nexus, command; } log[ST_LOG];
	unsigned int nlog;
	/* Access state of groups 1 and 2 (index = group). */
	u32 group_state[3];
};

/* What one drain of the device did: the actions carried out, the events. */
struct st_drained {
	unsigned int actions[MPATH_ACTION_KIND_RESERVATION + 1];
	unsigned int dispatches;
	u64 dispatch_tag;
	u32 dispatch_path;
	struct MpathPrAction pr[ST_LOG];
	unsigned int npr;
	struct MpathEvent ev[ST_EVENTS];
	unsigned int nev;
	bool overflow;
};

struct st_rig {
	struct MpathDataPlane *dp;
	struct MpathDevice *dev;
	/* One cursor per (pretend) CPU: node 0 and node 1. */
	struct MpathCursor *cursor[2];
	/* The case's ticket slot, and the one drains dispatch into. */
	struct MpathTicket *slot, *dslot;
	struct MpathTicket *held[ST_HELD];
	u32 path[ST_PATHS];
	struct st_target t;
	struct st_drained d;
	/* The caller memory the objects live in. */
	void *dp_mem, *dev_mem, *cursor_mem[2], *slot_mem, *dslot_mem, *held_mem[ST_HELD];
};

__printf(2, 3) bool st_check(bool ok, const char *fmt, ...);
#define CHECK(cond, ...) st_check(!!(cond), __VA_ARGS__)
/* A precondition, not a check: silent when it holds, a FAIL line if not. */
#define REQUIRE(cond, ...) ((cond) ? true : st_check(false, __VA_ARGS__))

int st_rig_alloc(struct st_rig *r);
void st_rig_free(struct st_rig *r);
bool st_rig_reset(struct st_rig *r, u32 policy);

bool st_target_down(const struct st_target *t, u32 path);
struct MpathPrReply st_target_exec(struct st_target *t,
				   const struct MpathPrAction *a);
bool st_logged(const struct st_target *t, unsigned int from, u32 nexus,
	       u32 command);

void st_drive(struct st_rig *r, u64 now);
const struct MpathEvent *st_find_event(const struct st_drained *d, u32 kind,
				       u32 path);
struct MpathIo st_io(u64 tag, u32 kind, u32 bytes);
u32 st_ticket_path(const struct MpathTicket *t);
u32 st_tier(const struct st_rig *r, u32 path);
int st_path_index(const struct st_rig *r, u32 path);

void st_case_layout(struct st_rig *r);
void st_case_setup(struct st_rig *r);
void st_case_policies(struct st_rig *r);
void st_case_failover(struct st_rig *r);
void st_case_alua(struct st_rig *r);
void st_case_reservation(struct st_rig *r);

#endif /* MPATH_SELFTEST_H */
