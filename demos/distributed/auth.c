/* auth.c - the key file and the handshake's MACs (the protocol is described in auth.h)
 *
 * libsodium does the cryptography: randombytes_buf() for keys and nonces,
 * crypto_auth_hmacsha512256 for the MACs, and sodium_memcmp() for a comparison whose time does
 * not depend on where the first wrong byte is (memcmp's would tell an attacker how much of
 * a forged MAC was right).
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core.h"

#define HEX_LEN (2 * AUTH_KEY_BYTES)

void auth_init(void)
{
    if (sodium_init() < 0)
        die_msg("sodium_init failed: libsodium cannot start");
}

int auth_make_key(const char *path, char *err, size_t errlen)
{
    unsigned char key[AUTH_KEY_BYTES];
    char hex[HEX_LEN + 2];
    auth_init();
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    strcat(hex, "\n");

    /* O_EXCL: never overwrite a key that workers elsewhere already hold. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        snprintf(err, errlen, "%s: open: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = write(fd, hex, strlen(hex));
    int saved = errno;
    sodium_memzero(hex, sizeof hex);
    if (n != (ssize_t)(HEX_LEN + 1) || close(fd) == -1) {
        snprintf(err, errlen, "%s: write: %s", path, n == -1 ? strerror(saved) : "short write");
        unlink(path);
        return -1;
    }
    return 0;
}

/* The checks that come before reading a byte of the key. */
static int check_key_file(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "%s: mode %04o lets others read or change the key; run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int auth_load_key(const char *path, unsigned char key[AUTH_KEY_BYTES], char *err,
                  size_t errlen)
{
    char hex[HEX_LEN + 3];
    auth_init();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: open: %s", path, strerror(errno));
        return -1;
    }
    if (check_key_file(fd, path, err, errlen) == -1) {
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, hex, sizeof hex - 1);
    int saved = errno;
    close(fd);
    if (n == -1) {
        snprintf(err, errlen, "%s: read: %s", path, strerror(saved));
        return -1;
    }
    if (n == HEX_LEN + 1 && hex[HEX_LEN] == '\n')
        n = HEX_LEN;
    size_t got = 0;
    if (n != HEX_LEN || sodium_hex2bin(key, AUTH_KEY_BYTES, hex, HEX_LEN, NULL, &got, NULL) != 0
        || got != AUTH_KEY_BYTES) {
        snprintf(err, errlen, "%s: not a key (want %d hex digits; make one with broker --make-key)",
                 path, HEX_LEN);
        sodium_memzero(hex, sizeof hex);
        return -1;
    }
    sodium_memzero(hex, sizeof hex);
    return 0;
}

void auth_nonce(unsigned char nonce[WIRE_NONCE])
{
    randombytes_buf(nonce, WIRE_NONCE);
}

/* MAC(key, label || ns || nc || name): the label says which side is speaking. */
static void mac_of(const unsigned char key[AUTH_KEY_BYTES], const char *label,
                   const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                   const char *name, size_t name_len, unsigned char mac[WIRE_MAC])
{
    crypto_auth_hmacsha512256_state st;
    crypto_auth_hmacsha512256_init(&st, key, AUTH_KEY_BYTES);
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha512256_update(&st, ns, WIRE_NONCE);
    crypto_auth_hmacsha512256_update(&st, nc, WIRE_NONCE);
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)name, name_len);
    crypto_auth_hmacsha512256_final(&st, mac);
}

#define CLIENT_LABEL "taskq client->broker"
#define BROKER_LABEL "taskq broker->client"

void auth_client_mac(const unsigned char key[AUTH_KEY_BYTES],
                     const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                     const char *name, size_t name_len, unsigned char mac[WIRE_MAC])
{
    mac_of(key, CLIENT_LABEL, ns, nc, name, name_len, mac);
}

void auth_broker_mac(const unsigned char key[AUTH_KEY_BYTES],
                     const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                     const char *name, size_t name_len, unsigned char mac[WIRE_MAC])
{
    mac_of(key, BROKER_LABEL, ns, nc, name, name_len, mac);
}

static int check(const unsigned char key[AUTH_KEY_BYTES], const char *label,
                 const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                 const char *name, size_t name_len, const unsigned char mac[WIRE_MAC])
{
    unsigned char want[WIRE_MAC];
    mac_of(key, label, ns, nc, name, name_len, want);
    return sodium_memcmp(want, mac, WIRE_MAC) == 0 ? 0 : -1;   /* constant time */
}

int auth_check_client(const unsigned char key[AUTH_KEY_BYTES],
                      const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                      const char *name, size_t name_len, const unsigned char mac[WIRE_MAC])
{
    return check(key, CLIENT_LABEL, ns, nc, name, name_len, mac);
}

int auth_check_broker(const unsigned char key[AUTH_KEY_BYTES],
                      const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                      const char *name, size_t name_len, const unsigned char mac[WIRE_MAC])
{
    return check(key, BROKER_LABEL, ns, nc, name, name_len, mac);
}
