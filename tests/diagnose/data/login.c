#include <stdio.h>
#include <string.h>
struct session { int id; };
__attribute__((noinline)) int login(const char *user, const char *password, struct session *s) {
    return s->id + (int)strlen(user) + (int)strlen(password);
}
int main(void) {
    char secret[32];
    strcpy(secret, "Sup3r S3cret!");
    printf("%d\n", login("bob", secret, NULL));
    return 0;
}
