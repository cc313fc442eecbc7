/* One way to crash per argument, each a distinct si_code in the core's siginfo. */
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

struct order { long id; long price; };

__attribute__((noinline)) long read_price(volatile struct order *o) { return o->price; }

__attribute__((noinline)) void stamp(char *text) { text[0] = 'X'; }

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "";
  volatile struct order *none = NULL;
  void (*volatile callback)(void) = NULL;
  switch (how[0]) {
    case 'n': return (int)read_price(none);                               /* SEGV_MAPERR at 0x8 */
    case 'r': stamp((char *)"literal"); return 0;                         /* SEGV_ACCERR */
    case 'c': callback(); return 0;                                       /* fetch from 0x0 */
    case 'w': return (int)read_price((struct order *)0xdead000000000000); /* GP: SI_KERNEL */
    case 'k': raise(SIGSEGV); return 0;                                   /* SI_TKILL */
    case 'a': abort();                                                    /* SIGABRT, SI_TKILL */
  }
  fprintf(stderr, "usage: faults n|r|c|w|k|a\n");
  return 2;
}
