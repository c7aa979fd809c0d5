/* body.c: UploadLog's body: lz4 (liblz4) and the protobuf LogGroupList
 * (protobuf-c, with its messages allocated in an arena freed at once). */
#include "cls/body.h"

#include <lz4.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cls.pb-c.h"

/* ==== the arena ==== */

struct cls_arena_chunk {
    struct cls_arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

/* below glibc's mmap threshold: chunks come from (and return to) the heap
 * instead of fresh zeroed pages per request (page faults were 10 % of an
 * upload's CPU) */
#define ARENA_CHUNK (96u << 10)

/* Chunks of ARENA_CHUNK bytes are kept per thread after a body is freed
 * (up to CHUNK_CACHE of them) and reused by the next: fresh pages for every
 * request (the heap trimmed and grown again) cost page faults that were 10 %
 * of an upload's CPU. Freed at thread exit. */
#define CHUNK_CACHE 16

struct chunk_cache {
    struct cls_arena_chunk *head;
    size_t n;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct chunk_cache *cc = p;
    while (cc && cc->head) {
        struct cls_arena_chunk *next = cc->head->next;
        free(cc->head);
        cc->head = next;
    }
    free(cc);
}

static void cache_key_make(void)
{
    pthread_key_create(&cache_key, cache_free);
}

static struct chunk_cache *cache_get(void)
{
    struct chunk_cache *cc;
    pthread_once(&cache_once, cache_key_make);
    if ((cc = pthread_getspecific(cache_key)))
        return cc;
    if ((cc = calloc(1, sizeof *cc)) && pthread_setspecific(cache_key, cc) != 0) {
        free(cc);
        cc = NULL;
    }
    return cc;
}

static void *arena_alloc(void *ud, size_t n)
{
    struct cls_arena_chunk **head = ud, *c = *head;
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!c || c->size - c->used < n) {
        struct chunk_cache *cc = n <= ARENA_CHUNK ? cache_get() : NULL;
        if (cc && cc->head) {
            c = cc->head;
            cc->head = c->next;
            cc->n--;
        } else {
            size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
            if (!(c = malloc(sizeof *c + size)))
                return NULL;
            c->size = size;
        }
        c->used = 0;
        c->next = *head;
        *head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_nofree(void *ud, void *p)
{
    (void)ud;
    (void)p;
}

static void arena_free_all(struct cls_arena_chunk *c)
{
    struct chunk_cache *cc = c ? cache_get() : NULL;
    while (c) {
        struct cls_arena_chunk *next = c->next;
        if (cc && c->size == ARENA_CHUNK && cc->n < CHUNK_CACHE) {
            c->next = cc->head;
            cc->head = c;
            cc->n++;
        } else {
            free(c);
        }
        c = next;
    }
}

/* The decompression buffer: one per thread, kept (CLS_MAX_BODY + 1 bytes
 * of address space; only what bodies touched is resident), so that a body
 * does not map and fault in fresh pages each time. Freed at thread exit. */
static pthread_key_t lz4_key;
static pthread_once_t lz4_once = PTHREAD_ONCE_INIT;

static void lz4_key_make(void)
{
    pthread_key_create(&lz4_key, free);
}

static uint8_t *lz4_buffer(void)
{
    uint8_t *p;
    pthread_once(&lz4_once, lz4_key_make);
    if ((p = pthread_getspecific(lz4_key)))
        return p;
    if ((p = malloc(CLS_MAX_BODY + 1)) && pthread_setspecific(lz4_key, p) != 0) {
        free(p);
        p = NULL;
    }
    return p;
}

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ==== parse ==== */

static enum cls_body_rc convert(const Cls__LogGroupList *list, struct cls_arena_chunk **arena,
                                struct cls_body *out, char *why, size_t whylen)
{
    struct cls_group *groups;
    size_t nlogs = 0;

    groups = arena_alloc(arena, (list->n_loggrouplist ? list->n_loggrouplist : 1) * sizeof *groups);
    if (!groups)
        return CLS_BODY_NOMEM;
    for (size_t g = 0; g < list->n_loggrouplist; g++) {
        const Cls__LogGroup *lg = list->loggrouplist[g];
        struct cls_group *og = &groups[g];
        struct cls_log *logs;
        struct cls_kv *tags;

        if (lg->n_logs > CLS_MAX_GROUP_LOGS) {
            set_why(why, whylen, "LogGroup %zu has %zu logs, over %u", g, lg->n_logs,
                    CLS_MAX_GROUP_LOGS);
            return CLS_BODY_TOO_MANY_LOGS;
        }
        og->source = lg->source ? lg->source : "";
        og->filename = lg->filename ? lg->filename : "";
        og->context_flow = lg->contextflow ? lg->contextflow : "";
        tags = arena_alloc(arena, (lg->n_logtags ? lg->n_logtags : 1) * sizeof *tags);
        logs = arena_alloc(arena, (lg->n_logs ? lg->n_logs : 1) * sizeof *logs);
        if (!tags || !logs)
            return CLS_BODY_NOMEM;
        for (size_t t = 0; t < lg->n_logtags; t++)
            tags[t] = (struct cls_kv){lg->logtags[t]->key, lg->logtags[t]->value,
                                      strlen(lg->logtags[t]->key), strlen(lg->logtags[t]->value)};
        og->tags = tags;
        og->ntags = lg->n_logtags;
        for (size_t i = 0; i < lg->n_logs; i++) {
            const Cls__Log *l = lg->logs[i];
            struct cls_kv *kv = arena_alloc(arena, (l->n_contents ? l->n_contents : 1) * sizeof *kv);
            if (!kv)
                return CLS_BODY_NOMEM;
            for (size_t k = 0; k < l->n_contents; k++) {
                const Cls__Log__Content *ct = l->contents[k];
                kv[k] = (struct cls_kv){ct->key, ct->value, strlen(ct->key), strlen(ct->value)};
                if (kv[k].vlen > CLS_MAX_VALUE) {
                    set_why(why, whylen, "the value of `%.64s` is %zu bytes, over %u", ct->key,
                            kv[k].vlen, CLS_MAX_VALUE);
                    return CLS_BODY_VALUE_TOO_LARGE;
                }
            }
            /* CLS takes seconds or milliseconds: below 1e11 it is seconds */
            logs[i].time_ms = l->time < 100000000000LL && l->time > -100000000000LL
                                  ? l->time * 1000
                                  : l->time;
            logs[i].contents = kv;
            logs[i].n = l->n_contents;
        }
        og->logs = logs;
        og->nlogs = lg->n_logs;
        nlogs += lg->n_logs;
    }
    if (nlogs == 0) {
        set_why(why, whylen, "the LogGroupList holds no log");
        return CLS_BODY_EMPTY;
    }
    out->groups = groups;
    out->ngroups = list->n_loggrouplist;
    out->nlogs = nlogs;
    return CLS_BODY_OK;
}

enum cls_body_rc cls_body_parse(const void *data, size_t len, const char *compress_type,
                                struct cls_body *out, char *why, size_t whylen)
{
    struct cls_arena_chunk *arena = NULL;
    ProtobufCAllocator alloc = {arena_alloc, arena_nofree, &arena};
    const uint8_t *pb = data;
    uint8_t *plain = NULL;
    size_t pblen = len;
    Cls__LogGroupList *list;
    enum cls_body_rc rc;

    memset(out, 0, sizeof *out);
    if (why && whylen)
        why[0] = '\0';
    if (len == 0) {
        set_why(why, whylen, "the body is empty");
        return CLS_BODY_EMPTY;
    }
    if (len > CLS_MAX_BODY) {
        set_why(why, whylen, "the body is %zu bytes, over %u", len, CLS_MAX_BODY);
        return CLS_BODY_TOO_LARGE;
    }
    if (compress_type && *compress_type) {
        int n;
        if (strcmp(compress_type, "lz4") != 0) {
            set_why(why, whylen, "X-CLS-CompressType `%.32s` is not supported (lz4 or none)",
                    compress_type);
            return CLS_BODY_COMPRESS_TYPE;
        }
        if (len > (size_t)LZ4_MAX_INPUT_SIZE || !(plain = lz4_buffer()))
            return CLS_BODY_NOMEM;
        n = LZ4_decompress_safe(data, (char *)plain, (int)len, CLS_MAX_BODY);
        if (n < 0) {
            /* too large, or not lz4: decode one byte past the limit to tell */
            int m = LZ4_decompress_safe_partial(data, (char *)plain, (int)len, CLS_MAX_BODY + 1,
                                                CLS_MAX_BODY + 1);
            if (m == (int)CLS_MAX_BODY + 1) {
                set_why(why, whylen, "the body decompresses to over %u bytes", CLS_MAX_BODY);
                return CLS_BODY_TOO_LARGE;
            }
            set_why(why, whylen, "the body is not a valid lz4 block");
            return CLS_BODY_LZ4;
        }
        pb = plain;
        pblen = (size_t)n;
    }
    list = cls__log_group_list__unpack(&alloc, pblen, pb);
    if (!list) {
        arena_free_all(arena);
        set_why(why, whylen, "the body is not a protobuf LogGroupList");
        return CLS_BODY_PROTOBUF;
    }
    rc = convert(list, &arena, out, why, whylen);
    if (rc != CLS_BODY_OK) {
        arena_free_all(arena);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->arena = arena;
    return CLS_BODY_OK;
}

void cls_body_free(struct cls_body *b)
{
    if (!b)
        return;
    arena_free_all(b->arena);
    memset(b, 0, sizeof *b);
}

/* ==== encode ==== */

unsigned char *cls_body_encode(const struct cls_group *groups, size_t ngroups, int lz4,
                               size_t *len)
{
    struct cls_arena_chunk *arena = NULL;
    Cls__LogGroupList list = CLS__LOG_GROUP_LIST__INIT;
    unsigned char *out = NULL;
    size_t n;

    *len = 0;
    list.n_loggrouplist = ngroups;
    if (!(list.loggrouplist = arena_alloc(&arena, (ngroups ? ngroups : 1) * sizeof(void *))))
        goto fail;
    for (size_t g = 0; g < ngroups; g++) {
        const struct cls_group *ig = &groups[g];
        Cls__LogGroup *lg = arena_alloc(&arena, sizeof *lg);
        if (!lg)
            goto fail;
        cls__log_group__init(lg);
        list.loggrouplist[g] = lg;
        lg->source = ig->source && *ig->source ? (char *)ig->source : NULL;
        lg->filename = ig->filename && *ig->filename ? (char *)ig->filename : NULL;
        lg->contextflow = ig->context_flow && *ig->context_flow ? (char *)ig->context_flow : NULL;
        lg->n_logtags = ig->ntags;
        if (!(lg->logtags = arena_alloc(&arena, (ig->ntags ? ig->ntags : 1) * sizeof(void *))))
            goto fail;
        for (size_t t = 0; t < ig->ntags; t++) {
            Cls__LogTag *tg = arena_alloc(&arena, sizeof *tg);
            if (!tg)
                goto fail;
            cls__log_tag__init(tg);
            tg->key = (char *)ig->tags[t].key;
            tg->value = (char *)ig->tags[t].value;
            lg->logtags[t] = tg;
        }
        lg->n_logs = ig->nlogs;
        if (!(lg->logs = arena_alloc(&arena, (ig->nlogs ? ig->nlogs : 1) * sizeof(void *))))
            goto fail;
        for (size_t i = 0; i < ig->nlogs; i++) {
            const struct cls_log *il = &ig->logs[i];
            Cls__Log *l = arena_alloc(&arena, sizeof *l);
            Cls__Log__Content *cs = arena_alloc(&arena, (il->n ? il->n : 1) * sizeof *cs);
            Cls__Log__Content **cp = arena_alloc(&arena, (il->n ? il->n : 1) * sizeof *cp);
            if (!l || !cs || !cp)
                goto fail;
            cls__log__init(l);
            l->time = il->time_ms;
            l->n_contents = il->n;
            l->contents = cp;
            for (size_t k = 0; k < il->n; k++) {
                cls__log__content__init(&cs[k]);
                cs[k].key = (char *)il->contents[k].key;
                cs[k].value = (char *)il->contents[k].value;
                cp[k] = &cs[k];
            }
            lg->logs[i] = l;
        }
    }
    n = cls__log_group_list__get_packed_size(&list);
    if (!(out = malloc(n ? n : 1)))
        goto fail;
    cls__log_group_list__pack(&list, out);
    if (lz4) {
        int bound = LZ4_compressBound((int)n), m;
        unsigned char *z = bound > 0 ? malloc((size_t)bound) : NULL;
        if (!z) {
            free(out);
            out = NULL;
            goto fail;
        }
        m = LZ4_compress_default((const char *)out, (char *)z, (int)n, bound);
        free(out);
        if (m <= 0) {
            free(z);
            out = NULL;
            goto fail;
        }
        out = z;
        n = (size_t)m;
    }
    *len = n;
fail:
    arena_free_all(arena);
    return out;
}
