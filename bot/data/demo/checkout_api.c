/* segbot's demo service: a checkout API that crashes the way the seed playbook's does.
 *
 * It logs its version and feature flags, takes a request, and when the pricing_v4 flag is on
 * prices the order through a partner rule that is sometimes missing: the rule pointer is NULL
 * and reading its price field (at offset 0x38) segfaults. With the flag off it serves forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rule {
    char name[48];
    long currency;
    long price; /* offset 0x38 */
};

struct order {
    long id;
    const char *tier;
    struct rule *rule;
};

static struct rule standard = {"standard", 978, 1999};

__attribute__((noinline)) static struct rule *partner_rule(const char *tier) {
    /* The partner stopped sending this tier's rule: "it is always present", until it is not. */
    return strcmp(tier, "niche") == 0 ? NULL : &standard;
}

static inline long pricing_rule_apply(const struct rule *rule, long quantity) {
    return rule->price * quantity;
}

__attribute__((noinline)) static long checkout_confirm(struct order *order, int pricing_v4) {
    if (pricing_v4)
        return pricing_rule_apply(order->rule, 2);
    return standard.price * 2;
}

int main(void) {
    const char *flag = getenv("PRICING_V4");
    int pricing_v4 = flag == NULL || strcmp(flag, "off") != 0;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    printf("version=2.18.7 git=9b7c6fd3 feature_flags=pricing_v4:%s\n", pricing_v4 ? "on" : "off");
    fflush(stdout);
    for (long n = 1;; n++) {
        usleep(150 * 1000);
        struct order order = {n, n % 3 == 0 ? "niche" : "standard", NULL};
        order.rule = partner_rule(pricing_v4 ? "niche" : order.tier);
        printf("request_id=%08x path=/checkout/confirm user_agent=MobileApp/412.3\n", rand());
        fflush(stdout);
        printf("total=%ld\n", checkout_confirm(&order, pricing_v4));
        fflush(stdout);
    }
}
