/* Sample structures for mpath-nvme's libnvme cross-check: filled through
 * libnvme's own struct definitions with explicit little-endian stores. */

#define C(x) printf("const %s %lld\n", #x, (long long)(x))
#define OFF(s, f) printf("off %s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define SIZE(s) printf("size %s %zu\n", #s, sizeof(struct s))

static void val(const char *name, unsigned long long v)
{
	printf("val %s %llu\n", name, v);
}

static void hex(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;
	printf("hex %s ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static void status_field(unsigned int f)
{
	char name[64];
	snprintf(name, sizeof(name), "status.%u.sct", f);
	val(name, nvme_status_code_type((__u16)f));
	snprintf(name, sizeof(name), "status.%u.sc", f);
	val(name, nvme_status_code((__u16)f));
}

static void ana_log(void)
{
	static unsigned char buf[16 + 32 + 8 + 32 + 4] __attribute__((aligned(8)));
	struct nvme_ana_log *log = (struct nvme_ana_log *)buf;
	struct nvme_ana_group_desc *d;

	memset(buf, 0, sizeof(buf));
	log->chgcnt = htole64(0x0102030405060708ULL);
	log->ngrps = htole16(2);
	val("ana.chgcnt", 0x0102030405060708ULL);
	val("ana.ngrps", 2);

	d = (struct nvme_ana_group_desc *)(buf + sizeof(*log));
	d->grpid = htole32(1);
	d->nnsids = htole32(2);
	d->chgcnt = htole64(11);
	d->state = NVME_ANA_STATE_OPTIMIZED;
	d->nsids[0] = htole32(10);
	d->nsids[1] = htole32(0xFFFFFFFEu);
	val("ana.g0.grpid", 1);
	val("ana.g0.nnsids", 2);
	val("ana.g0.chgcnt", 11);
	val("ana.g0.state", NVME_ANA_STATE_OPTIMIZED);
	val("ana.g0.nsid0", 10);
	val("ana.g0.nsid1", 0xFFFFFFFEu);

	d = (struct nvme_ana_group_desc *)((unsigned char *)d + sizeof(*d) + 2 * sizeof(__le32));
	d->grpid = htole32(64);
	d->nnsids = htole32(1);
	d->chgcnt = htole64(0xFFFFFFFFFFFFFFFFULL);
	d->state = NVME_ANA_STATE_CHANGE;
	d->nsids[0] = htole32(30);
	val("ana.g1.grpid", 64);
	val("ana.g1.nnsids", 1);
	val("ana.g1.chgcnt", 0xFFFFFFFFFFFFFFFFULL);
	val("ana.g1.state", NVME_ANA_STATE_CHANGE);
	val("ana.g1.nsid0", 30);

	hex("ana_log", buf, sizeof(buf));
}

static void resv_report(void)
{
	static unsigned char buf[128] __attribute__((aligned(8)));
	struct nvme_resv_status *s = (struct nvme_resv_status *)buf;
	char hostid[16];

	/* Regular format: 24-byte header and two 24-byte registrants. */
	memset(buf, 0, sizeof(buf));
	s->gen = htole32(0xAABBCCDDu);
	s->rtype = NVME_RESERVATION_RTYPE_WERO;
	s->regctl[0] = 2;
	s->regctl[1] = 0;
	s->ptpls = 1;
	s->regctl_ds[0].cntlid = htole16(1);
	s->regctl_ds[0].rcsts = 0;
	s->regctl_ds[0].hostid = htole64(0x1122334455667788ULL);
	s->regctl_ds[0].rkey = htole64(0xAAAAu);
	s->regctl_ds[1].cntlid = htole16(0x0203);
	s->regctl_ds[1].rcsts = 1;
	s->regctl_ds[1].hostid = htole64(0x8877665544332211ULL);
	s->regctl_ds[1].rkey = htole64(0xBBBBBBBBBBBBBBBBULL);
	val("resv.gen", 0xAABBCCDDu);
	val("resv.rtype", NVME_RESERVATION_RTYPE_WERO);
	val("resv.regctl", 2);
	val("resv.ptpls", 1);
	val("resv.r0.cntlid", 1);
	val("resv.r0.rcsts", 0);
	val("resv.r0.hostid", 0x1122334455667788ULL);
	val("resv.r0.rkey", 0xAAAAu);
	val("resv.r1.cntlid", 0x0203);
	val("resv.r1.rcsts", 1);
	val("resv.r1.hostid", 0x8877665544332211ULL);
	val("resv.r1.rkey", 0xBBBBBBBBBBBBBBBBULL);
	hex("resv", buf, 24 + 2 * sizeof(struct nvme_registered_ctrl));

	/* Extended format: 64-byte header and one 64-byte registrant. */
	memset(buf, 0, sizeof(buf));
	s->gen = htole32(5);
	s->rtype = NVME_RESERVATION_RTYPE_EAAR;
	s->regctl[0] = 1;
	s->ptpls = 0;
	s->regctl_eds[0].cntlid = htole16(0xFFFF);
	s->regctl_eds[0].rcsts = 1;
	s->regctl_eds[0].rkey = htole64(0x0123456789ABCDEFULL);
	for (int i = 0; i < 16; i++)
		hostid[i] = (char)(0xA0 + i);
	memcpy(s->regctl_eds[0].hostid, hostid, 16);
	val("resv_ext.gen", 5);
	val("resv_ext.rtype", NVME_RESERVATION_RTYPE_EAAR);
	val("resv_ext.regctl", 1);
	val("resv_ext.ptpls", 0);
	val("resv_ext.r0.cntlid", 0xFFFF);
	val("resv_ext.r0.rcsts", 1);
	val("resv_ext.r0.rkey", 0x0123456789ABCDEFULL);
	hex("resv_ext.r0.hostid", hostid, 16);
	hex("resv_ext", buf, sizeof(struct nvme_resv_status) + sizeof(struct nvme_registered_ctrl_ext));
}

static void resv_notification(void)
{
	struct nvme_resv_notification_log l;

	memset(&l, 0, sizeof(l));
	l.lpc = htole64(77);
	l.rnlpt = NVME_RESV_NOTIFY_RNLPT_RESERVATION_PREEMPTED;
	l.nalp = 3;
	l.nsid = htole32(9);
	val("rn.lpc", 77);
	val("rn.rnlpt", NVME_RESV_NOTIFY_RNLPT_RESERVATION_PREEMPTED);
	val("rn.nalp", 3);
	val("rn.nsid", 9);
	hex("resv_notification", &l, sizeof(l));
}

static void identify(void)
{
	static struct nvme_id_ctrl c;
	static struct nvme_id_ns n;
	const char *nqn = "nqn.2014-08.org.nvmexpress:uuid:mpath-crosscheck";

	memset(&c, 0, sizeof(c));
	c.cmic = NVME_CTRL_CMIC_MULTI_PORT | NVME_CTRL_CMIC_MULTI_CTRL | NVME_CTRL_CMIC_MULTI_ANA_REPORTING;
	c.cntlid = htole16(0x4321);
	c.ver = htole32(0x00020000);
	c.crdt1 = htole16(1);
	c.crdt2 = htole16(0x0203);
	c.crdt3 = htole16(0xFFFF);
	c.nn = htole32(1024);
	c.oncs = htole16(NVME_CTRL_ONCS_RESERVATIONS | 0x0100);
	c.mnan = htole32(256);
	c.anatt = 10;
	c.anacap = NVME_CTRL_ANACAP_OPT | NVME_CTRL_ANACAP_INACCESSIBLE | NVME_CTRL_ANACAP_CHANGE;
	c.anagrpmax = htole32(64);
	c.nanagrpid = htole32(32);
	strcpy(c.subnqn, nqn);
	val("id_ctrl.cmic", c.cmic);
	val("id_ctrl.cntlid", 0x4321);
	val("id_ctrl.ver", 0x00020000);
	val("id_ctrl.crdt1", 1);
	val("id_ctrl.crdt2", 0x0203);
	val("id_ctrl.crdt3", 0xFFFF);
	val("id_ctrl.nn", 1024);
	val("id_ctrl.oncs", NVME_CTRL_ONCS_RESERVATIONS | 0x0100);
	val("id_ctrl.mnan", 256);
	val("id_ctrl.anatt", 10);
	val("id_ctrl.anacap", c.anacap);
	val("id_ctrl.anagrpmax", 64);
	val("id_ctrl.nanagrpid", 32);
	printf("str id_ctrl.subnqn %s\n", nqn);
	hex("id_ctrl", &c, sizeof(c));

	memset(&n, 0, sizeof(n));
	n.nsze = htole64(0x100000000ULL);
	n.ncap = htole64(0x80000000ULL);
	n.nuse = htole64(0x1234);
	n.nmic = NVME_NS_NMIC_SHARED;
	n.rescap = NVME_NS_RESCAP_PTPL | NVME_NS_RESCAP_WEAR | NVME_NS_RESCAP_IEK_13;
	n.anagrpid = htole32(7);
	val("id_ns.nsze", 0x100000000ULL);
	val("id_ns.ncap", 0x80000000ULL);
	val("id_ns.nuse", 0x1234);
	val("id_ns.nmic", NVME_NS_NMIC_SHARED);
	val("id_ns.rescap", n.rescap);
	val("id_ns.anagrpid", 7);
	hex("id_ns", &n, sizeof(n));
}

static void samples(void)
{
	ana_log();
	resv_report();
	resv_notification();
	identify();
}
