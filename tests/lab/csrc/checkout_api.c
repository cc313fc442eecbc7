/* checkout-api: the lab's stand-in production service. It logs its build and feature flags,
 * serves "requests", and with pricing_v4 on it prices a cart through a rule lookup that misses
 * and reads the rule's field through NULL: a real SIGSEGV at address 8 (read, user mode). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#define VERSION "2.18.7"
#ifndef GIT_SHA
#define GIT_SHA "4f3c2a1"
#endif

struct pricing_rule {
    const char *currency;
    long discount_bps; /* offset 8: the field read through NULL */
    long floor_cents;
};

struct cart {
    const char *currency;
    long subtotal_cents;
};

static const struct pricing_rule rules[] = {
    {"USD", 250, 100},
    {"GBP", 200, 100},
};

/* noinline and table-driven so the compiler cannot prove the NULL and turn the read into a trap. */
__attribute__((noinline)) static const struct pricing_rule *find_rule(const char *currency)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].currency, currency) == 0)
            return &rules[i];
    return NULL;
}

__attribute__((noinline)) static long price_v4(const struct cart *cart)
{
    const struct pricing_rule *rule = find_rule(cart->currency);
    long discount = cart->subtotal_cents * rule->discount_bps / 10000;
    return cart->subtotal_cents - discount;
}

__attribute__((noinline)) static long price_legacy(const struct cart *cart)
{
    return cart->subtotal_cents;
}

static void request_id(char out[33])
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        memset(raw, 0x5a, sizeof raw);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static long env_long(const char *name, long fallback)
{
    const char *value = getenv(name);
    return value && *value ? strtol(value, NULL, 10) : fallback;
}

int main(void)
{
    const char *flags = getenv("CHECKOUT_FEATURE_FLAGS");
    if (!flags || !*flags)
        flags = "pricing_v4:on";
    int v4 = strstr(flags, "pricing_v4:on") != NULL;
    long interval_ms = env_long("CHECKOUT_REQUEST_INTERVAL_MS", 300);
    struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};

    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("checkout-api starting version=%s git=%s feature_flags=%s\n", VERSION, GIT_SHA, flags);
    for (;;) {
        nanosleep(&pause, NULL);
        char id[33];
        request_id(id);
        printf("request_id=%s path=/checkout/confirm user_agent=\"CheckoutApp/5.12.0 (iPhone; iOS 17.4)\"\n",
               id);
        struct cart cart = {"EUR", 12999};
        long total = v4 ? price_v4(&cart) : price_legacy(&cart);
        printf("request_id=%s status=200 total_cents=%ld\n", id, total);
    }
}
