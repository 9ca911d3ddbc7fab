/* migrate/value.c — a flag's value as text (parse, format), names, and the
 * rollout's hash: the bucket of a key is a mix of the key and of a hash of
 * the flag's name, in 0..99; a rollout of NN% is on below NN. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "migrate/mig.h"

/* FNV-1a, then a finaliser: names differing by one byte get unrelated salts. */
uint64_t flag_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* splitmix64's finaliser over key ^ salt. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

bool flag_bucket_on(uint64_t salt, uint32_t percent, uint64_t key)
{
    if (percent >= 100)
        return true;
    return mix(key ^ salt) % 100 < percent;
}

bool flag_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > TROUPE_FLAG_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool flag_name_is_adapter(const char *name)
{
    return strncmp(name, "adapter.", 8) == 0 && name[8] != '\0';
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* "NN%": digits and a percent sign. A number that is one, but not in
 * 0..100 ("1000%", "-5%"), is VAL_RANGE, so the text says so. */
static int percent_parse(const char *s, size_t n, uint32_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    if (neg)
        s++, n--;
    if (n < 2 || s[n - 1] != '%')
        return VAL_BAD;
    uint32_t v = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return VAL_BAD;
        if (v <= 100) /* saturates: past 100 the value no longer matters */
            v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (neg)
        return v > 0 ? VAL_RANGE : VAL_BAD;
    if (v > 100)
        return VAL_RANGE;
    *out = v;
    return VAL_OK;
}

static int word_parse(const char *s, size_t n, troupe_flag_value *out)
{
    static const struct {
        const char *w;
        troupe_flag_kind k;
        uint32_t pct;
    } words[] = {{"on", TROUPE_FLAG_ON, 100},         {"off", TROUPE_FLAG_OFF, 0},
                 {"true", TROUPE_FLAG_ON, 100},       {"false", TROUPE_FLAG_OFF, 0},
                 {"legacy", TROUPE_FLAG_LEGACY, 0},   {"shadow", TROUPE_FLAG_SHADOW, 0},
                 {"actor", TROUPE_FLAG_ACTOR, 100}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (word_is(s, n, words[i].w)) {
            *out = (troupe_flag_value){words[i].k, words[i].pct};
            return VAL_OK;
        }
    return VAL_BAD;
}

/* s[0..n) trimmed already. */
int value_parse(const char *s, size_t n, troupe_flag_value *out)
{
    if (n >= 6 && strncasecmp(s, "canary", 6) == 0 && n > 6 && (s[6] == ' ' || s[6] == '\t')) {
        size_t i = 6;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        out->kind = TROUPE_FLAG_CANARY;
        return percent_parse(s + i, n - i, &out->percent);
    }
    if (n > 0 && s[n - 1] == '%') {
        out->kind = TROUPE_FLAG_PERCENT;
        return percent_parse(s, n, &out->percent);
    }
    return word_parse(s, n, out);
}

TROUPE_API int troupe_flag_parse(const char *text, troupe_flag_value *out)
{
    if (!text || !out)
        return TROUPE_EINVAL;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    while (n && (*text == ' ' || *text == '\t'))
        text++, n--;
    troupe_flag_value v;
    if (value_parse(text, n, &v) != VAL_OK)
        return TROUPE_EINVAL;
    *out = v;
    return 0;
}

static bool value_ok(troupe_flag_value v)
{
    if ((unsigned)v.kind > TROUPE_FLAG_ACTOR || v.percent > 100)
        return false;
    if (v.kind == TROUPE_FLAG_PERCENT || v.kind == TROUPE_FLAG_CANARY)
        return true;
    bool full = v.kind == TROUPE_FLAG_ON || v.kind == TROUPE_FLAG_ACTOR;
    return v.percent == (full ? 100u : 0u);
}

TROUPE_API int troupe_flag_format(troupe_flag_value v, char *buf, size_t cap)
{
    static const char *const words[] = {"off", "on", "", "legacy", "shadow", "", "actor"};
    if (!buf || cap < TROUPE_FLAG_TEXT_MAX || !value_ok(v))
        return TROUPE_EINVAL;
    if (v.kind == TROUPE_FLAG_PERCENT)
        return snprintf(buf, cap, "%u%%", v.percent);
    if (v.kind == TROUPE_FLAG_CANARY)
        return snprintf(buf, cap, "canary %u%%", v.percent);
    return snprintf(buf, cap, "%s", words[v.kind]);
}

TROUPE_API const char *troupe_flag_source_name(troupe_flag_source s)
{
    static const char *const names[] = {"none", "file", "runtime", "env"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}
