/* A small C program with static inline helpers so -O2 inlines them: the oracle test's input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule { int kind; int percent; const char *name; };

static inline int clamp(int value, int low, int high)
{
    if (value < low)
        return low;
    if (value > high)
        return high;
    return value;
}

static inline int apply_rule(const struct rule *rule, int price)
{
    int off = price * rule->percent / 100;
    if (rule->kind == 2)
        off = clamp(off * 2, 0, price);
    return clamp(price - off, 0, 1 << 20);
}

__attribute__((noinline)) int total(const struct rule *rules, int count, int price)
{
    for (int i = 0; i < count; i++) {
        price = apply_rule(&rules[i], price);
        if (rules[i].name && strlen(rules[i].name) > 40)
            abort();
    }
    return price;
}

__attribute__((noinline, cold)) void report(const char *what)
{
    fprintf(stderr, "bad: %s\n", what);
    exit(3);
}

int main(int argc, char **argv)
{
    struct rule rules[4];
    for (int i = 0; i < 4; i++) {
        rules[i].kind = (argc + i) % 3;
        rules[i].percent = 5 * i + argc;
        rules[i].name = argc > 2 ? argv[2] : NULL;
    }
    int price = argc > 1 ? atoi(argv[1]) : 1000;
    if (price < 0)
        report("negative");
    printf("%d\n", total(rules, 4, price));
    return 0;
}
