// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * mpath_selftest: the mpath core (Rust, linked as mpath-ffi's staticlib
 * through its C ABI) inside a stock kernel. On load it runs the self-test
 * in cases.c and prints every check, then
 *
 *   mpath selftest: N passed, M failed
 *
 * and how deep the run went into this task's stack. Loading fails with
 * -EINVAL if a check failed, so a plain insmod says whether it passed.
 */
#define pr_fmt(fmt) "mpath selftest: " fmt

#include <linux/module.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>

#include <asm/asm.h>

#include "selftest.h"

static unsigned int st_passed, st_failed;

bool st_check(bool ok, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("%s %pV\n", ok ? "ok" : "FAIL", &vaf);
	va_end(args);
	if (ok)
		st_passed++;
	else
		st_failed++;
	return ok;
}

/*
 * Stack high-water mark. The kernel's own (CONFIG_DEBUG_STACK_USAGE) is off
 * in Debian's build, so: fill the unused part of this task's stack, below
 * the caller's frame, with a pattern before the cases run, and afterwards
 * find the lowest word that no longer holds it. An interrupt taken meanwhile
 * may write there too; that only makes the figure an upper bound.
 */
#define ST_PAINT 0x5354414b5354414bUL /* "KATSKATS" */
#define ST_PAINT_GAP 256 /* bytes left alone below the painter's frame */

static noinline void st_paint_stack(void)
{
	unsigned long *p = end_of_stack(current) + 1;
	unsigned long *below = (unsigned long *)(current_stack_pointer -
						  ST_PAINT_GAP);

	while (p < below)
		*p++ = ST_PAINT;
}

/* The lowest address the run wrote to on this task's stack. */
static unsigned long st_stack_low(void)
{
	unsigned long *p = end_of_stack(current) + 1;
	unsigned long top = (unsigned long)task_stack_page(current) + THREAD_SIZE;

	while ((unsigned long)p < top && *p == ST_PAINT)
		p++;
	return (unsigned long)p;
}

/* Out of line so that the cases' frames are below the painted line. */
static noinline void st_run_cases(struct st_rig *r)
{
	st_case_layout(r);
	st_case_setup(r);
	st_case_policies(r);
	st_case_failover(r);
	st_case_alua(r);
	st_case_reservation(r);
}

static int __init mpath_selftest_init(void)
{
	unsigned long entry = current_stack_pointer, top, low;
	struct st_rig *r;
	int rc;

	/* The rig holds drained events and actions: kernel stacks are small. */
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	rc = st_rig_alloc(r);
	if (rc) {
		pr_err("cannot allocate the objects\n");
		goto out;
	}
	st_paint_stack();
	st_run_cases(r);
	low = st_stack_low();
	top = (unsigned long)task_stack_page(current) + THREAD_SIZE;
	/*
	 * Two figures: what the cases and the library took below this
	 * function, and the whole task's, insmod's own call chain included.
	 * The first is what the library answers for: every object is built
	 * in the caller's memory (the inits' frames are under 3 KiB), and it
	 * reads about 3.9 KiB. Fail past 6 KiB, so that a deeper call shows
	 * up. The second (about 5 KiB under insmod) must leave 2 KiB for an
	 * interrupt's entry frame and a caller deeper than insmod.
	 */
	CHECK(entry - low <= 6 * 1024 && top - low <= THREAD_SIZE - 2048,
	      "stack: the run went %lu bytes below module_init, %lu of the task's %lu in all",
	      entry - low, top - low, THREAD_SIZE);
	pr_info("%u passed, %u failed\n", st_passed, st_failed);
	rc = st_failed ? -EINVAL : 0;
out:
	st_rig_free(r);
	kfree(r);
	return rc;
}

static void __exit mpath_selftest_exit(void)
{
	pr_info("unloaded\n");
}

module_init(mpath_selftest_init);
module_exit(mpath_selftest_exit);

MODULE_DESCRIPTION("mpath core self-test (Rust staticlib through its C ABI)");
/*
 * "Dual MIT/GPL": the code is MIT OR Apache-2.0, and the kernel treats this
 * string as GPL-compatible, so the module may use GPL-only symbols and
 * loading it does not taint the kernel as proprietary (P).
 */
MODULE_LICENSE("Dual MIT/GPL");
