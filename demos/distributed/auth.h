/* auth.h - who may talk to the broker: a shared key and a mutual challenge-response
 *
 * The seeds' BaseManager takes an `authkey` and runs an HMAC challenge over it; then it
 * exchanges pickles, so whoever has the key can run code in the master. Here the key only
 * opens the door, and what comes through it is bytes.
 *
 * The key: 32 random bytes, stored as 64 hex digits in a file that only its owner may read
 * (mode 0600: a key in a world-readable file, or on a command line where `ps` shows it to
 * every user, is no secret). auth_make_key() writes one; auth_load_key() refuses a file
 * that group or others can read or write.
 *
 * The handshake (frames in wire.h), both sides proving they hold the key without sending it:
 *     broker: Ns = 32 fresh random bytes                      CHALLENGE Ns
 *     client: Nc = 32 fresh random bytes,
 *             Mc = MAC(key, "taskq client->broker" Ns Nc name)   HELLO Nc name Mc
 *     broker: checks Mc;  Mb = MAC(key, "taskq broker->client" Ns Nc name)   WELCOME Mb
 *     client: checks Mb
 * MAC is libsodium's crypto_auth: HMAC-SHA-512 cut to 256 bits. Fresh nonces from both
 * sides mean an old conversation cannot be replayed; the direction labels mean the broker's
 * answer cannot be reflected back to it as a client's. The check is in constant time.
 * This authenticates; it does not encrypt. Anyone on the path can read the tasks: use TLS
 * or a VPN (WireGuard) between machines you do not trust.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

#include "wire.h"

#define AUTH_KEY_BYTES 32
#define AUTH_DEFAULT_KEY_FILE "taskq.key"

/* Start libsodium (once per process; safe to call again). Exits 1 if it cannot start. */
void auth_init(void);

/* Write a fresh key to `path`, which must not exist yet, with mode 0600.
 * Returns 0, or -1 with a message ("taskq.key: open: File exists") in err. */
int auth_make_key(const char *path, char *err, size_t errlen);

/* Read the key in `path` into key[]. Returns 0, or -1 with a message in err when the
 * file cannot be read, is not a regular file, is readable or writable by group or others
 * ("taskq.key: mode 0644 lets others read the key; run: chmod 600 taskq.key"), or does
 * not hold exactly 64 hex digits (a final newline is allowed). */
int auth_load_key(const char *path, unsigned char key[AUTH_KEY_BYTES], char *err,
                  size_t errlen);

/* WIRE_NONCE fresh random bytes. */
void auth_nonce(unsigned char nonce[WIRE_NONCE]);

/* The two MACs of the handshake, and their constant-time checks (0: it matches). */
void auth_client_mac(const unsigned char key[AUTH_KEY_BYTES],
                     const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                     const char *name, size_t name_len, unsigned char mac[WIRE_MAC]);
void auth_broker_mac(const unsigned char key[AUTH_KEY_BYTES],
                     const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                     const char *name, size_t name_len, unsigned char mac[WIRE_MAC]);
int auth_check_client(const unsigned char key[AUTH_KEY_BYTES],
                      const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                      const char *name, size_t name_len, const unsigned char mac[WIRE_MAC]);
int auth_check_broker(const unsigned char key[AUTH_KEY_BYTES],
                      const unsigned char ns[WIRE_NONCE], const unsigned char nc[WIRE_NONCE],
                      const char *name, size_t name_len, const unsigned char mac[WIRE_MAC]);

#endif
