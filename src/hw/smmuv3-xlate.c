// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model: the translation of one transaction.
 *
 *   StreamID -> configuration cache -> (miss) stream table -> STE -> CD
 *            -> TLB -> (miss) stage 1 / stage 2 / nested walk
 *            -> permission check -> PA, or a fault and an event record.
 *
 * Both caches are direct-mapped arrays of seqlock slots (see
 * smmuv3-internal.h): a hit costs two sequence loads and a handful of
 * word loads, no atomic read-modify-write and no lock.  Fills happen on
 * use; only invalidation commands (and disabling the SMMU) empty slots.  A
 * per-cache generation counter, bumped before every invalidation, keeps a
 * translation that walked the old tables from inserting its result after
 * the invalidation has passed.
 *
 * Structure decoding follows IHI 0070 G.b 5.2 (STE) and 5.4 (CD); anything
 * ILLEGAL is reported as C_BAD_STE / C_BAD_CD with a guest-error line.
 */
#include <endian.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <sched.h>
#include <string.h>

#include "smmuv3-internal.h"

#include "alloc.h"
#include "log.h"
#include "trace.h"

/* ------------------------------------------------------------ counters */

/* initial-exec: no __tls_get_addr call on the hit path of the shared library */
static _Thread_local unsigned int tl_shard
	__attribute__((tls_model("initial-exec"))) = UINT_MAX;
static unsigned int next_shard;

static inline struct smmu_counters *counters(struct uiommu_smmuv3 *s)
{
	if (uio_unlikely(tl_shard == UINT_MAX))
		tl_shard = __atomic_fetch_add(&next_shard, 1, __ATOMIC_RELAXED) %
			   SMMU_NSHARDS;
	return &s->ctr[tl_shard];
}

/* Each thread owns its shard: a plain load + store, no locked RMW. */
#define CTR_INC(c, f) \
	__atomic_store_n(&(c)->f, __atomic_load_n(&(c)->f, __ATOMIC_RELAXED) + 1, \
			 __ATOMIC_RELAXED)

/* ------------------------------------------------------- walks in flight */

/*
 * A table walk reads page-table pages that the driver frees after
 * TLBI + CMD_SYNC, and a configuration fetch reads stream-table and CD-table
 * pages that it frees after CFGI_* + CMD_SYNC (4.7.2: the sync completes
 * only when invalidations, and the translations that could still use the
 * old structures, have completed).  Both run between walk_begin() and
 * walk_end() on the calling thread's shard; a fetch section contains the
 * stage-2 walks of a nested CD fetch (sections nest: the shard's count is
 * balanced).  Only misses enter a section: cache hits copy decoded entries
 * and read no table memory.  Events and guest-error lines, which may call
 * back into a driver that issues CMD_SYNC from this very thread, are raised
 * outside the section (see fetch_cfg_synced()).
 */
static void walk_begin(struct uiommu_smmuv3 *s)
{
	__atomic_fetch_add(&counters(s)->walking, 1, __ATOMIC_SEQ_CST);
}

static void walk_end(struct uiommu_smmuv3 *s)
{
	__atomic_fetch_sub(&counters(s)->walking, 1, __ATOMIC_RELEASE);
}

void uio_smmu_sync_walks(struct uiommu_smmuv3 *s)
{
	for (unsigned int i = 0; i < SMMU_NSHARDS; i++) {
		/* A read-modify-write, not a load: a walk that begins after it
		 * synchronizes with it and sees every store made before the
		 * sync, such as the descriptors an unmap cleared. */
		while (__atomic_fetch_add(&s->ctr[i].walking, 0,
					  __ATOMIC_SEQ_CST))
			sched_yield();
	}
}

static int walk_tables(struct uiommu_smmuv3 *s, const struct smmu_walk_cfg *w,
		       uint64_t ia, uint32_t access, struct smmu_walk_out *o,
		       struct smmu_walk_fault *wf)
{
	int err;

	walk_begin(s);
	err = uio_smmu_walk(s->pm, w, ia, access, o, wf);
	walk_end(s);
	return err;
}

/* -------------------------------------------------------------- seqlocks */

static bool slot_trylock(uint32_t *seq, uint32_t *old)
{
	uint32_t v = __atomic_load_n(seq, __ATOMIC_RELAXED);

	/* seq_cst: pairs with the first load of slot_read() (see there). */
	if ((v & 1) || !__atomic_compare_exchange_n(seq, &v, v + 1, false,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED))
		return false;
	/* The odd sequence is visible before any of the new words. */
	uio_seq_write_fence();
	*old = v;
	return true;
}

static uint32_t slot_lock(uint32_t *seq)
{
	uint32_t old;

	while (!slot_trylock(seq, &old))
		sched_yield();
	return old;
}

static void slot_unlock(uint32_t *seq, uint32_t old)
{
	__atomic_store_n(seq, old + 2, __ATOMIC_RELEASE);
}

/*
 * Copy @n words out of a slot; false if a writer interfered.
 *
 * The first sequence load is seq_cst (a plain load on x86, like acquire)
 * because invalidation uses this read to skip a slot without locking it:
 * a filler locks its slot and then re-reads the generation that the
 * invalidation bumped before scanning.  That is store buffering, so the
 * lock CAS, the filler's generation load, the bump and this load are all
 * seq_cst.  Then either the filler sees the new generation and does not
 * insert, or this read sees the slot locked or already rewritten (and the
 * invalidation locks it).
 */
static inline bool slot_read(const uint32_t *seq, const uint64_t *src,
			     uint64_t *dst, unsigned int n)
{
	uint32_t s1 = __atomic_load_n(seq, __ATOMIC_SEQ_CST);

	if (s1 & 1)
		return false;
	for (unsigned int i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], UIO_SEQ_LOAD_ORDER);
	uio_seq_read_fence();
	return __atomic_load_n(seq, __ATOMIC_RELAXED) == s1;
}

static void slot_write(uint64_t *dst, const uint64_t *src, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		__atomic_store_n(&dst[i], src[i], UIO_SEQ_STORE_ORDER);
}

/* ---------------------------------------------------------------- caches */

int uio_smmu_caches_init(struct uiommu_smmuv3 *s)
{
	s->cfg = uio_calloc(s->opts.cfg_entries, sizeof(*s->cfg));
	if (!s->cfg)
		return -ENOMEM;
	s->tlb = uio_calloc(s->opts.tlb_entries, sizeof(*s->tlb));
	if (!s->tlb) {
		uio_free_array(s->cfg, s->opts.cfg_entries, sizeof(*s->cfg));
		return -ENOMEM;
	}
	s->cfg_mask = s->opts.cfg_entries - 1;
	s->tlb_mask = s->opts.tlb_entries - 1;
	return 0;
}

void uio_smmu_caches_fini(struct uiommu_smmuv3 *s)
{
	uio_free_array(s->tlb, s->opts.tlb_entries, sizeof(*s->tlb));
	uio_free_array(s->cfg, s->opts.cfg_entries, sizeof(*s->cfg));
}

static inline unsigned int cfg_index(const struct uiommu_smmuv3 *s,
				     uint32_t sid, uint32_t sskey)
{
	return (sid ^ (sskey * 0x9e3779b1u)) & s->cfg_mask;
}

static inline unsigned int tlb_index(const struct uiommu_smmuv3 *s,
				     uint64_t tag, uint64_t va)
{
	uint64_t h = (tag * UINT64_C(0x9e3779b97f4a7c15)) >> 32;

	return (unsigned int)(((va >> 12) ^ h) & s->tlb_mask);
}

static void cfg_insert(struct uiommu_smmuv3 *s, const union smmu_cfg_words *cu,
		       uint64_t gen)
{
	struct smmu_cfg_slot *slot = &s->cfg[cfg_index(s, cu->c.sid, cu->c.sskey)];
	uint32_t old;

	if (!slot_trylock(&slot->seq, &old))
		return;		/* another thread is filling it: skip */
	if (__atomic_load_n(&s->cfg_gen, __ATOMIC_SEQ_CST) == gen)
		slot_write(slot->u.w, cu->w, SMMU_CFG_WORDS);
	slot_unlock(&slot->seq, old);
}

static void tlb_insert(struct uiommu_smmuv3 *s, const union smmu_tlbe_words *eu,
		       uint64_t iova, uint64_t gen)
{
	struct smmu_tlb_slot *slot = &s->tlb[tlb_index(s, eu->e.tag, iova)];
	uint32_t old;

	if (!slot_trylock(&slot->seq, &old))
		return;
	if (__atomic_load_n(&s->tlb_gen, __ATOMIC_SEQ_CST) == gen)
		slot_write(slot->u.w, eu->w, SMMU_TLBE_WORDS);
	slot_unlock(&slot->seq, old);
}

static bool cfg_inval_match(const struct smmu_cfg *c, uint32_t sid_first,
			    uint32_t sid_last, bool by_ssid, uint32_t ssid)
{
	return c->kind != SMMU_CFG_INVALID && c->sid >= sid_first &&
	       c->sid <= sid_last &&
	       (!by_ssid || c->sskey == ssid + 1 ||
		(c->sskey == 0 && ssid == 0));
}

void uio_smmu_cfg_inval(struct uiommu_smmuv3 *s, uint32_t sid_first,
			uint32_t sid_last, bool by_ssid, uint32_t ssid)
{
	uint64_t dropped = 0;

	uio_assert_held(&s->lock);
	__atomic_fetch_add(&s->cfg_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i <= s->cfg_mask; i++) {
		struct smmu_cfg_slot *slot = &s->cfg[i];
		union smmu_cfg_words cur;
		struct smmu_cfg *c = &slot->u.c;
		uint32_t old;

		if (slot_read(&slot->seq, slot->u.w, cur.w, SMMU_CFG_WORDS) &&
		    !cfg_inval_match(&cur.c, sid_first, sid_last, by_ssid, ssid))
			continue;
		old = slot_lock(&slot->seq);

		/* Writers own the slot: plain reads of its words are safe. */
		if (cfg_inval_match(c, sid_first, sid_last, by_ssid, ssid)) {
			union smmu_cfg_words empty;

			memset(&empty, 0, sizeof(empty));
			slot_write(slot->u.w, empty.w, SMMU_CFG_WORDS);
			dropped++;
		}
		slot_unlock(&slot->seq, old);
	}
	s->cfg_invalidated += dropped;
	trace_smmuv3_cfgi(sid_first, sid_last, by_ssid ? ssid : UINT32_MAX,
			  dropped);
}

static bool tlbi_match(const struct smmu_tlbe *e, enum smmu_tlbi_scope scope,
		       uint16_t vmid, uint16_t asid, uint64_t addr)
{
	uint64_t kind = UIO_FEX64(e->tag, TLBTAG, KIND);
	bool nh = kind == SMMU_CFG_S1 || kind == SMMU_CFG_NESTED;
	bool vm = UIO_FEX64(e->tag, TLBTAG, VMID) == vmid;
	bool as = UIO_FEX64(e->tag, TLBTAG, ASID) == asid;
	unsigned int shift = (unsigned int)UIO_FEX64(e->info, TLBINFO, SHIFT);
	bool in = (addr >> shift) == (e->va >> shift);

	switch (scope) {
	case TLBI_ALL: return true;
	case TLBI_VMID: return vm;
	case TLBI_NH_VMID: return nh && vm;
	case TLBI_NH_ASID: return nh && vm && as;
	case TLBI_NH_VA: return nh && vm && as && in;
	case TLBI_NH_VAA: return nh && vm && in;
	case TLBI_S2_IPA: return kind == SMMU_CFG_S2 && vm && in;
	}
	return false;
}

void uio_smmu_tlb_inval(struct uiommu_smmuv3 *s, enum smmu_tlbi_scope scope,
			uint16_t vmid, uint16_t asid, uint64_t addr)
{
	uint64_t dropped = 0;

	uio_assert_held(&s->lock);
	__atomic_fetch_add(&s->tlb_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i <= s->tlb_mask; i++) {
		struct smmu_tlb_slot *slot = &s->tlb[i];
		union smmu_tlbe_words cur;
		uint32_t old;

		if (slot_read(&slot->seq, slot->u.w, cur.w, SMMU_TLBE_WORDS) &&
		    (!cur.e.tag || !tlbi_match(&cur.e, scope, vmid, asid, addr)))
			continue;
		old = slot_lock(&slot->seq);
		if (slot->u.e.tag && tlbi_match(&slot->u.e, scope, vmid, asid, addr)) {
			union smmu_tlbe_words empty;

			memset(&empty, 0, sizeof(empty));
			slot_write(slot->u.w, empty.w, SMMU_TLBE_WORDS);
			dropped++;
		}
		slot_unlock(&slot->seq, old);
	}
	s->tlb_invalidated += dropped;
	trace_smmuv3_tlbi((unsigned int)scope, vmid, asid, addr, dropped);
}

int uio_smmu_caches_check(struct uiommu_smmuv3 *s)
{
	for (unsigned int i = 0; i <= s->cfg_mask; i++) {
		union smmu_cfg_words cu;

		if (!slot_read(&s->cfg[i].seq, s->cfg[i].u.w, cu.w, SMMU_CFG_WORDS))
			continue;
		if (cu.c.kind > SMMU_CFG_NESTED ||
		    (cu.c.kind != SMMU_CFG_INVALID &&
		     cfg_index(s, cu.c.sid, cu.c.sskey) != i))
			return uio_fail(-EUCLEAN, SMMU_SUBSYS,
					"%s: config slot %u: kind %u sid 0x%x misplaced",
					s->name, i, cu.c.kind, cu.c.sid);
	}
	for (unsigned int i = 0; i <= s->tlb_mask; i++) {
		union smmu_tlbe_words eu;
		unsigned int shift;

		if (!slot_read(&s->tlb[i].seq, s->tlb[i].u.w, eu.w, SMMU_TLBE_WORDS) ||
		    !eu.e.tag)
			continue;
		shift = (unsigned int)UIO_FEX64(eu.e.info, TLBINFO, SHIFT);
		if (shift < 12 || shift > 48 ||
		    !uio_is_aligned(eu.e.va | eu.e.pa, UIO_BIT(shift)) ||
		    !UIO_FEX64(eu.e.tag, TLBTAG, VALID))
			return uio_fail(-EUCLEAN, SMMU_SUBSYS,
					"%s: TLB slot %u: va 0x%" PRIx64 " pa 0x%"
					PRIx64 " shift %u malformed", s->name, i,
					eu.e.va, eu.e.pa, shift);
	}
	return 0;
}

/* ------------------------------------------------------- fault records */

struct xlate {
	struct uiommu_smmuv3 *s;
	const struct uiommu_smmuv3_txn *txn;
	struct uiommu_smmuv3_fault *fault;
	bool quiet;		/* prefetch, inspection: no events, no log */
	/* uiommu_smmuv3_inspect_ste(): where the STE and CD are captured */
	struct uiommu_smmuv3_ste_info *insp;
	const char *why;	/* of the last configuration error */
	/* inside a fetch section: a fault is noted here, raised after it */
	bool deferring, pending, pending_record;
};

/* 7.3: the event record of a fault. */
static void build_event(const struct uiommu_smmuv3_fault *f, uint32_t access,
			uint64_t ev[4])
{
	ev[0] = UIO_FDP64(0, EVT0, TYPE, f->event);
	ev[0] = UIO_FDP64(ev[0], EVT0, SSV, f->ssv);
	ev[0] = UIO_FDP64(ev[0], EVT0, SSID, f->ssv ? f->ssid : 0);
	ev[0] = UIO_FDP64(ev[0], EVT0, SID, f->sid);
	ev[1] = ev[2] = ev[3] = 0;
	switch (f->event) {
	case UIOMMU_SMMUV3_EVT_F_STE_FETCH:
	case UIOMMU_SMMUV3_EVT_F_CD_FETCH:
		ev[3] = UIO_FDP64(0, EVT3, FETCH_ADDR, f->fetch_addr >> 3);
		return;
	case UIOMMU_SMMUV3_EVT_F_WALK_EABT:
	case UIOMMU_SMMUV3_EVT_F_TRANSLATION:
	case UIOMMU_SMMUV3_EVT_F_ADDR_SIZE:
	case UIOMMU_SMMUV3_EVT_F_ACCESS:
	case UIOMMU_SMMUV3_EVT_F_PERMISSION:
		ev[1] = UIO_FDP64(0, EVT1, PNU, !!(access & UIOMMU_SMMUV3_ACC_PRIV));
		ev[1] = UIO_FDP64(ev[1], EVT1, IND, !!(access & UIOMMU_SMMUV3_ACC_EXEC));
		ev[1] = UIO_FDP64(ev[1], EVT1, RNW, !(access & UIOMMU_SMMUV3_ACC_WRITE));
		ev[1] = UIO_FDP64(ev[1], EVT1, S2, f->stage == 2);
		ev[1] = UIO_FDP64(ev[1], EVT1, CLASS, f->cls);
		/* table fetches only read (no HTTU): TTRnW = 1 */
		ev[1] = UIO_FDP64(ev[1], EVT1, TTRNW, f->cls == UIOMMU_SMMUV3_CLASS_TT);
		ev[2] = f->input_addr;
		if (f->event == UIOMMU_SMMUV3_EVT_F_WALK_EABT)
			ev[3] = UIO_FDP64(0, EVT3, FETCH_ADDR, f->fetch_addr >> 3);
		else if (f->stage == 2)
			ev[3] = UIO_FDP64(0, EVT3, IPA, f->ipa >> 12);
		return;
	default:
		return;	/* C_BAD_*, F_STREAM_DISABLED: common fields only */
	}
}

static void fault_init(struct xlate *x, uint8_t event)
{
	struct uiommu_smmuv3_fault *f = x->fault;

	memset(f, 0, sizeof(*f));
	f->event = event;
	f->abort = true;
	f->level = -1;
	f->sid = x->txn->sid;
	f->ssv = x->txn->ssv;
	f->ssid = x->txn->ssid;
	f->input_addr = x->txn->iova;
}

static int fault_record(struct xlate *x, bool record)
{
	uint64_t ev[4];

	if (x->deferring) {
		x->pending = true;
		x->pending_record = record;
		return -EFAULT;
	}
	trace_smmuv3_fault(x->fault->event, x->txn->sid, x->txn->iova,
			   x->fault->stage, x->fault->level);
	if (!record || x->quiet)
		return -EFAULT;
	build_event(x->fault, x->txn->access, ev);
	uio_smmu_event(x->s, ev, x->fault);
	return -EFAULT;
}

/* A configuration error: always recorded (7.3.3 - 7.3.11). */
static int cfg_error(struct xlate *x, uint8_t event, uint64_t fetch_addr,
		     const char *why)
{
	fault_init(x, event);
	x->fault->fetch_addr = fetch_addr;
	x->why = why;
	if (!x->quiet && why && !x->deferring)
		uio_guest_error(SMMU_SUBSYS, "%s: sid 0x%x: %s", x->s->name,
				x->txn->sid, why);
	return fault_record(x, true);
}

/* A walk fault, recorded if the stage's R flag (CD.R / STE.S2R) says so;
 * external aborts are always recorded. */
static int walk_error(struct xlate *x, const struct smmu_cfg *c,
		      const struct smmu_walk_fault *wf)
{
	struct uiommu_smmuv3_fault *f = x->fault;
	bool record;

	fault_init(x, wf->type);
	f->stage = wf->stage;
	f->cls = wf->cls;
	f->level = wf->level;
	f->ipa = wf->ipa;
	f->fetch_addr = wf->fetch_addr;
	if (wf->stage == 1)
		f->abort = c->s1_abort;
	record = wf->type == UIOMMU_SMMUV3_EVT_F_WALK_EABT ||
		 (wf->stage == 1 ? c->s1_record : c->s2_record);
	return fault_record(x, record);
}

/* -------------------------------------------------- STE and CD decoding */

/* 6.3.6 IDR5.OAS / 5.4 CD.IPS / 5.2 STE.S2PS encodings, clamped to OAS. */
static unsigned int ps_bits(unsigned int enc, unsigned int oas)
{
	static const unsigned char bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned int b = enc < UIO_ARRAY_SIZE(bits) ? bits[enc] : oas;

	return b > oas ? oas : b;
}

static uint64_t ld64(const uint64_t *p)
{
	return le64toh(*p);
}

/*
 * Read a configuration structure (L1STD, STE, L1CD, CD) at PA @pa.  The
 * SMMU's own register pages are not memory to it: such a fetch aborts, as
 * the CMD_SYNC MSI does.  (Reading them takes smmu->lock inside a fetch
 * section, and a CMD_SYNC holding that lock waits for the section.)
 */
static int cfg_read(struct xlate *x, uint64_t pa, void *buf, size_t len)
{
	/* structures are at most 64 bytes: checking both ends is enough */
	if (uio_smmu_addr_is_self(x->s, pa) ||
	    uio_smmu_addr_is_self(x->s, pa + len - 1))
		return -EFAULT;
	return uiommu_phys_read(x->s->pm, pa, buf, len, NULL) ? -EFAULT : 0;
}

/* 3.3 Stream table lookup: the PA of the STE of @sid, or a fault. */
static int ste_addr(struct xlate *x, uint64_t *addr)
{
	struct uiommu_smmuv3 *s = x->s;
	uint64_t base = __atomic_load_n(&s->strtab_base, __ATOMIC_RELAXED);
	uint32_t cfg = __atomic_load_n(&s->strtab_base_cfg, __ATOMIC_RELAXED);
	uint32_t cr2 = __atomic_load_n(&s->cr2, __ATOMIC_RELAXED);
	unsigned int log2 = (unsigned int)UIO_FEX64(cfg, STRTAB_BASE_CFG, LOG2SIZE);
	unsigned int fmt = (unsigned int)UIO_FEX64(cfg, STRTAB_BASE_CFG, FMT);
	uint64_t tbase = UIO_FEX64(base, STRTAB_BASE, ADDR) << STRTAB_BASE_ADDR_SHIFT;
	uint32_t sid = x->txn->sid;
	bool two = fmt == STRTAB_FMT_2LVL &&
		   UIO_FEX64(s->idr[0], IDR0, ST_LEVEL);

	if (log2 > s->opts.sid_bits)
		log2 = s->opts.sid_bits;
	if (!x->quiet && (fmt > STRTAB_FMT_2LVL || (fmt == STRTAB_FMT_2LVL && !two)))
		uio_guest_error(SMMU_SUBSYS, "%s: STRTAB_BASE_CFG.FMT %u unsupported,"
				" using a linear table", s->name, fmt);
	if (log2 < 32 && (sid >> log2)) {
		if (!UIO_FEX64(cr2, CR2, RECINVSID)) {
			fault_init(x, UIOMMU_SMMUV3_EVT_NONE);
			return -EFAULT;
		}
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 0,
				 "StreamID beyond STRTAB_BASE_CFG.LOG2SIZE");
	}
	if (!two) {
		*addr = uio_align_down(tbase, (uint64_t)STE_SIZE << log2) +
			(uint64_t)sid * STE_SIZE;
		return 0;
	}
	{
		unsigned int split = (unsigned int)UIO_FEX64(cfg, STRTAB_BASE_CFG, SPLIT);
		uint64_t l1, desc, span;

		if (split != 6 && split != 8 && split != 10)
			return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 0,
					 "reserved STRTAB_BASE_CFG.SPLIT");
		if (split > log2)
			split = log2;
		l1 = uio_align_down(tbase, log2 - split >= 3 ?
				    UINT64_C(8) << (log2 - split) : 64) +
		     (uint64_t)(sid >> split) * 8;
		if (cfg_read(x, l1, &desc, 8))
			return cfg_error(x, UIOMMU_SMMUV3_EVT_F_STE_FETCH, l1,
					 "L1STD fetch aborted");
		desc = ld64(&desc);
		span = UIO_FEX64(desc, L1STD, SPAN);
		/* 7.3.3: Span 0, reserved, > SPLIT + 1, or StreamID past it */
		if (span == 0 || span > 12 || span > split + 1 ||
		    (sid & (UIO_BIT(split) - 1)) >= UIO_BIT(span - 1)) {
			if (!UIO_FEX64(cr2, CR2, RECINVSID)) {
				fault_init(x, UIOMMU_SMMUV3_EVT_NONE);
				return -EFAULT;
			}
			return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 0,
					 "StreamID not covered by its L1STD.Span");
		}
		*addr = uio_align_down(UIO_FEX64(desc, L1STD, L2PTR) << L1STD_L2PTR_SHIFT,
				       (uint64_t)STE_SIZE << (span - 1)) +
			(uint64_t)(sid & (UIO_BIT(split) - 1)) * STE_SIZE;
		return 0;
	}
}

/*
 * Table walks read RAM only: a descriptor in an MMIO region (the SMMU's own
 * register pages above all, whose handler takes the lock a CMD_SYNC holds
 * while it waits for walks in flight) is an external abort, F_WALK_EABT.
 */
#define SMMU_WALK_FLAGS UIOMMU_PT_WALK_RAM_ONLY

/* Stage 2 walk configuration of a decoded (already validated) STE. */
static void s2_walk_cfg(const struct uiommu_smmuv3 *s, const struct smmu_cfg *c,
			struct smmu_walk_cfg *w)
{
	int err;

	memset(w, 0, sizeof(*w));
	err = uiommu_pt_walk_cfg_arm_s2(&w->pt, c->s2t0sz, c->s2sl0, c->s2tg,
					c->s2ps, s->opts.oas_bits,
					SMMU_WALK_FLAGS |
					(c->s2_affd ? UIOMMU_PT_WALK_AF_NOFAULT : 0));
	assert(!err);
	(void)err;
	w->ttb = c->s2ttb;
	w->stage2 = true;
}

struct s2_ctx {
	const struct uiommu_smmuv3 *s;
	const struct smmu_cfg *c;
};

/* uiommu_pt_fetch_fn: a stage-1 descriptor IPA to a PA through stage 2. */
static int s2_fetch(void *opaque, uint64_t ipa, uint64_t *pa,
		    struct uiommu_pt_fault *pf)
{
	const struct s2_ctx *ctx = opaque;
	struct uiommu_pt_walk_result r;
	struct smmu_walk_cfg w;

	s2_walk_cfg(ctx->s, ctx->c, &w);
	if (uiommu_pt_walk(ctx->s->pm, &w.pt, w.ttb, ipa, UIOMMU_PT_ACC_READ,
			   &r, pf))
		return -EFAULT;
	*pa = r.pa;
	return 0;
}

/* 5.2 STE stage 2 fields. */
static const char *decode_s2(struct uiommu_smmuv3 *s, const uint64_t ste[8],
			     struct smmu_cfg *c)
{
	struct uiommu_pt_walk_cfg wc;

	if (!UIO_FEX64(s->idr[0], IDR0, S2P))
		return "stage 2 Config without IDR0.S2P";
	if (!UIO_FEX64(ste[2], STE2, S2AA64))
		return "S2AA64 = 0 (AArch32 tables unsupported)";
	if (UIO_FEX64(ste[2], STE2, S2ENDI))
		return "S2ENDI = 1 (big-endian tables unsupported)";
	if (UIO_FEX64(ste[2], STE2, S2HA) || UIO_FEX64(ste[2], STE2, S2HD))
		return "S2HA/S2HD set without HTTU";
	if (UIO_FEX64(ste[2], STE2, S2S))
		return "S2S = 1 but stalls are not supported";
	c->s2t0sz = (uint8_t)UIO_FEX64(ste[2], STE2, S2T0SZ);
	c->s2sl0 = (uint8_t)UIO_FEX64(ste[2], STE2, S2SL0);
	c->s2tg = (uint8_t)UIO_FEX64(ste[2], STE2, S2TG);
	c->s2ps = (uint8_t)UIO_FEX64(ste[2], STE2, S2PS);
	if (uiommu_pt_walk_cfg_arm_s2(&wc, c->s2t0sz, c->s2sl0, c->s2tg, c->s2ps,
				      s->opts.oas_bits, 0))
		return "S2T0SZ/S2SL0/S2TG/S2PS invalid or inconsistent";
	if (64u - c->s2t0sz > wc.oas)
		return "S2T0SZ wider than S2PS";
	c->s2ttb = UIO_FEX64(ste[3], STE3, S2TTB) << STE3_S2TTB_SHIFT;
	if (c->s2ttb >> wc.oas)
		return "S2TTB beyond S2PS";
	c->s2_record = (uint8_t)UIO_FEX64(ste[2], STE2, S2R);
	c->s2_affd = (uint8_t)UIO_FEX64(ste[2], STE2, S2AFFD);
	return NULL;
}

/* 5.4 CD fields. */
static const char *decode_cd(struct uiommu_smmuv3 *s, const uint64_t cd[8],
			     struct smmu_cfg *c)
{
	/* CD.TG1 encodings (0b10 4K, 0b01 16K, 0b11 64K) as TG0 ones */
	static const unsigned char tg1_as_tg0[] = { 3, CD_TG0_16K, CD_TG0_4K,
						    CD_TG0_64K };
	struct uiommu_pt_walk_cfg wc;
	unsigned int ips_bits;

	if (!UIO_FEX64(cd[0], CD0, V))
		return "CD.V = 0";
	if (!UIO_FEX64(cd[0], CD0, AA64))
		return "CD.AA64 = 0 (AArch32 tables unsupported)";
	if (UIO_FEX64(cd[0], CD0, ENDI))
		return "CD.ENDI = 1 (big-endian tables unsupported)";
	if (UIO_FEX64(cd[0], CD0, HA) || UIO_FEX64(cd[0], CD0, HD))
		return "CD.HA/HD set without HTTU";
	if (UIO_FEX64(cd[0], CD0, S))
		return "CD.S = 1 but stalls are not supported";
	c->epd0 = (uint8_t)UIO_FEX64(cd[0], CD0, EPD0);
	c->epd1 = (uint8_t)UIO_FEX64(cd[0], CD0, EPD1);
	c->t0sz = (uint8_t)UIO_FEX64(cd[0], CD0, T0SZ);
	c->t1sz = (uint8_t)UIO_FEX64(cd[0], CD0, T1SZ);
	c->tg0 = (uint8_t)UIO_FEX64(cd[0], CD0, TG0);
	c->tg1_as_tg0 = tg1_as_tg0[UIO_FEX64(cd[0], CD0, TG1)];
	c->ips = (uint8_t)UIO_FEX64(cd[0], CD0, IPS);
	c->ttb0 = UIO_FEX64(cd[1], CD1, TTB0) << CD1_TTB0_SHIFT;
	c->ttb1 = UIO_FEX64(cd[2], CD2, TTB1) << CD2_TTB1_SHIFT;
	if (!c->epd0 && uiommu_pt_walk_cfg_arm_s1(&wc, c->t0sz, c->tg0, c->ips,
						  s->opts.oas_bits, 0))
		return "CD.T0SZ/TG0/IPS invalid";
	if (!c->epd1 && uiommu_pt_walk_cfg_arm_s1(&wc, c->t1sz, c->tg1_as_tg0,
						  c->ips, s->opts.oas_bits, 0))
		return "CD.T1SZ/TG1/IPS invalid";
	ips_bits = ps_bits(c->ips, s->opts.oas_bits);
	if ((!c->epd0 && (c->ttb0 >> ips_bits)) ||
	    (!c->epd1 && (c->ttb1 >> ips_bits)))
		return "CD.TTBx beyond CD.IPS";
	c->asid = (uint16_t)UIO_FEX64(cd[0], CD0, ASID);
	c->s1_record = (uint8_t)UIO_FEX64(cd[0], CD0, R);
	c->s1_abort = (uint8_t)UIO_FEX64(cd[0], CD0, A);
	c->s1_affd = (uint8_t)UIO_FEX64(cd[0], CD0, AFFD);
	c->tbi = (uint8_t)UIO_FEX64(cd[0], CD0, TBI);
	return NULL;
}

/*
 * Read @len bytes of a stage-1 structure at @addr (an IPA when nested).
 * Stage 2 faults are CLASS CD faults of the transaction.
 */
static int s1_struct_read(struct xlate *x, const struct smmu_cfg *c,
			  uint64_t addr, void *buf, size_t len)
{
	uint64_t pa = addr;

	if (c->kind == SMMU_CFG_NESTED) {
		struct smmu_walk_fault wf;
		struct smmu_walk_cfg w;
		struct smmu_walk_out o;

		s2_walk_cfg(x->s, c, &w);
		if (walk_tables(x->s, &w, addr, 0, &o, &wf)) {
			wf.cls = UIOMMU_SMMUV3_CLASS_CD;	/* 7.3.13 */
			return walk_error(x, c, &wf);
		}
		pa = o.oa + (addr & (UIO_BIT(o.shift) - 1));
	}
	if (cfg_read(x, pa, buf, len))
		return cfg_error(x, UIOMMU_SMMUV3_EVT_F_CD_FETCH, pa,
				 "CD fetch aborted");
	return 0;
}

/* 5.4: locate and decode the CD of the transaction. */
static int fetch_cd(struct xlate *x, const uint64_t ste[8], uint32_t ssid,
		    struct smmu_cfg *c)
{
	struct uiommu_smmuv3 *s = x->s;
	unsigned int cdmax = (unsigned int)UIO_FEX64(ste[0], STE0, S1CDMAX);
	unsigned int fmt = (unsigned int)UIO_FEX64(ste[0], STE0, S1FMT);
	uint64_t ctx = UIO_FEX64(ste[0], STE0, S1CONTEXTPTR) << STE0_S1CONTEXTPTR_SHIFT;
	uint64_t cdaddr, cd[8];
	const char *why;
	int err;

	if (cdmax == 0 || fmt == STE_S1FMT_LINEAR) {
		cdaddr = ctx + (uint64_t)ssid * CD_SIZE;
	} else {
		unsigned int split = fmt == STE_S1FMT_2LVL_4K ? 6 : 10;
		uint64_t l1;

		err = s1_struct_read(x, c, ctx + (uint64_t)(ssid >> split) * 8, &l1, 8);
		if (err)
			return err;
		l1 = le64toh(l1);
		if (!UIO_FEX64(l1, L1CD, V))
			return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID, 0,
					 "L1CD.V = 0");
		cdaddr = uio_align_down(UIO_FEX64(l1, L1CD, L2PTR) << L1CD_L2PTR_SHIFT,
					(uint64_t)CD_SIZE << split) +
			 (uint64_t)(ssid & (UIO_BIT(split) - 1)) * CD_SIZE;
	}
	err = s1_struct_read(x, c, cdaddr, cd, sizeof(cd));
	if (err)
		return err;
	for (unsigned int i = 0; i < 8; i++)
		cd[i] = ld64(&cd[i]);
	if (x->insp) {
		x->insp->cd_fetched = true;
		x->insp->cd_addr = cdaddr;
		memcpy(x->insp->cd, cd, sizeof(cd));
	}
	why = decode_cd(s, cd, c);
	if (why)
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_CD, 0, why);
	return 0;
}

static uint64_t make_tlb_tag(const struct smmu_cfg *c)
{
	uint64_t t = UIO_FDP64(0, TLBTAG, VALID, 1);

	t = UIO_FDP64(t, TLBTAG, KIND, c->kind);
	t = UIO_FDP64(t, TLBTAG, VMID, c->vmid);
	if (c->kind != SMMU_CFG_S2)
		t = UIO_FDP64(t, TLBTAG, ASID, c->asid);
	return t;
}

/* 5.2: S1CDMax / S1DSS / SubstreamID checks; *ssid gets the CD index,
 * *s1_off is set when stage 1 is bypassed for this transaction. */
static int select_substream(struct xlate *x, const uint64_t ste[8],
			    uint32_t *ssid, bool *s1_off)
{
	unsigned int cdmax = (unsigned int)UIO_FEX64(ste[0], STE0, S1CDMAX);
	unsigned int fmt = (unsigned int)UIO_FEX64(ste[0], STE0, S1FMT);
	const struct uiommu_smmuv3_txn *t = x->txn;

	*s1_off = false;
	*ssid = 0;
	if (cdmax > x->s->opts.ssid_bits)
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0,
				 "S1CDMax beyond IDR1.SSIDSIZE");
	if (cdmax && (fmt > STE_S1FMT_2LVL_64K ||
		      (fmt != STE_S1FMT_LINEAR &&
		       !UIO_FEX64(x->s->idr[0], IDR0, CD2L))))
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0,
				 "unsupported S1Fmt");
	if (cdmax == 0) {
		if (t->ssv)
			return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID, 0,
					 "SubstreamID with S1CDMax = 0");
		return 0;
	}
	if (t->ssv) {
		if (t->ssid >> cdmax ||
		    (t->ssid == 0 && UIO_FEX64(ste[1], STE1, S1DSS) == STE_S1DSS_SSID0))
			return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID, 0,
					 "SubstreamID beyond S1CDMax");
		*ssid = t->ssid;
		return 0;
	}
	switch (UIO_FEX64(ste[1], STE1, S1DSS)) {
	case STE_S1DSS_TERMINATE:
		return cfg_error(x, UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED, 0, NULL);
	case STE_S1DSS_BYPASS:
		*s1_off = true;
		return 0;
	case STE_S1DSS_SSID0:
		return 0;
	default:
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0, "reserved S1DSS");
	}
}

/* Fetch and decode the configuration of the transaction's stream. */
static int fetch_cfg(struct xlate *x, struct smmu_cfg *c)
{
	struct uiommu_smmuv3 *s = x->s;
	uint64_t addr = 0, ste[8];
	unsigned int config;
	const char *why = NULL;
	uint32_t ssid;
	bool s1_off;
	int err;

	memset(c, 0, sizeof(*c));
	c->sid = x->txn->sid;
	c->sskey = x->txn->ssv ? x->txn->ssid + 1 : 0;
	err = ste_addr(x, &addr);
	if (err)
		return err;
	if (cfg_read(x, addr, ste, sizeof(ste)))
		return cfg_error(x, UIOMMU_SMMUV3_EVT_F_STE_FETCH, addr,
				 "STE fetch aborted");
	for (unsigned int i = 0; i < 8; i++)
		ste[i] = ld64(&ste[i]);
	if (x->insp) {
		x->insp->ste_fetched = true;
		x->insp->ste_addr = addr;
		memcpy(x->insp->ste, ste, sizeof(ste));
	}
	if (!UIO_FEX64(ste[0], STE0, V))
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0, "STE.V = 0");
	config = (unsigned int)UIO_FEX64(ste[0], STE0, CONFIG);
	switch (config) {
	case STE_CFG_ABORT:
		c->kind = SMMU_CFG_ABORT;
		return 0;
	case STE_CFG_BYPASS:
		c->kind = SMMU_CFG_BYPASS;
		return 0;
	case STE_CFG_S1: case STE_CFG_S2: case STE_CFG_NESTED:
		break;
	default:
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0,
				 "reserved STE.Config");
	}
	if (UIO_FEX64(ste[1], STE1, STRW) != 0) {
		if (!x->quiet)
			uio_unimp(SMMU_SUBSYS, "%s: STE.STRW other than NS-EL1",
				  s->name);
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0, "STE.STRW");
	}
	if ((config & 1) && !UIO_FEX64(s->idr[0], IDR0, S1P))
		why = "stage 1 Config without IDR0.S1P";
	else if (config & 2)
		why = decode_s2(s, ste, c);
	if (why)
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_STE, 0, why);
	/* 5.2 S2VMID also tags stage-1-only entries when stage 2 exists */
	if (UIO_FEX64(s->idr[0], IDR0, S2P))
		c->vmid = (uint16_t)UIO_FEX64(ste[2], STE2, S2VMID);
	c->kind = config == STE_CFG_S1 ? SMMU_CFG_S1 :
		  config == STE_CFG_S2 ? SMMU_CFG_S2 : SMMU_CFG_NESTED;
	if (config & 1) {
		err = select_substream(x, ste, &ssid, &s1_off);
		if (err)
			return err;
		if (s1_off) {
			c->kind = config == STE_CFG_S1 ? SMMU_CFG_BYPASS : SMMU_CFG_S2;
		} else {
			err = fetch_cd(x, ste, ssid, c);
			if (err)
				return err;
		}
	} else if (x->txn->ssv) {
		return cfg_error(x, UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID, 0,
				 "SubstreamID with stage 1 disabled");
	}
	c->tlb_tag = make_tlb_tag(c);
	return 0;
}

/*
 * fetch_cfg() inside a counted section (see walk_begin()): a CMD_SYNC
 * waits for it, so once CFGI_* + CMD_SYNC complete no fetch still reads
 * the stream-table or CD-table pages the driver replaced.  Its fault is
 * raised after the section ends: the event may reach a handler that issues
 * CMD_SYNC from this thread, which would otherwise wait for itself.
 */
static int fetch_cfg_synced(struct xlate *x, struct smmu_cfg *c)
{
	int err;

	x->why = NULL;
	x->pending = false;
	x->deferring = true;
	walk_begin(x->s);
	err = fetch_cfg(x, c);
	walk_end(x->s);
	x->deferring = false;
	if (!x->pending)
		return err;
	assert(err == -EFAULT);
	if (!x->quiet && x->why)
		uio_guest_error(SMMU_SUBSYS, "%s: sid 0x%x: %s", x->s->name,
				x->txn->sid, x->why);
	return fault_record(x, x->pending_record);
}

/* ------------------------------------------------------------ the walk */

/* Stage 1 of a transaction: pick TTB0/TTB1 (3.4.1) and walk. */
static int walk_s1(struct xlate *x, const struct smmu_cfg *c, uint64_t iova,
		   struct smmu_walk_out *o, struct smmu_walk_fault *wf)
{
	bool hi = (iova >> 55) & 1;
	bool tbi = (c->tbi >> hi) & 1;
	uint64_t top = tbi ? (iova << 8) >> 8 : iova;
	/* TxSZ was validated (16..39) unless EPDx disables the half */
	unsigned int tsz = hi ? c->t1sz : c->t0sz, ias = 64 - (tsz ? tsz : 16);
	uint64_t upper = top >> ias, want = 0;
	struct s2_ctx ctx = { x->s, c };
	struct smmu_walk_cfg w;
	int err;

	if (hi)
		want = (tbi ? UIO_GENMASK(55, 0) : ~UINT64_C(0)) >> ias;
	if ((hi ? c->epd1 : c->epd0) || upper != want) {
		/* out of the TTBx range, or TTBx disabled by EPDx */
		memset(wf, 0, sizeof(*wf));
		wf->type = UIOMMU_SMMUV3_EVT_F_TRANSLATION;
		wf->stage = 1;
		wf->cls = UIOMMU_SMMUV3_CLASS_IN;
		return -EFAULT;
	}
	memset(&w, 0, sizeof(w));
	err = uiommu_pt_walk_cfg_arm_s1(&w.pt, tsz, hi ? c->tg1_as_tg0 : c->tg0,
					c->ips, x->s->opts.oas_bits,
					SMMU_WALK_FLAGS |
					(c->s1_affd ? UIOMMU_PT_WALK_AF_NOFAULT : 0));
	assert(!err);
	(void)err;
	w.ttb = hi ? c->ttb1 : c->ttb0;
	if (c->kind == SMMU_CFG_NESTED) {
		w.pt.fetch = s2_fetch;
		w.pt.fetch_opaque = &ctx;
	}
	return walk_tables(x->s, &w, iova & (UIO_BIT(ias) - 1),
			   x->txn->access, o, wf);
}

/* Permission check of an access against a TLB entry's two stages. */
static int check_perm(struct xlate *x, const struct smmu_cfg *c,
		      const struct smmu_tlbe *e, uint64_t iova)
{
	uint8_t need = smmu_perm_needed(x->txn->access);
	struct smmu_walk_fault wf;

	if ((UIO_FEX64(e->info, TLBINFO, S1PERM) & need) &&
	    (UIO_FEX64(e->info, TLBINFO, S2PERM) & need))
		return 0;
	memset(&wf, 0, sizeof(wf));
	wf.type = UIOMMU_SMMUV3_EVT_F_PERMISSION;
	wf.cls = UIOMMU_SMMUV3_CLASS_IN;
	wf.level = (int8_t)UIO_FEX64(e->info, TLBINFO, LEVEL);
	wf.stage = (UIO_FEX64(e->info, TLBINFO, S1PERM) & need) ? 2 : 1;
	if (wf.stage == 2) {
		unsigned int shift = (unsigned int)UIO_FEX64(e->info, TLBINFO, SHIFT);

		wf.ipa = e->ipa + (iova & (UIO_BIT(shift) - 1));
	}
	return walk_error(x, c, &wf);
}

/* Walk the stage(s) of @c for @iova and build the TLB entry. */
static int walk(struct xlate *x, const struct smmu_cfg *c, uint64_t iova,
		struct smmu_tlbe *e)
{
	bool priv = x->txn->access & UIOMMU_SMMUV3_ACC_PRIV;
	struct smmu_walk_out o1, o2;
	struct smmu_walk_fault wf;
	struct smmu_walk_cfg w;
	uint64_t ipa = iova, out;
	unsigned int shift = 64, privs = 3;
	uint8_t s1perm = SMMU_PERM_ALL, s2perm = SMMU_PERM_ALL;
	int level = 3;

	if (c->kind != SMMU_CFG_S2) {
		/* stage 1 faults (permission included) come before stage 2 */
		if (walk_s1(x, c, iova, &o1, &wf))
			return walk_error(x, c, &wf);
		ipa = o1.oa + (iova & (UIO_BIT(o1.shift) - 1));
		s1perm = o1.perm;
		privs = priv ? 2 : 1;
		shift = o1.shift;
		level = o1.level;
	}
	out = ipa;
	if (c->kind != SMMU_CFG_S1) {
		s2_walk_cfg(x->s, c, &w);
		if (walk_tables(x->s, &w, ipa, x->txn->access, &o2, &wf))
			return walk_error(x, c, &wf);
		out = o2.oa + (ipa & (UIO_BIT(o2.shift) - 1));
		s2perm = o2.perm;
		if (o2.shift < shift) {
			shift = o2.shift;
			level = o2.level;
		}
	}
	memset(e, 0, sizeof(*e));
	e->tag = c->tlb_tag;
	e->va = uio_align_down(iova, UIO_BIT(shift));
	e->pa = uio_align_down(out, UIO_BIT(shift));
	e->ipa = uio_align_down(ipa, UIO_BIT(shift));
	e->info = UIO_FDP64(0, TLBINFO, SHIFT, shift);
	e->info = UIO_FDP64(e->info, TLBINFO, S1PERM, s1perm);
	e->info = UIO_FDP64(e->info, TLBINFO, S2PERM, s2perm);
	e->info = UIO_FDP64(e->info, TLBINFO, LEVEL, (uint64_t)level);
	e->info = UIO_FDP64(e->info, TLBINFO, PRIVS, privs);
	return 0;
}

/* ------------------------------------------------------- entry points */

static int lookup_cfg(struct xlate *x, struct smmu_counters *ctr,
		      union smmu_cfg_words *cu)
{
	struct uiommu_smmuv3 *s = x->s;
	uint32_t sid = x->txn->sid;
	uint32_t sskey = x->txn->ssv ? x->txn->ssid + 1 : 0;
	const struct smmu_cfg_slot *slot = &s->cfg[cfg_index(s, sid, sskey)];
	uint64_t gen;
	int err;

	if (uio_likely(slot_read(&slot->seq, slot->u.w, cu->w, SMMU_CFG_WORDS) &&
		       cu->c.kind != SMMU_CFG_INVALID && cu->c.sid == sid &&
		       cu->c.sskey == sskey)) {
		if (ctr)
			CTR_INC(ctr, cfg_hits);
		return 0;
	}
	if (ctr)
		CTR_INC(ctr, cfg_misses);
	gen = __atomic_load_n(&s->cfg_gen, __ATOMIC_ACQUIRE);
	err = fetch_cfg_synced(x, &cu->c);
	if (err)
		return err;
	trace_smmuv3_cfg_fill(sid, sskey, cu->c.kind);
	cfg_insert(s, cu, gen);
	return 0;
}

void uio_smmu_prefetch_cfg(struct uiommu_smmuv3 *s, uint32_t sid, bool ssv,
			   uint32_t ssid)
{
	struct uiommu_smmuv3_txn txn = { .sid = sid, .ssid = ssid, .ssv = ssv };
	struct uiommu_smmuv3_fault fault;
	struct xlate x = { s, &txn, &fault, true, NULL, NULL };
	union smmu_cfg_words cu;

	if (ssv && ssid >= UIO_BIT(20))
		return;
	(void)lookup_cfg(&x, NULL, &cu);
}

/* SMMU disabled (6.3.9 CR0.SMMUEN = 0): GBPA decides. */
static int global_bypass(struct xlate *x, uint64_t *pa)
{
	uint32_t gbpa = __atomic_load_n(&x->s->gbpa, __ATOMIC_RELAXED);

	if (UIO_FEX64(gbpa, GBPA, ABORT) ||
	    (x->s->opts.oas_bits < 64 && (x->txn->iova >> x->s->opts.oas_bits))) {
		fault_init(x, UIOMMU_SMMUV3_EVT_NONE);
		return -EFAULT;
	}
	*pa = x->txn->iova;
	return 0;
}

static int translate(struct xlate *x, struct smmu_counters *ctr, uint64_t *pa)
{
	struct uiommu_smmuv3 *s = x->s;
	uint64_t iova = x->txn->iova;
	union smmu_cfg_words cu;
	union smmu_tlbe_words eu;
	const struct smmu_tlb_slot *slot;
	uint64_t gen;
	int err;

	if (!UIO_FEX64(__atomic_load_n(&s->cr0, __ATOMIC_ACQUIRE), CR0, SMMUEN))
		return global_bypass(x, pa);
	err = lookup_cfg(x, ctr, &cu);
	if (err)
		return err;
	switch (cu.c.kind) {
	case SMMU_CFG_ABORT:
		fault_init(x, UIOMMU_SMMUV3_EVT_NONE);
		return -EFAULT;
	case SMMU_CFG_BYPASS:
		if (s->opts.oas_bits < 64 && (iova >> s->opts.oas_bits)) {
			fault_init(x, UIOMMU_SMMUV3_EVT_F_ADDR_SIZE);
			x->fault->stage = 1;
			x->fault->cls = UIOMMU_SMMUV3_CLASS_IN;
			return fault_record(x, true);
		}
		*pa = iova;
		return 0;
	default:
		break;
	}
	slot = &s->tlb[tlb_index(s, cu.c.tlb_tag, iova)];
	if (uio_likely(slot_read(&slot->seq, slot->u.w, eu.w, SMMU_TLBE_WORDS) &&
		       eu.e.tag == cu.c.tlb_tag &&
		       (iova >> UIO_FEX64(eu.e.info, TLBINFO, SHIFT)) ==
		       (eu.e.va >> UIO_FEX64(eu.e.info, TLBINFO, SHIFT)) &&
		       (UIO_FEX64(eu.e.info, TLBINFO, PRIVS) >>
			!!(x->txn->access & UIOMMU_SMMUV3_ACC_PRIV)) & 1)) {
		CTR_INC(ctr, tlb_hits);
	} else {
		CTR_INC(ctr, tlb_misses);
		gen = __atomic_load_n(&s->tlb_gen, __ATOMIC_ACQUIRE);
		err = walk(x, &cu.c, iova, &eu.e);
		if (err)
			return err;
		trace_smmuv3_tlb_fill(x->txn->sid, eu.e.va, eu.e.pa,
				      (unsigned int)UIO_FEX64(eu.e.info, TLBINFO, SHIFT));
		tlb_insert(s, &eu, iova, gen);
	}
	err = check_perm(x, &cu.c, &eu.e, iova);
	if (err)
		return err;
	*pa = eu.e.pa + (iova - eu.e.va);
	return 0;
}

/*
 * The TLB-hit fast path: the words of the configuration slot a hit needs
 * (StreamID key, kind, TLB tag) and of the TLB slot, each under its
 * sequence; false sends the transaction down the full path, which looks
 * everything up again.
 */
static inline bool fast_hit(struct uiommu_smmuv3 *s,
			    const struct uiommu_smmuv3_txn *txn,
			    struct smmu_counters *ctr, uint64_t *pa)
{
	enum { W_KEY = 0, W_KIND = 1, W_TAG = SMMU_CFG_WORDS - 1 };
	uint32_t sskey = txn->ssv ? txn->ssid + 1 : 0;
	const struct smmu_cfg_slot *cs = &s->cfg[cfg_index(s, txn->sid, sskey)];
	const struct smmu_tlb_slot *ts;
	union smmu_cfg_words cu;
	uint64_t tag, va, base, info, shift;
	uint32_t q1, q2;

	_Static_assert(offsetof(struct smmu_cfg, sskey) < 8 &&
		       offsetof(struct smmu_cfg, kind) == 8 &&
		       offsetof(struct smmu_cfg, tlb_tag) == 8 * W_TAG,
		       "fast path word layout");
	q1 = __atomic_load_n(&cs->seq, __ATOMIC_ACQUIRE);
	cu.w[W_KEY] = __atomic_load_n(&cs->u.w[W_KEY], UIO_SEQ_LOAD_ORDER);
	cu.w[W_KIND] = __atomic_load_n(&cs->u.w[W_KIND], UIO_SEQ_LOAD_ORDER);
	tag = __atomic_load_n(&cs->u.w[W_TAG], UIO_SEQ_LOAD_ORDER);
	uio_seq_read_fence();
	if ((q1 & 1) || __atomic_load_n(&cs->seq, __ATOMIC_RELAXED) != q1 ||
	    cu.c.sid != txn->sid || cu.c.sskey != sskey ||
	    cu.c.kind < SMMU_CFG_S1)
		return false;
	ts = &s->tlb[tlb_index(s, tag, txn->iova)];
	q2 = __atomic_load_n(&ts->seq, __ATOMIC_ACQUIRE);
	va = __atomic_load_n(&ts->u.e.va, UIO_SEQ_LOAD_ORDER);
	base = __atomic_load_n(&ts->u.e.pa, UIO_SEQ_LOAD_ORDER);
	info = __atomic_load_n(&ts->u.e.info, UIO_SEQ_LOAD_ORDER);
	if (__atomic_load_n(&ts->u.e.tag, UIO_SEQ_LOAD_ORDER) != tag)
		return false;
	uio_seq_read_fence();
	shift = UIO_FEX64(info, TLBINFO, SHIFT);
	if ((q2 & 1) || __atomic_load_n(&ts->seq, __ATOMIC_RELAXED) != q2 ||
	    (txn->iova >> shift) != (va >> shift) ||
	    !((UIO_FEX64(info, TLBINFO, PRIVS) >>
	       !!(txn->access & UIOMMU_SMMUV3_ACC_PRIV)) & 1) ||
	    !(UIO_FEX64(info, TLBINFO, S1PERM) & UIO_FEX64(info, TLBINFO, S2PERM) &
	      smmu_perm_needed(txn->access)))
		return false;
	*pa = base + (txn->iova - va);
	CTR_INC(ctr, translations);
	CTR_INC(ctr, cfg_hits);
	CTR_INC(ctr, tlb_hits);
	return true;
}

UIOMMU_API int uiommu_smmuv3_translate(struct uiommu_smmuv3 *s,
				       const struct uiommu_smmuv3_txn *txn,
				       uint64_t *pa,
				       struct uiommu_smmuv3_fault *fault)
{
	const uint32_t known = UIOMMU_SMMUV3_ACC_WRITE | UIOMMU_SMMUV3_ACC_EXEC |
			       UIOMMU_SMMUV3_ACC_PRIV;
	struct uiommu_smmuv3_fault local;
	struct smmu_counters *ctr;
	struct xlate x;
	int err;

	if (uio_unlikely(!s || !txn || !pa))
		return uio_fail(-EINVAL, SMMU_SUBSYS, "translate: NULL argument");
	if (uio_unlikely(txn->size == 0 || txn->size > 4096 ||
			 ((txn->iova & 0xfff) + txn->size) > 4096 ||
			 (txn->access & ~known) ||
			 (txn->access & UIOMMU_SMMUV3_ACC_WRITE &&
			  txn->access & UIOMMU_SMMUV3_ACC_EXEC) ||
			 (txn->ssv && txn->ssid >= UIO_BIT(20))))
		return uio_fail(-EINVAL, SMMU_SUBSYS, "translate: sid 0x%x iova 0x%"
				PRIx64 " size 0x%" PRIx64 " access 0x%x invalid",
				txn->sid, txn->iova, txn->size, txn->access);
	ctr = counters(s);
	if (uio_likely(UIO_FEX64(__atomic_load_n(&s->cr0, __ATOMIC_ACQUIRE), CR0,
				 SMMUEN) && fast_hit(s, txn, ctr, pa)))
		return 0;
	x.s = s;
	x.txn = txn;
	x.fault = fault ? fault : &local;
	x.quiet = false;
	x.insp = NULL;
	x.why = NULL;
	x.deferring = false;
	CTR_INC(ctr, translations);
	err = translate(&x, ctr, pa);
	if (uio_unlikely(err))
		CTR_INC(ctr, faults);
	return err;
}

/* ------------------------------------------------------------ inspection */

/* The raw STE and CD fields (5.2, 5.4), decoded whatever their validity. */
static void inspect_decode(struct uiommu_smmuv3_ste_info *in, unsigned int oas)
{
	const uint64_t *ste = in->ste, *cd = in->cd;
	struct uiommu_pt_walk_cfg wc;

	if (in->ste_fetched) {
		in->valid = UIO_FEX64(ste[0], STE0, V);
		in->config = (uint8_t)UIO_FEX64(ste[0], STE0, CONFIG);
		in->s1_fmt = (uint8_t)UIO_FEX64(ste[0], STE0, S1FMT);
		in->s1_cdmax = (uint8_t)UIO_FEX64(ste[0], STE0, S1CDMAX);
		in->s1_dss = (uint8_t)UIO_FEX64(ste[1], STE1, S1DSS);
		in->s1_context_ptr = UIO_FEX64(ste[0], STE0, S1CONTEXTPTR) <<
				     STE0_S1CONTEXTPTR_SHIFT;
		in->s2_vmid = (uint16_t)UIO_FEX64(ste[2], STE2, S2VMID);
		in->s2_t0sz = (uint8_t)UIO_FEX64(ste[2], STE2, S2T0SZ);
		in->s2_sl0 = (uint8_t)UIO_FEX64(ste[2], STE2, S2SL0);
		in->s2_tg = (uint8_t)UIO_FEX64(ste[2], STE2, S2TG);
		in->s2_ps = (uint8_t)UIO_FEX64(ste[2], STE2, S2PS);
		in->s2_ttb = UIO_FEX64(ste[3], STE3, S2TTB) << STE3_S2TTB_SHIFT;
		/* validated fields only: the helper logs invalid ones */
		if (!in->fault && (in->config == STE_CFG_S2 ||
				   in->config == STE_CFG_NESTED) &&
		    !uiommu_pt_walk_cfg_arm_s2(&wc, in->s2_t0sz, in->s2_sl0,
					       in->s2_tg, in->s2_ps, oas, 0)) {
			in->s2_granule = UIO_BIT(wc.granule_shift);
			in->s2_ias = wc.ias;
			in->s2_oas = wc.oas;
			in->s2_levels = wc.levels;
		}
	}
	if (in->cd_fetched) {
		in->cd_valid = UIO_FEX64(cd[0], CD0, V);
		in->asid = (uint16_t)UIO_FEX64(cd[0], CD0, ASID);
		in->ttb0 = UIO_FEX64(cd[1], CD1, TTB0) << CD1_TTB0_SHIFT;
		in->t0sz = (uint8_t)UIO_FEX64(cd[0], CD0, T0SZ);
		in->tg0 = (uint8_t)UIO_FEX64(cd[0], CD0, TG0);
		in->ips = (uint8_t)UIO_FEX64(cd[0], CD0, IPS);
		in->epd0 = (uint8_t)UIO_FEX64(cd[0], CD0, EPD0);
		in->epd1 = (uint8_t)UIO_FEX64(cd[0], CD0, EPD1);
		in->cd_r = UIO_FEX64(cd[0], CD0, R);
		in->cd_a = UIO_FEX64(cd[0], CD0, A);
		in->mair = cd[3];
		if (!in->fault && !in->epd0 &&
		    !uiommu_pt_walk_cfg_arm_s1(&wc, in->t0sz, in->tg0, in->ips,
					       oas, 0)) {
			in->s1_granule = UIO_BIT(wc.granule_shift);
			in->s1_ias = wc.ias;
			in->s1_oas = wc.oas;
			in->s1_levels = wc.levels;
		}
	}
}

/* Read the cached configuration of (@sid, no SubstreamID), if any. */
static bool cached_cfg(struct uiommu_smmuv3 *s, uint32_t sid,
		       union smmu_cfg_words *cu)
{
	const struct smmu_cfg_slot *slot = &s->cfg[cfg_index(s, sid, 0)];

	/* A writer holds a slot for a few stores: wait it out. */
	while (!slot_read(&slot->seq, slot->u.w, cu->w, SMMU_CFG_WORDS))
		sched_yield();
	return cu->c.kind != SMMU_CFG_INVALID && cu->c.sid == sid &&
	       cu->c.sskey == 0;
}

UIOMMU_API int uiommu_smmuv3_inspect_ste(struct uiommu_smmuv3 *s, uint32_t sid,
					 struct uiommu_smmuv3_ste_info *info)
{
	struct uiommu_smmuv3_txn txn = { .sid = sid, .size = 1 };
	struct uiommu_smmuv3_fault fault;
	struct xlate x = { s, &txn, &fault, true, info, NULL };
	union smmu_cfg_words now, cached;
	int err;

	if (!s || !info)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "inspect_ste: NULL argument");
	if (sid >= UIO_BIT(24))
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"inspect_ste: sid 0x%x wider than 24 bits", sid);
	memset(info, 0, sizeof(*info));
	info->sid = sid;
	info->smmu_enabled = UIO_FEX64(__atomic_load_n(&s->cr0, __ATOMIC_ACQUIRE),
				       CR0, SMMUEN);
	/* The decoder a transaction uses, in quiet mode: x.insp captures the
	 * structures it reads, nothing is inserted in the caches.  Counted as
	 * a transaction's fetch is, so that a driver freeing a table after
	 * CFGI + CMD_SYNC does not pull it from under an inspection running
	 * on another thread; quiet mode calls nothing out of the section. */
	err = fetch_cfg_synced(&x, &now.c);
	if (err) {
		info->fault = true;
		info->event = fault.event;
		info->reason = x.why;
		info->fetch_addr = fault.fetch_addr;
	}
	inspect_decode(info, s->opts.oas_bits);
	info->cached = cached_cfg(s, sid, &cached);
	/* fetch_cfg() zeroes the whole struct first, as a cache fill does */
	info->stale = info->cached &&
		      (err || memcmp(cached.w, now.w, sizeof(now.w)) != 0);
	return 0;
}
