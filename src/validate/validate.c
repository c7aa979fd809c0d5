/* validate.c: the field rules of the flow-log actions. */
#include "validate/validate.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* Every region where Tencent Cloud offers VPC (sources in docs/API.md,
 * "Regions"): mainland, finance (-fsi), industry, edge (-ec) and
 * international. */
static const char *const regions[] = {
    /* South China */
    "ap-guangzhou", "ap-shenzhen", "ap-shenzhen-fsi", "ap-guangzhou-open", "ap-qingyuan",
    "ap-qingyuan-xinan", "ap-shenzhen-sycft",
    /* East China */
    "ap-shanghai", "ap-shanghai-fsi", "ap-nanjing", "ap-jinan-ec", "ap-hangzhou-ec",
    "ap-fuzhou-ec", "ap-hefei-ec", "ap-shanghai-adc",
    /* North China */
    "ap-beijing", "ap-beijing-fsi", "ap-tianjin", "ap-shijiazhuang-ec",
    /* Central, Northeast, Northwest China */
    "ap-wuhan-ec", "ap-changsha-ec", "ap-zhengzhou-ec", "ap-shenyang-ec", "ap-xian-ec",
    "ap-xibei-ec",
    /* Southwest China */
    "ap-chengdu", "ap-chongqing", "ap-guiyang",
    /* Hong Kong, Macao, Taiwan */
    "ap-hongkong", "ap-taipei",
    /* international */
    "ap-singapore", "ap-bangkok", "ap-jakarta", "ap-seoul", "ap-tokyo", "ap-mumbai",
    "na-siliconvalley", "na-ashburn", "na-toronto", "eu-frankfurt", "eu-moscow", "sa-saopaulo",
    NULL};

int str_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

int region_known(const char *r)
{
    return str_in(r, regions);
}

const char *region_at(size_t i)
{
    return i < sizeof regions / sizeof regions[0] ? regions[i] : NULL;
}

/* Reads one decimal octet at *p (no leading zero unless it is "0"). */
static int octet(const char **p, uint32_t *out)
{
    const char *s = *p;
    uint32_t v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 4)
        v = v * 10 + (uint32_t)(s[n++] - '0');
    if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
        return -1;
    *p = s + n;
    *out = v;
    return 0;
}

/* Parses the address at *p, leaving *p after it. */
static int ipv4_at(const char **p, uint32_t *addr)
{
    uint32_t a = 0, o;
    for (int i = 0; i < 4; i++) {
        if ((i && *(*p)++ != '.') || octet(p, &o) != 0)
            return -1;
        a = a << 8 | o;
    }
    *addr = a;
    return 0;
}

int ipv4_parse(const char *s, uint32_t *addr)
{
    return s && ipv4_at(&s, addr) == 0 && *s == '\0' ? 0 : -1;
}

int cidr_parse(const char *s, uint32_t *net, int *prefix)
{
    uint32_t a, n;
    if (!s || ipv4_at(&s, &a) != 0 || *s++ != '/' || octet(&s, &n) != 0 || *s || n > 32)
        return -1;
    if (n < 32 && (a & (0xffffffffu >> n)) != 0)
        return -1; /* host bits set */
    *net = a;
    *prefix = (int)n;
    return 0;
}

enum api_err check_chars(const char *s, long max, const char *param, struct apierr *e)
{
    long n = utf8_count(s, strlen(s));
    if (n < 0)
        return apierr_set(e, API_E_VALUE_MALFORMED, param);
    if (n > max)
        return apierr_set(e, API_E_VALUE_RANGE, param);
    return API_E_OK;
}

static const struct resource_type resource_types[] = {
    {"VPC", RES_VPC, "vpc"}, {"SUBNET", RES_SUBNET, "subnet"}, {"NETWORKINTERFACE", RES_ENI, "eni"},
    {"CCN", RES_CCN, "ccn"}, {"NAT", RES_NAT, "nat"},          {"DCG", RES_DCG, "dcg"},
};

const struct resource_type *resource_type_at(size_t i)
{
    return i < sizeof resource_types / sizeof resource_types[0] ? &resource_types[i] : NULL;
}

const struct resource_type *resource_type_find(const char *type)
{
    const struct resource_type *t;
    for (size_t i = 0; (t = resource_type_at(i)); i++)
        if (strcmp(type, t->type) == 0)
            return t;
    return NULL;
}

const struct resource_type *resource_type_of(enum res_kind kind)
{
    const struct resource_type *t;
    for (size_t i = 0; (t = resource_type_at(i)); i++)
        if (t->kind == kind)
            return t;
    return NULL;
}

const char *resource_prefix(const char *type)
{
    const struct resource_type *t = resource_type_find(type);
    return t ? t->prefix : NULL;
}

int traffic_type_known(const char *t)
{
    static const char *const traffic_types[] = {"ACCEPT", "REJECT", "ALL", NULL};
    return str_in(t, traffic_types);
}

enum api_err check_id(const char *id, const char *prefix, const char *param, struct apierr *e)
{
    return id_has_form(id, prefix) ? API_E_OK : apierr_set(e, API_E_VALUE_MALFORMED, param);
}

/* CJK: the unified ideographs and their extensions, compatibility
 * ideographs, and CJK punctuation is deliberately not included. */
static int is_cjk(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2ebef) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0x30000 && c <= 0x3134f);
}

int tag_text_ok(const char *s)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        uint32_t c;
        int n = utf8_decode(s + i, len - i, &c);
        if (n < 0)
            return 0;
        i += (size_t)n;
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr(" +-=._:/@()[]", (int)c))
                continue;
            return 0;
        }
        if (is_cjk(c) || c == 0xff08 || c == 0xff09 || c == 0x3010 || c == 0x3011)
            continue;
        return 0;
    }
    return 1;
}

enum api_err check_tags(const struct tag_in *tags, size_t n, struct apierr *e)
{
    static const char *const reserved[] = {"qcloud", "tencent", "project"};
    if (n > 50)
        return apierr_set(e, API_E_TAG_TOO_MANY, "Tags");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[i].key, tags[j].key) == 0)
                return apierr_set(e, API_E_TAG_DUP_KEY, tags[i].key);
    for (size_t i = 0; i < n; i++) {
        const char *k = tags[i].key, *v = tags[i].value;
        long klen = utf8_count(k, strlen(k)), vlen = utf8_count(v, strlen(v));
        if (klen == 0 || klen > 127)
            return apierr_setf(e, API_E_TAG_KEY_LEN, "Tags.%zu.Key", i);
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
            if (strncasecmp(k, reserved[r], strlen(reserved[r])) == 0)
                return apierr_set(e, API_E_TAG_RESERVED, k);
        if (klen < 0 || !tag_text_ok(k))
            return apierr_set(e, API_E_TAG_KEY, k);
        if (vlen < 0 || vlen > 255 || !tag_text_ok(v))
            return apierr_setf(e, API_E_TAG_VAL, "Tags.%zu.Value", i);
    }
    return API_E_OK;
}
