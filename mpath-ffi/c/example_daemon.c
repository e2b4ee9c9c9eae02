/*
 * example_daemon: how multipathd-style code embeds mpath-ffi.
 *
 * One thread, one poll(2) loop, one device with three paths:
 *
 *   sda, sdb  group 1, active/optimized
 *   sdc       group 2, active/non-optimized
 *
 * The "transport" is fake: a pipe the daemon writes each command it
 * sends into (an I/O on a path, a probe) and reads back as that
 * command's completion, decided when it is read by whether the fake
 * fabric reaches the path at that moment; the fabric's own news (a link
 * going down or coming back) comes through the same pipe. A timerfd
 * stands in for the block layer, submitting a few I/Os every 10 ms and
 * playing a fault script:
 *
 *   300 ms  sdb is cut silently: its I/O fails and fails over; failed
 *           writes are held for the quiesce time, then re-sent
 *   450 ms  the transport reports sda down: only sdc (non-optimized) is
 *           left
 *   600 ms  sdb's transport is back (link up): probed, reinstated
 *   750 ms  sda back too
 *  1000 ms  no new I/O; the daemon drains what is in flight, prints the
 *           topology and exits 0 if every I/O completed without error
 *           and every path ended up usable again
 *
 * The poll timeout is the device's next deadline (mpath_poll_timeout)
 * minus CLOCK_MONOTONIC now. After every input the daemon drains
 * mpath_poll_action, then mpath_poll_event, as the header's call order
 * says. docs/EMBEDDING.md walks through this file.
 */
#define _GNU_SOURCE /* timerfd, pipe2 */

#include "mpath.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MS UINT64_C(1000000)
#define NPATHS 3
#define NREQ 64             /* requests in flight at most */
#define TICK_NS (10 * MS)   /* the block layer submits every 10 ms */
#define IOS_PER_TICK 4
#define LOAD_NS (1000 * MS) /* then stops submitting */
#define GIVE_UP_NS (5000 * MS)

/* ---- the objects, in the daemon's own memory (the header's sizes) ---- */

static _Alignas(MPATH_DATAPLANE_ALIGN) unsigned char dp_mem[MPATH_DATAPLANE_SIZE];
static _Alignas(MPATH_DEVICE_ALIGN) unsigned char dev_mem[MPATH_DEVICE_SIZE];
static _Alignas(MPATH_CURSOR_ALIGN) unsigned char cursor_mem[MPATH_CURSOR_SIZE];

/* A request, as a block driver keeps it; the ticket slot lives with it
 * (in the kernel: the blk-mq PDU). */
struct request {
	_Alignas(MPATH_TICKET_ALIGN) unsigned char ticket_mem[MPATH_TICKET_SIZE];
	MpathTicket *ticket;
	MpathIo io;
	int busy; /* submitted and not yet ended */
};

/* What travels through the pipe. */
enum wire_kind { WIRE_IO, WIRE_PROBE, WIRE_LINK };
struct wire_msg {
	uint32_t kind;
	uint32_t path;  /* path id */
	uint64_t tag;   /* WIRE_IO: the request */
	uint32_t event; /* WIRE_LINK: MpathLinkEvent code */
	uint32_t pad;
};

static struct {
	MpathDataPlane *dp;
	MpathDevice *dev;
	MpathCursor *cursor; /* this thread's; one per CPU in a kernel */
	MpathTicket *scratch; /* empty slot handed to mpath_poll_action */
	_Alignas(MPATH_TICKET_ALIGN) unsigned char scratch_mem[MPATH_TICKET_SIZE];
	uint32_t path[NPATHS];
	int reachable[NPATHS]; /* the fake fabric */
	struct request req[NREQ];
	int wire[2];
	uint64_t start;
	uint64_t submitted, completed, errors, failed_over, deadlines;
} d;

static const char *const names[NPATHS] = { "sda", "sdb", "sdc" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned elapsed_ms(void)
{
	return (unsigned)((now_ns() - d.start) / MS);
}

/* Every call is checked: a refusal here is a bug in this daemon. */
static void try(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "%s: refused with %d\n", what, rc);
		exit(1);
	}
}

static const char *tier_name(uint32_t tier)
{
	switch (tier) {
	case MPATH_TIER_OPTIMIZED:
		return "optimized";
	case MPATH_TIER_NON_OPTIMIZED:
		return "non-optimized";
	case MPATH_TIER_MARGINAL:
		return "marginal";
	case MPATH_TIER_NONE:
		return "none";
	default:
		return "ineligible";
	}
}

static int path_index(uint32_t id)
{
	int i;

	for (i = 0; i < NPATHS; i++)
		if (d.path[i] == id)
			return i;
	return -1;
}

static const char *name_of(uint32_t id)
{
	int i = path_index(id);

	return i < 0 ? "?" : names[i];
}

/* ---- the fake transport ---- */

static void wire_send(uint32_t kind, uint32_t path, uint64_t tag, uint32_t event)
{
	struct wire_msg m = { kind, path, tag, event, 0 };

	if (write(d.wire[1], &m, sizeof m) != (ssize_t)sizeof m) {
		perror("wire");
		exit(1);
	}
}

/* Send a request on the path its ticket is for. */
static void send_io(struct request *r)
{
	MpathTicketInfo info;

	try(mpath_ticket_info(r->ticket, &info), "mpath_ticket_info");
	wire_send(WIRE_IO, info.path, r->io.tag, 0);
}

static void end_request(struct request *r, int err)
{
	if (err != 0) {
		d.errors++;
		printf("%4u ms  I/O %" PRIu64 " ended with %d\n", elapsed_ms(), r->io.tag, err);
	}
	d.completed++;
	r->busy = 0;
}

/* What the device decided for a request it was handed. */
static void disposition(struct request *r, const MpathDisposition *disp)
{
	switch (disp->kind) {
	case MPATH_DISPOSITION_KIND_DISPATCH: /* the new ticket is in r's slot */
		send_io(r);
		break;
	case MPATH_DISPOSITION_KIND_DONE:
		end_request(r, disp->errno_code);
		break;
	case MPATH_DISPOSITION_KIND_QUEUED: /* held; an action ends it */
		break;
	case MPATH_DISPOSITION_KIND_BUSY: /* requeue full: not taken */
		r->busy = 0;
		d.submitted--;
		break;
	}
}

/* ---- the call order: actions, then events ---- */

static void drain(void)
{
	MpathAction a;
	MpathEvent e;
	struct request *r;
	int rc;

	while ((rc = mpath_poll_action(d.dev, &a, d.scratch)) == 1) {
		switch (a.kind) {
		case MPATH_ACTION_KIND_DISPATCH:
			/* A held I/O goes out: its ticket is in the scratch
			 * slot; move it to the request's own. */
			r = &d.req[a.io.tag];
			try(mpath_ticket_move(r->ticket, d.scratch), "mpath_ticket_move");
			printf("%4u ms  held I/O %" PRIu64 " (%s) dispatched on %s\n", elapsed_ms(),
			       a.io.tag, a.io.kind == MPATH_IO_KIND_WRITE ? "write" : "read",
			       name_of(a.path));
			send_io(r);
			break;
		case MPATH_ACTION_KIND_FAIL:
			end_request(&d.req[a.io.tag], a.errno_code);
			break;
		case MPATH_ACTION_KIND_PROBE:
			wire_send(WIRE_PROBE, a.path, 0, 0);
			break;
		case MPATH_ACTION_KIND_REFRESH_ACCESS_STATE:
			/* An RTPG would go out; the fake target's states never
			 * change, so the re-read simply succeeds. */
			try(mpath_handle_refresh_result(d.dev, a.path, 1, now_ns()),
			    "mpath_handle_refresh_result");
			break;
		case MPATH_ACTION_KIND_ACTIVATE_GROUP:
			try(mpath_handle_activation_result(d.dev, a.group,
							   MPATH_ACTIVATION_RESULT_DONE, now_ns()),
			    "mpath_handle_activation_result");
			break;
		case MPATH_ACTION_KIND_HEAD_LIVE:
			printf("%4u ms  head live: the block device can be exposed\n", elapsed_ms());
			break;
		default:
			/* Reservation commands: none in this example (no key
			 * registered); HeadRemoved, TransitionTimedOut: logged. */
			printf("%4u ms  action %" PRIu32 "\n", elapsed_ms(), a.kind);
			break;
		}
	}
	try(rc, "mpath_poll_action");
	while ((rc = mpath_poll_event(d.dev, &e)) == 1) {
		switch (e.kind) {
		case MPATH_EVENT_KIND_PATH_FAILED:
			printf("%4u ms  path %s failed\n", elapsed_ms(), name_of(e.path));
			break;
		case MPATH_EVENT_KIND_PATH_REINSTATED:
			printf("%4u ms  path %s reinstated, %s\n", elapsed_ms(), name_of(e.path),
			       tier_name(e.tier));
			break;
		case MPATH_EVENT_KIND_ACTIVE_TIER:
			printf("%4u ms  selection uses the %s tier\n", elapsed_ms(),
			       tier_name(e.tier));
			break;
		default:
			printf("%4u ms  event %" PRIu32 " on %s\n", elapsed_ms(), e.kind,
			       name_of(e.path));
			break;
		}
	}
	try(rc, "mpath_poll_event");
}

/* ---- inputs ---- */

/* The block layer hands us a request: the data plane first (lock-free,
 * any CPU), the device when it finds no path. */
static void submit(uint64_t tag)
{
	struct request *r = &d.req[tag];
	MpathDisposition disp;
	uint64_t now = now_ns();
	int rc;

	memset(&r->io, 0, sizeof r->io);
	r->io.tag = tag;
	r->io.bytes = 4096;
	/* Every third a write: writes are what the quiesce time holds. */
	r->io.kind = tag % 3 == 0 ? MPATH_IO_KIND_WRITE : MPATH_IO_KIND_READ;
	r->io.retries = 3;
	r->busy = 1;
	d.submitted++;
	rc = mpath_dp_submit(d.dp, d.cursor, &r->io, now, r->ticket);
	try(rc, "mpath_dp_submit");
	if (rc == 1) {
		send_io(r);
		return;
	}
	try(mpath_submit(d.dev, &r->io, now, &disp, r->ticket), "mpath_submit");
	disposition(r, &disp);
	drain();
}

static void wire_receive(const struct wire_msg *m)
{
	int i = path_index(m->path);
	int up = i >= 0 && d.reachable[i];
	uint64_t now = now_ns();
	struct request *r;
	MpathCompletion c;
	MpathDisposition disp;
	MpathIo io;

	switch (m->kind) {
	case WIRE_IO:
		r = &d.req[m->tag];
		if (up) {
			/* The fast path: a success ends on the data plane. */
			try(mpath_dp_complete(d.dp, d.cursor, r->ticket, now, &io),
			    "mpath_dp_complete");
			end_request(r, 0);
			return; /* nothing for the device to act on */
		}
		memset(&c, 0, sizeof c);
		c.outcome = MPATH_OUTCOME_PATH_ERROR;
		c.detail = MPATH_PATH_ERROR_TRANSPORT;
		try(mpath_handle_completion(d.dev, r->ticket, &c, now, &disp),
		    "mpath_handle_completion");
		d.failed_over++;
		disposition(r, &disp);
		break;
	case WIRE_PROBE:
		try(mpath_handle_probe(d.dev, m->path,
				       up ? MPATH_PROBE_RESULT_UP : MPATH_PROBE_RESULT_DOWN, now),
		    "mpath_handle_probe");
		break;
	case WIRE_LINK:
		try(mpath_handle_link(d.dev, m->path, m->event, now), "mpath_handle_link");
		break;
	}
	drain();
}

/* The fault script, played by the block layer's tick. */
static void fabric(unsigned ms)
{
	static unsigned step;

	if (step == 0 && ms >= 300) {
		printf("%4u ms  -- fabric: sdb cut (nobody is told)\n", ms);
		d.reachable[1] = 0;
		step++;
	} else if (step == 1 && ms >= 450) {
		printf("%4u ms  -- fabric: sda down, the transport reports it\n", ms);
		d.reachable[0] = 0;
		wire_send(WIRE_LINK, d.path[0], 0, MPATH_LINK_EVENT_DOWN);
		step++;
	} else if (step == 2 && ms >= 600) {
		printf("%4u ms  -- fabric: sdb back, link up\n", ms);
		d.reachable[1] = 1;
		wire_send(WIRE_LINK, d.path[1], 0, MPATH_LINK_EVENT_UP);
		step++;
	} else if (step == 3 && ms >= 750) {
		printf("%4u ms  -- fabric: sda back, link up\n", ms);
		d.reachable[0] = 1;
		wire_send(WIRE_LINK, d.path[0], 0, MPATH_LINK_EVENT_UP);
		step++;
	}
}

static void tick(void)
{
	unsigned ms = elapsed_ms(), n = 0;
	uint64_t tag;

	fabric(ms);
	if (ms >= LOAD_NS / MS)
		return;
	for (tag = 0; tag < NREQ && n < IOS_PER_TICK; tag++)
		if (!d.req[tag].busy) {
			submit(tag);
			n++;
		}
}

/* ---- set-up ---- */

static void setup(void)
{
	static const uint32_t group[NPATHS] = { 1, 1, 2 };
	static const uint32_t state[NPATHS] = { MPATH_ACCESS_STATE_OPTIMIZED,
						MPATH_ACCESS_STATE_OPTIMIZED,
						MPATH_ACCESS_STATE_NON_OPTIMIZED };
	MpathConfig cfg;
	MpathPathSpec spec;
	int err = 0, i;

	try(mpath_config_default(&cfg), "mpath_config_default");
	/* multipathd's defaults check every 5 s; a demo that lasts one
	 * second checks every 50 ms, and holds failed writes for 50 ms. */
	cfg.probe.min_interval_ns = 50 * MS;
	cfg.probe.max_interval_ns = 200 * MS;
	cfg.probe.timeout_ns = 100 * MS;
	cfg.quiesce_time_ns = 50 * MS;
	cfg.policy = MPATH_POLICY_QUEUE_DEPTH;

	d.dp = mpath_dataplane_init((MpathDataPlane *)dp_mem, 0);
	d.dev = mpath_device_init((MpathDevice *)dev_mem, d.dp, &cfg,
				  MPATH_REGISTRATION_SCOPE_NEXUS, &err);
	d.cursor = mpath_cursor_init((MpathCursor *)cursor_mem, 0);
	d.scratch = mpath_ticket_init((MpathTicket *)d.scratch_mem);
	if (!d.dp || !d.dev || !d.cursor || !d.scratch) {
		fprintf(stderr, "init failed (%d)\n", err);
		exit(1);
	}
	for (i = 0; i < NREQ; i++) {
		d.req[i].ticket = mpath_ticket_init((MpathTicket *)d.req[i].ticket_mem);
		if (!d.req[i].ticket)
			exit(1);
	}
	d.start = now_ns();
	for (i = 0; i < NPATHS; i++) {
		memset(&spec, 0, sizeof spec);
		spec.group = group[i];
		spec.nexus = 100 + (uint32_t)i;
		spec.relative_throughput = 1;
		/* The state discovery read (RTPG), so no refresh is needed. */
		spec.has_access = 1;
		spec.access.state = state[i];
		try(mpath_add_path(d.dev, &spec, spec.nexus, now_ns(), &d.path[i]),
		    "mpath_add_path");
		d.reachable[i] = 1;
		printf("%4u ms  added %s (group %" PRIu32 ")\n", elapsed_ms(), names[i], group[i]);
		drain();
	}
}

/* ---- the loop ---- */

/* How long poll(2) may sleep: until the device's next deadline, rounded
 * up to whole milliseconds (waking early would only spin), or for ever
 * (-1) when no timer is armed: the timerfd and the pipe wake us then. */
static int poll_timeout_ms(void)
{
	uint64_t deadline, now;
	int rc = mpath_poll_timeout(d.dev, &deadline);

	try(rc, "mpath_poll_timeout");
	if (rc == 0)
		return -1;
	now = now_ns();
	if (deadline <= now)
		return 0;
	return (int)((deadline - now + MS - 1) / MS);
}

static int idle(void)
{
	uint32_t queued = 0;
	int i;

	for (i = 0; i < NREQ; i++)
		if (d.req[i].busy)
			return 0;
	try(mpath_queued(d.dev, &queued), "mpath_queued");
	return queued == 0;
}

int main(void)
{
	struct itimerspec every = { { 0, (long)TICK_NS }, { 0, (long)TICK_NS } };
	struct pollfd fds[2];
	struct wire_msg m;
	MpathName name;
	MpathText *text;
	MpathPathSnapshot snap;
	uint64_t expirations, deadline;
	int tfd, rc, i, ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe2(d.wire, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    timerfd_settime(tfd, 0, &every, NULL) != 0) {
		perror("set-up");
		return 1;
	}
	setup();
	fds[0].fd = tfd;
	fds[0].events = POLLIN;
	fds[1].fd = d.wire[0];
	fds[1].events = POLLIN;

	for (;;) {
		if (elapsed_ms() >= LOAD_NS / MS && idle())
			break;
		if (now_ns() - d.start > GIVE_UP_NS) {
			fprintf(stderr, "not drained after %u ms\n", elapsed_ms());
			return 1;
		}
		rc = poll(fds, 2, poll_timeout_ms());
		if (rc < 0) {
			perror("poll");
			return 1;
		}
		/* Deadlines first: a timer that fell due while we slept. */
		if (mpath_poll_timeout(d.dev, &deadline) == 1 && deadline <= now_ns()) {
			try(mpath_handle_timeout(d.dev, now_ns()), "mpath_handle_timeout");
			d.deadlines++;
			drain();
		}
		if (fds[0].revents & POLLIN) {
			if (read(tfd, &expirations, sizeof expirations) > 0)
				tick();
		}
		if (fds[1].revents & POLLIN) {
			while (read(d.wire[0], &m, sizeof m) == (ssize_t)sizeof m)
				wire_receive(&m);
		}
	}

	/* multipath -ll */
	text = malloc(sizeof *text);
	if (!text)
		return 1;
	memset(&name, 0, sizeof name);
	memcpy(name.bytes, "mpatha", 6);
	try(mpath_topology(d.dev, &name, text), "mpath_topology");
	printf("\n%.*s%s", (int)text->len, (const char *)text->bytes,
	       text->truncated ? "...\n" : "");
	free(text);

	ok = d.errors == 0 && d.completed == d.submitted && d.failed_over > 0;
	for (i = 0; i < NPATHS; i++) {
		try(mpath_path_snapshot(d.dev, d.path[i], &snap), "mpath_path_snapshot");
		ok &= snap.link == MPATH_LINK_UP && snap.tier != MPATH_TIER_INELIGIBLE;
	}
	printf("\n%" PRIu64 " I/Os submitted, %" PRIu64 " completed, %" PRIu64
	       " errors, %" PRIu64 " path errors failed over, %" PRIu64
	       " device deadlines handled; all paths usable: %s\n",
	       d.submitted, d.completed, d.errors, d.failed_over, d.deadlines, ok ? "yes" : "NO");
	close(tfd);
	close(d.wire[0]);
	close(d.wire[1]);
	return ok ? 0 : 1;
}
