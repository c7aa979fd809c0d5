/* tc3_post.c: one TC3-signed POST over libcurl (see tc3_post.h). */
#include "auth/tc3_post.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* Appends "Name: value" to *list; -1 when out of memory. */
static int header(struct curl_slist **list, struct buf *hv, const char *name, const char *value)
{
    struct curl_slist *l;
    buf_reset(hv);
    if (buf_printf(hv, "%s:%s%s", name, *value ? " " : "", value) != 0)
        return -1;
    if (!(l = curl_slist_append(*list, hv->data)))
        return -1;
    *list = l;
    return 0;
}

int tc3_post(CURL *curl, const struct tc3_post *p, struct buf *resp, long *status, char *err,
             size_t errlen)
{
    struct auth_header signed_hdrs[2] = {{"Content-Type", p->content_type}, {"Host", p->host}};
    struct tc3_request tr = {"POST", "", signed_hdrs, 2, p->body, p->len, 0};
    struct curl_slist *list = NULL;
    struct buf auth, hv;
    char ts[24];
    CURLcode cc;
    int rc = TC3_POST_FAIL;
    size_t i;

    *status = 0;
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    buf_init(&auth, 0);
    buf_init(&hv, 0);
    if (tc3_authorization(&tr, p->secret_id, p->secret_key, p->service, ts, "content-type;host",
                          &auth) != 0) {
        snprintf(err, errlen, "cannot sign the request");
        goto done;
    }
    if (header(&list, &hv, "Content-Type", p->content_type) != 0 ||
        header(&list, &hv, "Host", p->host) != 0)
        goto oom;
    for (i = 0; i < p->nextra; i++)
        if (p->extra[i].value && header(&list, &hv, p->extra[i].name, p->extra[i].value) != 0)
            goto oom;
    if (header(&list, &hv, "X-TC-Timestamp", ts) != 0 ||
        header(&list, &hv, "Authorization", auth.data) != 0 ||
        header(&list, &hv, "Expect", "") != 0)
        goto oom;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, p->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)p->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)p->len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    if (p->timeout_ms)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    if (p->connect_timeout_ms)
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (p->cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, p->cacert);
    if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", p->url, curl_easy_strerror(cc));
        rc = TC3_POST_TRANSPORT;
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    rc = TC3_POST_OK;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    curl_slist_free_all(list);
    buf_free(&auth);
    buf_free(&hv);
    return rc;
}
