#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
// TEMPORARY local stub (never committed) until branch physmem lands.
#include <string.h>
#include <stdlib.h>
#include <uiommu/physmem.h>
#include "alloc.h"
#include "lock.h"
struct reg { struct uiommu_region_info info; struct uiommu_mmio_desc d; unsigned char *mem; };
struct uiommu_physmem { struct reg r[64]; int n; struct uio_mutex lock; };
struct uiommu_phys_pool { struct uiommu_physmem *pm; uint64_t base, size; unsigned char used[4096]; };
UIOMMU_API int uiommu_physmem_create(unsigned int pa_bits, struct uiommu_physmem **out)
{ (void)pa_bits; *out = uio_new(struct uiommu_physmem); if (!*out) return -ENOMEM; uio_mutex_init(&(*out)->lock); return 0; }
UIOMMU_API void uiommu_physmem_destroy(struct uiommu_physmem *pm)
{ for (int i = 0; i < pm->n; i++) if (pm->r[i].mem) uio_free_aligned(pm->r[i].mem, pm->r[i].info.size, 4096); uio_delete(pm); }
static void ins(struct uiommu_physmem *pm, struct reg *nr)
{ int i = pm->n; while (i > 0 && pm->r[i-1].info.base > nr->info.base) { pm->r[i] = pm->r[i-1]; i--; } pm->r[i] = *nr; pm->n++; }
UIOMMU_API int uiommu_physmem_add_ram(struct uiommu_physmem *pm, const char *name, uint64_t base, uint64_t size, void *host, uint64_t *bo)
{ struct reg nr = {0}; (void)host; nr.mem = uio_alloc_aligned(size, 4096); if (!nr.mem) return -ENOMEM;
  nr.info.kind = UIOMMU_REGION_RAM; nr.info.base = base; nr.info.size = size; nr.info.name = name; nr.info.owner = "ram"; nr.info.host = nr.mem; ins(pm, &nr); if (bo) *bo = base; return 0; }
UIOMMU_API int uiommu_physmem_add_mmio(struct uiommu_physmem *pm, uint64_t base, const struct uiommu_mmio_desc *d)
{ struct reg nr = {0}; nr.d = *d; nr.info.kind = UIOMMU_REGION_MMIO; nr.info.base = base; nr.info.size = d->size; nr.info.name = d->name; nr.info.owner = d->owner; nr.info.regs = d->regs; nr.info.nregs = d->nregs; nr.info.doorbell = d->doorbell; ins(pm, &nr); return 0; }
static struct reg *find(struct uiommu_physmem *pm, uint64_t pa)
{ for (int i = 0; i < pm->n; i++) if (pa >= pm->r[i].info.base && pa - pm->r[i].info.base < pm->r[i].info.size) return &pm->r[i]; return NULL; }
UIOMMU_API int uiommu_phys_ld(struct uiommu_physmem *pm, uint64_t pa, unsigned int size, uint64_t *val, const struct uiommu_memattrs *a)
{ struct reg *r = find(pm, pa); if (!r) return -EFAULT; if (r->mem) { *val = 0; memcpy(val, r->mem + (pa - r->info.base), size); return 0; }
  return r->d.ops->read(r->d.opaque, pa - r->info.base, size, val, a); }
UIOMMU_API int uiommu_phys_st(struct uiommu_physmem *pm, uint64_t pa, unsigned int size, uint64_t val, const struct uiommu_memattrs *a)
{ struct reg *r = find(pm, pa); if (!r) return -EFAULT; if (r->mem) { memcpy(r->mem + (pa - r->info.base), &val, size); return 0; }
  return r->d.ops->write(r->d.opaque, pa - r->info.base, size, val, a); }
UIOMMU_API int uiommu_phys_write(struct uiommu_physmem *pm, uint64_t pa, const void *buf, size_t len, const struct uiommu_memattrs *a)
{ uint64_t v = 0; if (len > 8) { struct reg *r = find(pm, pa); if (!r || !r->mem) return -EFAULT; memcpy(r->mem + (pa - r->info.base), buf, len); return 0; }
  memcpy(&v, buf, len); return uiommu_phys_st(pm, pa, (unsigned)len, v, a); }
UIOMMU_API int uiommu_phys_read(struct uiommu_physmem *pm, uint64_t pa, void *buf, size_t len, const struct uiommu_memattrs *a)
{ struct reg *r = find(pm, pa); (void)a; if (!r || !r->mem) return -EFAULT; memcpy(buf, r->mem + (pa - r->info.base), len); return 0; }
UIOMMU_API int uiommu_physmem_for_each(struct uiommu_physmem *pm, int (*fn)(void *, const struct uiommu_region_info *), void *o)
{ for (int i = 0; i < pm->n; i++) { int r = fn(o, &pm->r[i].info); if (r) return r; } return 0; }
UIOMMU_API int uiommu_phys_pool_create(struct uiommu_physmem *pm, uint64_t base, uint64_t size, struct uiommu_phys_pool **out)
{ *out = uio_new(struct uiommu_phys_pool); if (!*out) return -ENOMEM; (*out)->pm = pm; (*out)->base = base; (*out)->size = size; return 0; }
UIOMMU_API void uiommu_phys_pool_destroy(struct uiommu_phys_pool *p) { uio_delete(p); }
UIOMMU_API int uiommu_phys_pool_alloc(struct uiommu_phys_pool *p, uint64_t size, uint64_t *pa)
{ uint64_t n = size / 4096, npg = p->size / 4096; void *rec;
  for (uint64_t i = 0; i + n <= npg && i < 4096; i += n) { uint64_t j; for (j = 0; j < n && !p->used[i+j]; j++); if (j == n) {
    rec = uio_zalloc(32); if (!rec) return -ENOMEM; uio_free(rec, 32); /* emulate the hook */
    rec = uio_zalloc(32); if (!rec) return -ENOMEM;
    for (j = 0; j < n; j++) p->used[i+j] = 1; *pa = p->base + i * 4096; memcpy(rec, &rec, 0);
    struct reg *r = find(p->pm, *pa); memset(r->mem + (*pa - r->info.base), 0, size); uio_free(rec, 32); return 0; } }
  return -ENOMEM; }
UIOMMU_API int uiommu_phys_pool_free(struct uiommu_phys_pool *p, uint64_t pa, uint64_t size)
{ for (uint64_t j = 0; j < size / 4096; j++) p->used[(pa - p->base) / 4096 + j] = 0; return 0; }
