#include <stdio.h>
#include <stdlib.h>
struct order { long id; char pad[48]; struct rule *rule; };
struct rule { long a; long price; };
__attribute__((noinline)) long apply_rule(struct order *o) { return o->rule->price; }
__attribute__((noinline)) long confirm(struct order *o) { return apply_rule(o) + 1; }
int main(int argc, char **argv) {
  struct order *o = argc > 5 ? malloc(sizeof *o) : NULL;
  printf("version=2.18.7 git=9b7c6fd3 feature_flags=pricing_v4:on\n"); fflush(stdout);
  return (int)confirm(o);
}
