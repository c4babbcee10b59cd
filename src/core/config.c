/* config.c - loads and validates the JSON configuration (DESIGN §5).
 *
 * Every JSON object is read through a table of its keys (cfg_field) giving the type, the
 * range and where the value goes, so unknown keys, wrong types and out-of-range numbers are
 * reported the same way at every level, with the file and the 0-based key path. */
#include "oauthtop/config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#define CFG_NAME_MAX      128
#define CFG_KEYPATH_MAX   320
#define CFG_FILE_MAX      (16L * 1024 * 1024)
#define CFG_SECRET_MAX    (64L * 1024)
#define CFG_SECONDS_MAX   315360000 /* ten years */
#define CFG_SYSTEM_CONFIG "/etc/oauthtop/config.json"
#define CFG_LOOPBACK_MSG  "http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost)"

struct ot_config {
	ot_settings settings;
	ot_provider *providers;
	char **secrets; /* providers[i].client_secret, wiped on free */
	size_t n_providers;
	ot_account *accounts;
	const ot_account **by_name; /* accounts sorted by name, for lookups */
	size_t n_accounts;
	void **owned; /* every other string and array the records point to */
	size_t n_owned, cap_owned;
	char *pool; /* account names, packed (cfg_pool_dup); its blocks are in owned */
	size_t pool_left;
};

/* Parsing state: the configuration being built and where its text came from. */
typedef struct cfg_ctx {
	ot_config *cfg;
	const char *file; /* for messages */
	char *dir;        /* relative paths are resolved against it; NULL: left as they are */
	long mode;        /* st_mode of the file; -1 when the text did not come from a file */
	ot_err *err;
} cfg_ctx;

typedef struct cfg_num {
	const char *unit; /* "seconds", "days"; NULL: a plain integer */
	int64_t min, max;
} cfg_num;

static const cfg_num NUM_POSITIVE = {"seconds", 1, CFG_SECONDS_MAX};
static const cfg_num NUM_SECONDS = {"seconds", 0, CFG_SECONDS_MAX};
static const cfg_num NUM_DAYS = {"days", 1, 36500};
static const cfg_num NUM_COUNT = {NULL, 1, 100000};
static const cfg_num NUM_PORT = {NULL, 0, 65535};

typedef enum cfg_kind {
	CFG_INT64,
	CFG_INT,
	CFG_BOOL,
	CFG_STR,         /* non-empty string, copied */
	CFG_STR_OPT,     /* string, may be empty, copied */
	CFG_RAW,         /* non-empty string left in the JSON tree (names, enums, secrets) */
	CFG_PATH,        /* file path, resolved against the configuration's directory */
	CFG_URL,         /* https:// or loopback http:// */
	CFG_OBJECT,      /* nested keys filling the same record */
	CFG_NODE_OBJECT, /* an object kept as a JSON node for a later pass */
	CFG_NODE_ARRAY,  /* an array kept as a JSON node for a later pass */
} cfg_kind;

typedef struct cfg_field {
	const char *key;
	cfg_kind kind;
	size_t off; /* where the value goes in the record */
	const cfg_num *num;
	const struct cfg_field *sub; /* CFG_OBJECT */
} cfg_field;

/* The records the tables fill: the public record plus what needs a second look. */
typedef struct cfg_top {
	ot_settings s;
	const cJSON *providers, *accounts;
} cfg_top;

typedef struct cfg_prov {
	ot_provider p;
	const char *auth_method, *secret_file, *secret_env, *secret_inline;
	const cJSON *extra;
} cfg_prov;

typedef struct cfg_acct {
	ot_account a;
	const char *name, *provider, *grant, *scope;
} cfg_acct;

/* clang-format off */
#define FIELD(key, kind, type, member, num) {key, kind, offsetof(type, member), num, NULL}
#define NESTED(key, sub)                    {key, CFG_OBJECT, 0, NULL, sub}
#define FIELDS_END                          {NULL, CFG_INT64, 0, NULL, NULL}
/* clang-format on */

static const cfg_field BACKOFF_FIELDS[] = {
        FIELD("base", CFG_INT64, cfg_top, s.backoff_base, &NUM_SECONDS),
        FIELD("max", CFG_INT64, cfg_top, s.backoff_max, &NUM_SECONDS),
        FIELDS_END,
};

static const cfg_field TIMEOUT_FIELDS[] = {
        FIELD("connect", CFG_INT64, cfg_top, s.connect_timeout, &NUM_POSITIVE),
        FIELD("total", CFG_INT64, cfg_top, s.total_timeout, &NUM_POSITIVE),
        FIELDS_END,
};

static const cfg_field HOOK_FIELDS[] = {
        FIELD("reauth", CFG_STR_OPT, cfg_top, s.hook_reauth, NULL),
        FIELD("failing", CFG_STR_OPT, cfg_top, s.hook_failing, NULL),
        FIELD("recovered", CFG_STR_OPT, cfg_top, s.hook_recovered, NULL),
        FIELDS_END,
};

static const cfg_field TOP_FIELDS[] = {
        FIELD("window", CFG_INT64, cfg_top, s.window, &NUM_POSITIVE),
        FIELD("reauth_warning", CFG_INT64, cfg_top, s.reauth_warning, &NUM_SECONDS),
        FIELD("store", CFG_PATH, cfg_top, s.store_path, NULL),
        FIELD("concurrency", CFG_INT, cfg_top, s.concurrency, &NUM_COUNT),
        FIELD("min_interval", CFG_INT64, cfg_top, s.min_interval, &NUM_SECONDS),
        NESTED("backoff", BACKOFF_FIELDS),
        FIELD("lease_seconds", CFG_INT64, cfg_top, s.lease_seconds, &NUM_POSITIVE),
        NESTED("timeouts", TIMEOUT_FIELDS),
        FIELD("history_days", CFG_INT64, cfg_top, s.history_days, &NUM_DAYS),
        FIELD("theme", CFG_STR, cfg_top, s.theme, NULL),
        NESTED("hooks", HOOK_FIELDS),
        FIELD("providers", CFG_NODE_OBJECT, cfg_top, providers, NULL),
        FIELD("accounts", CFG_NODE_ARRAY, cfg_top, accounts, NULL),
        FIELDS_END,
};

static const cfg_field PROVIDER_FIELDS[] = {
        FIELD("token_url", CFG_URL, cfg_prov, p.token_url, NULL),
        FIELD("issuer", CFG_URL, cfg_prov, p.issuer, NULL),
        FIELD("client_id", CFG_STR, cfg_prov, p.client_id, NULL),
        FIELD("client_secret_file", CFG_PATH, cfg_prov, secret_file, NULL),
        FIELD("client_secret_env", CFG_RAW, cfg_prov, secret_env, NULL),
        FIELD("client_secret", CFG_RAW, cfg_prov, secret_inline, NULL),
        FIELD("auth_method", CFG_RAW, cfg_prov, auth_method, NULL),
        FIELD("scope", CFG_STR_OPT, cfg_prov, p.scope, NULL),
        FIELD("extra_params", CFG_NODE_OBJECT, cfg_prov, extra, NULL),
        FIELD("default_expires_in", CFG_INT64, cfg_prov, p.default_expires_in, &NUM_SECONDS),
        FIELD("refresh_token_lifetime", CFG_INT64, cfg_prov, p.refresh_token_lifetime,
              &NUM_SECONDS),
        FIELD("max_concurrency", CFG_INT, cfg_prov, p.max_concurrency, &NUM_COUNT),
        FIELD("ca_file", CFG_PATH, cfg_prov, p.ca_file, NULL),
        FIELD("device_authorization_url", CFG_URL, cfg_prov, p.device_authorization_url, NULL),
        FIELD("authorization_url", CFG_URL, cfg_prov, p.authorization_url, NULL),
        FIELD("revocation_url", CFG_URL, cfg_prov, p.revocation_url, NULL),
        FIELD("introspection_url", CFG_URL, cfg_prov, p.introspection_url, NULL),
        FIELD("redirect_port", CFG_INT, cfg_prov, p.redirect_port, &NUM_PORT),
        FIELDS_END,
};

static const cfg_field ACCOUNT_FIELDS[] = {
        FIELD("name", CFG_RAW, cfg_acct, name, NULL),
        FIELD("provider", CFG_RAW, cfg_acct, provider, NULL),
        FIELD("grant", CFG_RAW, cfg_acct, grant, NULL),
        FIELD("scope", CFG_STR_OPT, cfg_acct, scope, NULL),
        FIELD("window", CFG_INT64, cfg_acct, a.window, &NUM_POSITIVE),
        FIELD("endpoint", CFG_URL, cfg_acct, a.endpoint, NULL),
        FIELD("enabled", CFG_BOOL, cfg_acct, a.enabled, NULL),
        FIELDS_END,
};

/* Parameters oauthtop sets itself; extra_params may not override them. */
static const char *const RESERVED_PARAMS[] = {
        "grant_type", "refresh_token", "client_id", "client_secret", "scope", NULL,
};

/* ---- memory: everything the records point to belongs to the configuration ---- */

static void cfg_oom(void)
{
	fputs("oauthtop: out of memory\n", stderr);
	abort();
}

static void *cfg_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		cfg_oom();
	return p;
}

static void cfg_own(ot_config *cfg, void *p)
{
	if (cfg->n_owned == cfg->cap_owned) {
		size_t cap = cfg->cap_owned ? cfg->cap_owned * 2 : 64;
		void **grown = realloc(cfg->owned, cap * sizeof(*grown));

		if (!grown)
			cfg_oom();
		cfg->owned = grown;
		cfg->cap_owned = cap;
	}
	cfg->owned[cfg->n_owned++] = p;
}

static const char *cfg_keep(ot_config *cfg, const char *s)
{
	char *d = ot_strdup(s);

	cfg_own(cfg, d);
	return d;
}

/* A copy of s packed with others in blocks the configuration owns (one allocation per
 * 64 KiB of account names rather than one per name). Never freed alone: not for cfg_replace. */
static const char *cfg_pool_dup(ot_config *cfg, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d;

	if (len > cfg->pool_left) {
		size_t cap = len > 65536 ? len : 65536;
		cfg->pool = cfg_calloc(cap, 1);
		cfg->pool_left = cap;
		cfg_own(cfg, cfg->pool);
	}
	d = cfg->pool;
	memcpy(d, s, len);
	cfg->pool += len;
	cfg->pool_left -= len;
	return d;
}

/* Points *slot at a copy of s and frees the previous copy if the configuration owns it. */
static void cfg_replace(ot_config *cfg, const char **slot, const char *s)
{
	const char *old = *slot;
	size_t i;

	*slot = cfg_keep(cfg, s);
	for (i = 0; old && i < cfg->n_owned; i++) {
		if (cfg->owned[i] == old) {
			free(cfg->owned[i]);
			cfg->owned[i] = cfg->owned[--cfg->n_owned];
			break;
		}
	}
}

/* dir + "/" + rel, allocated. */
static char *cfg_path_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *p = cfg_calloc(dl + rl + 2, 1);
	int slash = dl > 0 && dir[dl - 1] != '/';

	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, rel, rl + 1);
	return p;
}

static const char *cfg_home(void)
{
	const char *home = getenv("HOME");
	const struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/";
}

/* An XDG base directory: $VAR when absolute, else $HOME/fallback (the spec ignores relative
 * values). Allocated. */
static char *cfg_xdg_path(const char *var, const char *fallback, const char *rel)
{
	const char *base = getenv(var);
	char *dir, *path;

	if (base && base[0] == '/')
		return cfg_path_join(base, rel);
	dir = cfg_path_join(cfg_home(), fallback);
	path = cfg_path_join(dir, rel);
	free(dir);
	return path;
}

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static int cfg_fail(const cfg_ctx *c, const char *keypath,
                                                          const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line whatever the file names or values quoted in it hold (a secret file named
	 * "a\nb" made two). */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (keypath && *keypath)
		return ot_err_set(c->err, "%s: %s: %s", c->file, keypath, msg);
	return ot_err_set(c->err, "%s: %s", c->file, msg);
}

/* Copies s for a message: control characters become '?', long text is cut. */
static const char *cfg_clean(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s && n + 1 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;

		out[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	out[n] = '\0';
	return out;
}

/* The key path of key inside base ("providers" + "acme" -> "providers.acme"). */
static void cfg_join(char *out, size_t len, const char *base, const char *key)
{
	size_t n = 0;

	/* Runs for every key of every account: no printf here (a third of the load time at
	 * 10,000 accounts). */
	if (!len)
		return;
	for (; base && *base && n + 1 < len; base++)
		out[n++] = *base;
	if (n && n + 1 < len)
		out[n++] = '.';
	out[n] = '\0';
	cfg_clean(key, out + n, len - n);
	if (strlen(out + n) > CFG_NAME_MAX + 7)
		out[n + CFG_NAME_MAX + 7] = '\0';
}

/* A key path built only when a message needs it: base, or base.key. Every key of every
 * account has one, and almost none is ever shown. */
typedef struct cfg_key {
	const char *base, *key; /* key NULL: the path is base */
	bool built;
	char buf[CFG_KEYPATH_MAX];
} cfg_key;

static void cfg_key_init(cfg_key *k, const char *base, const char *key)
{
	k->base = base;
	k->key = key;
	k->built = false; /* buf is left as it is: filled on first use */
}

static const char *cfg_key_str(cfg_key *k)
{
	if (!k->key)
		return k->base;
	if (!k->built)
		cfg_join(k->buf, sizeof(k->buf), k->base, k->key);
	k->built = true;
	return k->buf;
}

/* ---- values ---- */

static int cfg_number(const cfg_ctx *c, const cJSON *it, cfg_key *key, const cfg_num *num,
                      int64_t *out)
{
	double d = it->valuedouble;

	if (!cJSON_IsNumber(it))
		return cfg_fail(c, cfg_key_str(key), "must be a number");
	if (d != floor(d))
		return cfg_fail(c, cfg_key_str(key), "must be a whole number");
	if (d < (double)num->min) {
		const char *kp = cfg_key_str(key);
		if (!num->unit)
			return cfg_fail(c, kp, "must be an integer >= %lld", (long long)num->min);
		if (num->min == 1)
			return cfg_fail(c, kp, "must be a number of %s > 0", num->unit);
		return cfg_fail(c, kp, "must be a number of %s >= %lld", num->unit,
		                (long long)num->min);
	}
	if (d > (double)num->max)
		return cfg_fail(c, cfg_key_str(key), "must be at most %lld", (long long)num->max);
	*out = (int64_t)d;
	return 0;
}

/* A path from the file: "~/" is the home directory, relative paths are relative to the
 * configuration file's directory. */
static const char *cfg_resolve(cfg_ctx *c, const char *s)
{
	char *p;

	if (s[0] == '~' && s[1] == '/')
		p = cfg_path_join(cfg_home(), s + 2);
	else if (s[0] == '/' || !c->dir)
		p = ot_strdup(s);
	else
		p = cfg_path_join(c->dir, s);
	cfg_own(c->cfg, p);
	return p;
}

static int cfg_string(cfg_ctx *c, const cJSON *it, cfg_key *key, cfg_kind kind, const char **slot)
{
	const char *s = cJSON_GetStringValue(it);

	if (!s)
		return cfg_fail(c, cfg_key_str(key), "must be a string");
	if (!*s && kind != CFG_STR_OPT)
		return cfg_fail(c, cfg_key_str(key), "must not be empty");
	switch (kind) {
	case CFG_RAW:
		*slot = s;
		return 0;
	case CFG_PATH:
		*slot = cfg_resolve(c, s);
		return 0;
	case CFG_URL:
		if (!ot_url_allowed(s))
			return cfg_fail(c, cfg_key_str(key), "%s",
			                strncasecmp(s, "http://", 7) ? "must be an https:// URL"
			                                             : CFG_LOOPBACK_MSG);
		/* fall through */
	default:
		*slot = cfg_keep(c->cfg, s);
		return 0;
	}
}

/* Checks that obj is an object without repeated keys. */
static int cfg_object(const cfg_ctx *c, const cJSON *obj, const char *path)
{
	const cJSON *a, *b;
	char kp[CFG_KEYPATH_MAX];

	if (!cJSON_IsObject(obj))
		return cfg_fail(c, path, "must be an object");
	for (a = obj->child; a; a = a->next) {
		for (b = obj->child; b != a; b = b->next) {
			if (!strcmp(a->string, b->string)) {
				cfg_join(kp, sizeof(kp), path, a->string);
				return cfg_fail(c, kp, "duplicate key");
			}
		}
	}
	return 0;
}

static int cfg_fields(cfg_ctx *c, const cJSON *obj, const char *path, const cfg_field *fields,
                      void *rec);

static int cfg_field_set(cfg_ctx *c, const cJSON *it, cfg_key *kp, const cfg_field *f, void *rec)
{
	void *slot = (char *)rec + f->off;
	int64_t v;

	switch (f->kind) {
	case CFG_INT64:
		return cfg_number(c, it, kp, f->num, slot);
	case CFG_INT:
		if (cfg_number(c, it, kp, f->num, &v) < 0)
			return -1;
		*(int *)slot = (int)v;
		return 0;
	case CFG_BOOL:
		if (!cJSON_IsBool(it))
			return cfg_fail(c, cfg_key_str(kp), "must be true or false");
		*(bool *)slot = cJSON_IsTrue(it);
		return 0;
	case CFG_OBJECT:
		return cfg_fields(c, it, cfg_key_str(kp), f->sub, rec);
	case CFG_NODE_OBJECT:
		if (cfg_object(c, it, cfg_key_str(kp)) < 0)
			return -1;
		*(const cJSON **)slot = it;
		return 0;
	case CFG_NODE_ARRAY:
		if (!cJSON_IsArray(it))
			return cfg_fail(c, cfg_key_str(kp), "must be an array");
		*(const cJSON **)slot = it;
		return 0;
	default:
		return cfg_string(c, it, kp, f->kind, slot);
	}
}

/* Reads the keys of obj into rec through the table; null means "absent". */
static int cfg_fields(cfg_ctx *c, const cJSON *obj, const char *path, const cfg_field *fields,
                      void *rec)
{
	const cJSON *it;

	if (cfg_object(c, obj, path) < 0)
		return -1;
	for (it = obj->child; it; it = it->next) {
		const cfg_field *f = fields;
		cfg_key kp;

		cfg_key_init(&kp, path, it->string);
		while (f->key && strcmp(f->key, it->string))
			f++;
		if (!f->key)
			return cfg_fail(c, cfg_key_str(&kp), "unknown key");
		if (!cJSON_IsNull(it) && cfg_field_set(c, it, &kp, f, rec) < 0)
			return -1;
	}
	return 0;
}

/* Length of the run of name characters ([A-Za-z0-9._-]) at the start of s: a test per
 * character, not strspn over a set (this runs for every account). */
static size_t cfg_name_span(const char *s)
{
	size_t n = 0;

	for (;; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return n;
	}
}

/* what: "" for accounts, "provider name " for providers. */
static int cfg_check_name(const cfg_ctx *c, cfg_key *key, const char *what, const char *name)
{
	char shown[CFG_NAME_MAX + 8];
	size_t n = cfg_name_span(name);

	if (name[n] == '\0' && n > 0 && n <= CFG_NAME_MAX)
		return 0;
	n = strlen(name);
	if (n > CFG_NAME_MAX)
		return cfg_fail(c, cfg_key_str(key), "%s\"%.40s...\" is longer than %d characters",
		                what, cfg_clean(name, shown, sizeof(shown)), CFG_NAME_MAX);
	return cfg_fail(c, cfg_key_str(key), "%s\"%s\" must match [A-Za-z0-9._-]+", what,
	                cfg_clean(name, shown, sizeof(shown)));
}

/* ---- secrets ---- */

/* Reads a whole regular file of at most max bytes into a NUL-terminated buffer sized once
 * (never reallocated, so a secret is never left behind in freed memory). */
static char *cfg_read_fd(int fd, long max, size_t *len, const char **why)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return NULL;
	}
	if (st.st_size > max) {
		*why = "too large";
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	buf = cfg_calloc(cap + 1, 1);
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				break;
			*why = strerror(errno);
			ot_wipe(buf, n);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	if (n == cap) {
		*why = "changed while being read";
		ot_wipe(buf, n);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int cfg_secret_file(cfg_ctx *c, const char *path, const char *file, char **out)
{
	char kp[CFG_KEYPATH_MAX];
	const char *why = NULL;
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd;

	cfg_join(kp, sizeof(kp), path, "client_secret_file");
	/* O_NONBLOCK: a FIFO with no writer must not hang the open (cfg_read_fd refuses it) */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cfg_fail(c, kp, "cannot read %s: %s", file, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
		close(fd);
		return cfg_fail(c, kp,
		                "%s is readable by group or others (mode %04o): chmod 600 %s", file,
		                (unsigned)(st.st_mode & 07777), file);
	}
	buf = cfg_read_fd(fd, CFG_SECRET_MAX, &len, &why);
	close(fd);
	if (!buf)
		return cfg_fail(c, kp, "cannot read %s: %s", file, why);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len) {
		ot_wipe(buf, len);
		free(buf);
		return cfg_fail(c, kp, "%s %s", file, len ? "contains a NUL byte" : "is empty");
	}
	*out = buf;
	return 0;
}

static int cfg_secret_env(cfg_ctx *c, const char *path, const char *var, char **out)
{
	char kp[CFG_KEYPATH_MAX], shown[CFG_NAME_MAX + 8];
	const char *v = getenv(var);

	cfg_join(kp, sizeof(kp), path, "client_secret_env");
	if (!v || !*v)
		return cfg_fail(c, kp, "environment variable %s is %s",
		                cfg_clean(var, shown, sizeof(shown)), v ? "empty" : "not set");
	*out = ot_strdup(v);
	return 0;
}

static int cfg_secret_inline(cfg_ctx *c, const char *path, const char *value, char **out)
{
	char kp[CFG_KEYPATH_MAX];

	cfg_join(kp, sizeof(kp), path, "client_secret");
	if (c->mode >= 0 && (c->mode & (S_IRGRP | S_IROTH)))
		return cfg_fail(
		        c, kp,
		        "refused: %s is readable by group or others (mode %04o); chmod 600 %s "
		        "or use client_secret_file",
		        c->file, (unsigned)(c->mode & 07777), c->file);
	*out = ot_strdup(value);
	return 0;
}

static int cfg_secret_resolve(cfg_ctx *c, const char *path, const cfg_prov *in, char **out)
{
	int n = !!in->secret_file + !!in->secret_env + !!in->secret_inline;
	int rc = 0;

	if (n > 1)
		return cfg_fail(c, path,
		                "use only one of client_secret_file, client_secret_env "
		                "and client_secret");
	if (in->secret_file)
		rc = cfg_secret_file(c, path, in->secret_file, out);
	else if (in->secret_env)
		rc = cfg_secret_env(c, path, in->secret_env, out);
	else if (in->secret_inline)
		rc = cfg_secret_inline(c, path, in->secret_inline, out);
	if (rc == 0 && !*out && in->p.auth_method != OT_AUTH_NONE)
		return cfg_fail(
		        c, path,
		        "%s needs a client secret (client_secret_file, client_secret_env or "
		        "client_secret); a public client needs \"auth_method\": \"none\"",
		        ot_auth_method_name(in->p.auth_method));
	return rc;
}

/* 16 hex digits of SHA-256 over the fields a client rejection depends on, each followed by a
 * NUL so that no two different tuples hash the same input. The configured token_url (else the
 * issuer) is used, so discovery does not change it. */
static void cfg_fingerprint(ot_provider *p)
{
	const char *parts[4];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	parts[0] = p->token_url ? p->token_url : p->issuer ? p->issuer : "";
	parts[1] = p->client_id ? p->client_id : "";
	parts[2] = p->client_secret ? p->client_secret : "";
	parts[3] = ot_auth_method_name(p->auth_method);
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; ok && i < 4; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 8;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		cfg_oom();
	for (i = 0; i < 8; i++)
		snprintf(p->fingerprint + 2 * i, 3, "%02x", md[i]);
	ot_wipe(md, sizeof(md));
}

/* ---- providers ---- */

static int cfg_auth_method_parse(const char *s, ot_auth_method *out)
{
	static const ot_auth_method all[] = {OT_AUTH_BASIC, OT_AUTH_POST, OT_AUTH_NONE};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, ot_auth_method_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

static int cfg_extra_params(cfg_ctx *c, const char *path, cfg_prov *in)
{
	char base[CFG_KEYPATH_MAX], kp[CFG_KEYPATH_MAX];
	const cJSON *it;
	ot_kv *kv;
	size_t n = 0, r;

	if (!in->extra)
		return 0;
	cfg_join(base, sizeof(base), path, "extra_params");
	kv = cfg_calloc((size_t)cJSON_GetArraySize(in->extra), sizeof(*kv));
	cfg_own(c->cfg, kv);
	in->p.extra_params = kv;
	for (it = in->extra->child; it; it = it->next) {
		cfg_join(kp, sizeof(kp), base, it->string);
		if (!cJSON_IsString(it))
			return cfg_fail(c, kp, "must be a string");
		for (r = 0; RESERVED_PARAMS[r]; r++)
			if (!strcmp(it->string, RESERVED_PARAMS[r]))
				return cfg_fail(c, kp, "reserved: oauthtop sets this parameter");
		kv[n].key = cfg_keep(c->cfg, it->string);
		kv[n].value = cfg_keep(c->cfg, it->valuestring);
		in->p.n_extra_params = ++n;
	}
	return 0;
}

static int cfg_provider_check(cfg_ctx *c, const char *path, cfg_prov *in)
{
	char kp[CFG_KEYPATH_MAX];

	if (!in->p.client_id) {
		cfg_join(kp, sizeof(kp), path, "client_id");
		return cfg_fail(c, kp, "required");
	}
	if (!in->p.token_url && !in->p.issuer)
		return cfg_fail(c, path, "token_url or issuer is required");
	if (in->auth_method && cfg_auth_method_parse(in->auth_method, &in->p.auth_method) < 0) {
		cfg_join(kp, sizeof(kp), path, "auth_method");
		return cfg_fail(c, kp, "must be client_secret_basic, client_secret_post or none");
	}
	if (in->p.scope && !*in->p.scope)
		in->p.scope = NULL;
	return cfg_extra_params(c, path, in);
}

static int cfg_parse_provider(cfg_ctx *c, const cJSON *node, ot_provider *out, char **secret)
{
	char path[CFG_KEYPATH_MAX];
	cfg_key key;
	cfg_prov in;

	memset(&in, 0, sizeof(in));
	in.p.max_concurrency = 8;
	cfg_key_init(&key, "providers", NULL);
	if (cfg_check_name(c, &key, "provider name ", node->string) < 0)
		return -1;
	cfg_join(path, sizeof(path), "providers", node->string);
	if (cfg_fields(c, node, path, PROVIDER_FIELDS, &in) < 0 ||
	    cfg_provider_check(c, path, &in) < 0 || cfg_secret_resolve(c, path, &in, secret) < 0)
		return -1;
	in.p.name = cfg_keep(c->cfg, node->string);
	in.p.client_secret = *secret;
	cfg_fingerprint(&in.p);
	*out = in.p;
	return 0;
}

static int cfg_parse_providers(cfg_ctx *c, const cJSON *node)
{
	ot_config *cfg = c->cfg;
	const cJSON *it;
	size_t i = 0, n = node ? (size_t)cJSON_GetArraySize(node) : 0;

	/* Sized up front and counted in full, so a failure half-way still frees every secret,
	 * and accounts can keep pointers into the array. */
	cfg->providers = cfg_calloc(n, sizeof(*cfg->providers));
	cfg->secrets = cfg_calloc(n, sizeof(*cfg->secrets));
	cfg->n_providers = n;
	for (it = node ? node->child : NULL; it; it = it->next, i++)
		if (cfg_parse_provider(c, it, &cfg->providers[i], &cfg->secrets[i]) < 0)
			return -1;
	return 0;
}

/* ---- accounts ---- */

static int cfg_account_resolve(cfg_ctx *c, const char *path, cfg_acct *in)
{
	char shown[CFG_NAME_MAX + 8];
	const ot_provider *p;
	cfg_key kp;

	cfg_key_init(&kp, path, "name");
	if (!in->name)
		return cfg_fail(c, cfg_key_str(&kp), "required");
	if (cfg_check_name(c, &kp, "", in->name) < 0)
		return -1;
	cfg_key_init(&kp, path, "provider");
	if (!in->provider)
		return cfg_fail(c, cfg_key_str(&kp), "required");
	p = ot_config_find_provider(c->cfg, in->provider);
	if (!p)
		return cfg_fail(c, cfg_key_str(&kp), "no provider named \"%s\"",
		                cfg_clean(in->provider, shown, sizeof(shown)));
	in->a.provider = p;
	cfg_key_init(&kp, path, "grant");
	if (in->grant && !strcmp(in->grant, "client_credentials"))
		in->a.grant = OT_GRANT_CLIENT_CREDENTIALS;
	else if (in->grant && strcmp(in->grant, "refresh_token"))
		return cfg_fail(c, cfg_key_str(&kp), "must be refresh_token or client_credentials");
	if (in->a.grant == OT_GRANT_CLIENT_CREDENTIALS && p->auth_method == OT_AUTH_NONE)
		return cfg_fail(c, cfg_key_str(&kp),
		                "client_credentials needs a provider with a client secret");
	return 0;
}

/* "accounts[i]" without printf (once per account). */
static void cfg_account_path(char out[32], size_t i)
{
	char digits[24];
	size_t n = 0, k = 0;

	do
		digits[n++] = (char)('0' + i % 10);
	while ((i /= 10) && n < sizeof(digits));
	memcpy(out, "accounts[", 9);
	k = 9;
	while (n > 0)
		out[k++] = digits[--n];
	out[k++] = ']';
	out[k] = '\0';
}

static int cfg_parse_account(cfg_ctx *c, const cJSON *node, size_t i, ot_account *out)
{
	char path[32];
	cfg_acct in;

	memset(&in, 0, sizeof(in));
	in.a.enabled = true;
	cfg_account_path(path, i);
	if (cfg_fields(c, node, path, ACCOUNT_FIELDS, &in) < 0 ||
	    cfg_account_resolve(c, path, &in) < 0)
		return -1;
	in.a.name = cfg_pool_dup(c->cfg, in.name);
	if (in.scope)
		in.a.scope = *in.scope ? in.scope : NULL;
	else
		in.a.scope = in.a.provider->scope;
	if (!in.a.window)
		in.a.window = c->cfg->settings.window;
	*out = in.a;
	return 0;
}

static int cfg_by_name_cmp(const void *a, const void *b)
{
	const ot_account *x = *(const ot_account *const *)a, *y = *(const ot_account *const *)b;
	int d = strcmp(x->name, y->name);

	return d ? d : (x > y) - (x < y);
}

static int cfg_find_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(const ot_account *const *)elem)->name);
}

/* Sorts the lookup index; the first account whose name was already used is an error. */
static int cfg_index_accounts(cfg_ctx *c)
{
	ot_config *cfg = c->cfg;
	const ot_account *dup = NULL;
	char kp[64], shown[CFG_NAME_MAX + 8];
	size_t i;

	for (i = 0; i < cfg->n_accounts; i++)
		cfg->by_name[i] = &cfg->accounts[i];
	for (i = 1; i < cfg->n_accounts; i++) /* a file in name order needs no sort */
		if (strcmp(cfg->accounts[i - 1].name, cfg->accounts[i].name) >= 0)
			break;
	if (i >= cfg->n_accounts)
		return 0; /* strictly ascending: no name repeats */
	qsort(cfg->by_name, cfg->n_accounts, sizeof(*cfg->by_name), cfg_by_name_cmp);
	for (i = 1; i < cfg->n_accounts; i++) {
		if (!strcmp(cfg->by_name[i - 1]->name, cfg->by_name[i]->name) &&
		    (!dup || cfg->by_name[i] < dup))
			dup = cfg->by_name[i];
	}
	if (!dup)
		return 0;
	snprintf(kp, sizeof(kp), "accounts[%zu].name", (size_t)(dup - cfg->accounts));
	return cfg_fail(c, kp, "duplicate account name \"%s\"",
	                cfg_clean(dup->name, shown, sizeof(shown)));
}

static int cfg_parse_accounts(cfg_ctx *c, const cJSON *node)
{
	ot_config *cfg = c->cfg;
	const cJSON *it;
	size_t n = node ? (size_t)cJSON_GetArraySize(node) : 0;

	cfg->accounts = cfg_calloc(n, sizeof(*cfg->accounts));
	cfg->by_name = cfg_calloc(n, sizeof(*cfg->by_name));
	for (it = node ? node->child : NULL; it; it = it->next) {
		if (cfg_parse_account(c, it, cfg->n_accounts, &cfg->accounts[cfg->n_accounts]) < 0)
			return -1;
		cfg->n_accounts++;
	}
	return cfg_index_accounts(c);
}

/* ---- settings and the whole file ---- */

static void cfg_defaults(ot_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->window = 300;
	s->reauth_warning = 604800;
	s->concurrency = 32;
	s->min_interval = 30;
	s->backoff_base = 30;
	s->backoff_max = 3600;
	s->lease_seconds = 120;
	s->connect_timeout = 10;
	s->total_timeout = 30;
	s->history_days = 90;
}

static int cfg_settings_check(const cfg_ctx *c, ot_settings *s)
{
	if (s->backoff_max < s->backoff_base)
		return cfg_fail(c, "backoff.max", "must be >= backoff.base (%lld)",
		                (long long)s->backoff_base);
	/* A lease is taken up to one batch ahead: its request may wait one total timeout for a
	 * slot, then run for another; a lease that lapses under a live request invites a second
	 * keeper to resend the same refresh token (review 3). */
	if (s->total_timeout > (INT64_MAX - 10) / 2)
		return cfg_fail(c, "timeouts.total", "is too large");
	if (s->lease_seconds < 2 * s->total_timeout + 10)
		return cfg_fail(c, "lease_seconds",
		                "must be at least 2 x timeouts.total + 10 (%lld seconds): a leased "
		                "request may wait one total timeout for a slot, then run another",
		                (long long)(2 * s->total_timeout + 10));
	if (s->hook_reauth && !*s->hook_reauth)
		s->hook_reauth = NULL;
	if (s->hook_failing && !*s->hook_failing)
		s->hook_failing = NULL;
	if (s->hook_recovered && !*s->hook_recovered)
		s->hook_recovered = NULL;
	return 0;
}

static int cfg_build(cfg_ctx *c, const cJSON *root)
{
	ot_config *cfg = c->cfg;
	cfg_top top;

	memset(&top, 0, sizeof(top));
	cfg_defaults(&top.s);
	if (!cJSON_IsObject(root))
		return cfg_fail(c, NULL, "the top level must be a JSON object");
	if (cfg_fields(c, root, "", TOP_FIELDS, &top) < 0 || cfg_settings_check(c, &top.s) < 0)
		return -1;
	top.s.path = cfg_keep(cfg, c->file);
	if (!top.s.theme)
		top.s.theme = "default";
	if (!top.s.store_path) {
		char *p = cfg_xdg_path("XDG_STATE_HOME", ".local/state", "oauthtop/oauthtop.db");

		cfg_own(cfg, p);
		top.s.store_path = p;
	}
	cfg->settings = top.s;
	if (cfg_parse_providers(c, top.providers) < 0)
		return -1;
	return cfg_parse_accounts(c, top.accounts);
}

/* True when a secret may lie near pos: the message then leaves the text out. */
static int cfg_near_secret(const char *text, size_t len, size_t pos)
{
	/* what names or looks like a credential: a client secret, a token answer pasted as a
	 * configuration, a password, a client assertion, a JWT (base64url of '{"') */
	static const char *const words[] = {"secret", "token", "password", "assertion", "eyJ"};
	size_t from = pos > 512 ? pos - 512 : 0, to = pos + 64 < len ? pos + 64 : len;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (memmem(text + from, to - from, words[i], strlen(words[i])))
			return 1;
	return 0;
}

static void cfg_json_error(const cfg_ctx *c, const char *text, size_t len, const char *at)
{
	size_t pos = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
	size_t line = 1, i, start, n = 0;
	char near[40];

	for (i = 0; i < pos; i++)
		line += text[i] == '\n';
	if (pos >= len || !text[pos]) {
		cfg_fail(c, NULL, "line %zu: invalid JSON: unexpected end of file", line);
		return;
	}
	if (cfg_near_secret(text, len, pos)) {
		cfg_fail(c, NULL, "line %zu: invalid JSON (near a secret, not shown)", line);
		return;
	}
	/* At the end of a line, show the line itself. */
	start = pos;
	for (i = pos; i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'); i++)
		;
	if (i >= len || text[i] == '\n' || !text[i])
		while (start > 0 && text[start - 1] != '\n')
			start--;
	while (start < len && (text[start] == ' ' || text[start] == '\t'))
		start++;
	for (; start + n < len && n + 1 < sizeof(near); n++) {
		unsigned char ch = (unsigned char)text[start + n];

		if (ch == '\n' || ch == '\r' || !ch)
			break;
		near[n] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	near[n] = '\0';
	cfg_fail(c, NULL, "line %zu: invalid JSON near \"%s\"", line, near);
}

/* The directory relative paths in the file are resolved against; NULL to leave them
 * relative to the working directory. Allocated. */
static char *cfg_dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir, *real;

	if (!slash)
		dir = ot_strdup(".");
	else if (slash == file)
		dir = ot_strdup("/");
	else {
		dir = cfg_calloc((size_t)(slash - file) + 1, 1);
		memcpy(dir, file, (size_t)(slash - file));
	}
	real = realpath(dir, NULL);
	if (real || !slash) {
		free(dir);
		return real;
	}
	return dir;
}

/* text must have a NUL at text[len]. */
/* ---- the parse arena ----
 * cJSON allocates every node and string separately; at 100,000 accounts freeing the tree
 * cost as much as parsing it. During one parse its allocations come from large blocks that
 * are wiped (an inline secret must not outlive parsing) and released together. Parsing is
 * single-threaded and the default hooks are restored before returning. */
typedef struct cfg_block {
	struct cfg_block *next;
	size_t used, cap;
	max_align_t data[];
} cfg_block;

#define CFG_ARENA_ALIGN 8
_Static_assert(_Alignof(cJSON) <= CFG_ARENA_ALIGN, "cJSON nodes need a wider alignment");

static cfg_block *cfg_arena;

static void *cfg_arena_alloc(size_t n)
{
	cfg_block *b = cfg_arena;

	/* cJSON's nodes need no more than 8-byte alignment (pointers, a double); short strings
	 * ("name", "provider") then take 8 bytes, not 16. */
	n = (n + CFG_ARENA_ALIGN - 1) / CFG_ARENA_ALIGN * CFG_ARENA_ALIGN;
	if (!b || b->cap - b->used < n) {
		/* Blocks double from 16 KiB (a small file needs one) up to 4 MiB. */
		size_t cap = b ? (b->cap < (4u << 20) ? b->cap * 2 : b->cap) : (16u << 10);
		if (cap < n)
			cap = n;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = cfg_arena;
		b->used = 0;
		b->cap = cap;
		cfg_arena = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static void cfg_arena_free(void *p)
{
	(void)p; /* released with the whole arena */
}

static void cfg_arena_begin(void)
{
	cJSON_Hooks hooks = {cfg_arena_alloc, cfg_arena_free};

	cJSON_InitHooks(&hooks);
}

static void cfg_arena_end(void)
{
	cJSON_InitHooks(NULL);
	while (cfg_arena) {
		cfg_block *next = cfg_arena->next;
		ot_wipe(cfg_arena->data, cfg_arena->used);
		free(cfg_arena);
		cfg_arena = next;
	}
}

static ot_config *cfg_parse_text(const char *text, size_t len, const char *path, long mode,
                                 ot_err *err)
{
	cfg_ctx c;
	const char *end = NULL;
	cJSON *root;
	int rc;

	memset(&c, 0, sizeof(c));
	c.file = path && *path ? path : "(config)";
	c.mode = mode;
	c.err = err;
	if (strspn(text, " \t\r\n") == len) {
		cfg_fail(&c, NULL, "empty file: expected a JSON object");
		return NULL;
	}
	/* The length includes the NUL: cJSON 1.7 otherwise rejects every text when asked to
	 * check that nothing follows the value. */
	cfg_arena_begin();
	root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (!root) {
		cfg_arena_end();
		cfg_json_error(&c, text, len, end);
		return NULL;
	}
	c.cfg = cfg_calloc(1, sizeof(*c.cfg));
	c.dir = cfg_dir_of(c.file);
	rc = cfg_build(&c, root);
	cfg_arena_end(); /* wipes and frees the tree */
	free(c.dir);
	if (rc < 0) {
		ot_config_free(c.cfg);
		return NULL;
	}
	return c.cfg;
}

/* ---- public ---- */

ot_config *ot_config_parse(const char *text, size_t len, const char *path, ot_err *err)
{
	struct stat st;
	long mode = -1;
	char *copy;
	ot_config *cfg;

	if (path && stat(path, &st) == 0)
		mode = (long)st.st_mode;
	copy = cfg_calloc(len + 1, 1);
	if (len)
		memcpy(copy, text, len);
	cfg = cfg_parse_text(copy, len, path, mode, err);
	ot_wipe(copy, len);
	free(copy);
	return cfg;
}

ot_config *ot_config_load(const char *path, ot_err *err)
{
	const char *why = NULL;
	struct stat st;
	ot_config *cfg;
	size_t len = 0;
	char *buf;
	int fd;

	/* O_NONBLOCK: a FIFO with no writer must not hang the open (refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ot_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (st.st_mode & S_IWOTH) {
		close(fd);
		ot_err_set(err, "%s: writable by anyone (mode %04o): chmod o-w %s", path,
		           (unsigned)(st.st_mode & 07777), path);
		return NULL;
	}
	buf = cfg_read_fd(fd, CFG_FILE_MAX, &len, &why);
	close(fd);
	if (!buf) {
		ot_err_set(err, "%s: cannot read: %s", path, why);
		return NULL;
	}
	cfg = cfg_parse_text(buf, len, path, (long)st.st_mode, err);
	ot_wipe(buf, len);
	free(buf);
	return cfg;
}

void ot_config_free(ot_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_providers; i++)
		ot_secret_free(cfg->secrets[i]);
	for (i = 0; i < cfg->n_owned; i++)
		free(cfg->owned[i]);
	free(cfg->secrets);
	free(cfg->providers);
	free(cfg->accounts);
	free(cfg->by_name);
	free(cfg->owned);
	free(cfg);
}

static int cfg_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

static int cfg_locate_copy(const char *path, char *out, size_t outlen, ot_err *err)
{
	if (strlen(path) >= outlen)
		return ot_err_set(err, "%.100s...: configuration path too long", path);
	memcpy(out, path, strlen(path) + 1);
	return 0;
}

/* A path the operator named: it must exist, there is no falling back. */
static int cfg_locate_given(const char *path, const char *by, char *out, size_t outlen, ot_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return ot_err_set(err, "%s: %s (given by %s)", path, strerror(errno), by);
	return cfg_locate_copy(path, out, outlen, err);
}

int ot_config_locate(const char *explicit_path, char *out, size_t outlen, ot_err *err)
{
	const char *env = getenv("OAUTHTOP_CONFIG");
	char *user;
	int rc;

	if (explicit_path && *explicit_path)
		return cfg_locate_given(explicit_path, "--config", out, outlen, err);
	if (env && *env)
		return cfg_locate_given(env, "$OAUTHTOP_CONFIG", out, outlen, err);
	user = cfg_xdg_path("XDG_CONFIG_HOME", ".config", "oauthtop/config.json");
	if (cfg_exists(user))
		rc = cfg_locate_copy(user, out, outlen, err);
	else if (cfg_exists(CFG_SYSTEM_CONFIG))
		rc = cfg_locate_copy(CFG_SYSTEM_CONFIG, out, outlen, err);
	else
		rc = ot_err_set(err,
		                "no configuration file: looked for %s and %s (use --config FILE or "
		                "set OAUTHTOP_CONFIG)",
		                user, CFG_SYSTEM_CONFIG);
	free(user);
	return rc;
}

const ot_settings *ot_config_settings(const ot_config *cfg)
{
	return &cfg->settings;
}

void ot_config_set_store_path(ot_config *cfg, const char *path)
{
	if (cfg && path && *path)
		cfg_replace(cfg, &cfg->settings.store_path, path);
}

size_t ot_config_account_count(const ot_config *cfg)
{
	return cfg->n_accounts;
}

const ot_account *ot_config_account(const ot_config *cfg, size_t i)
{
	return i < cfg->n_accounts ? &cfg->accounts[i] : NULL;
}

const ot_account *ot_config_find_account(const ot_config *cfg, const char *name)
{
	const ot_account *const *hit;

	if (!cfg || !name || !cfg->by_name)
		return NULL;
	hit = bsearch(name, cfg->by_name, cfg->n_accounts, sizeof(*cfg->by_name), cfg_find_cmp);
	return hit ? *hit : NULL;
}

size_t ot_config_account_by_name(const ot_config *cfg, size_t i)
{
	return i < cfg->n_accounts ? (size_t)(cfg->by_name[i] - cfg->accounts) : SIZE_MAX;
}

size_t ot_config_provider_count(const ot_config *cfg)
{
	return cfg->n_providers;
}

const ot_provider *ot_config_provider(const ot_config *cfg, size_t i)
{
	return i < cfg->n_providers ? &cfg->providers[i] : NULL;
}

static ot_provider *cfg_provider_find(const ot_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; cfg && name && i < cfg->n_providers; i++)
		if (cfg->providers[i].name && !strcmp(cfg->providers[i].name, name))
			return &cfg->providers[i];
	return NULL;
}

const ot_provider *ot_config_find_provider(const ot_config *cfg, const char *name)
{
	return cfg_provider_find(cfg, name);
}

void ot_config_provider_set_endpoints(ot_config *cfg, const char *provider, const char *token_url,
                                      const char *device_url, const char *authorization_url,
                                      const char *revocation_url, const char *introspection_url)
{
	ot_provider *p = cfg_provider_find(cfg, provider);

	if (!p)
		return;
	if (token_url)
		cfg_replace(cfg, &p->token_url, token_url);
	if (device_url)
		cfg_replace(cfg, &p->device_authorization_url, device_url);
	if (authorization_url)
		cfg_replace(cfg, &p->authorization_url, authorization_url);
	if (revocation_url)
		cfg_replace(cfg, &p->revocation_url, revocation_url);
	if (introspection_url)
		cfg_replace(cfg, &p->introspection_url, introspection_url);
}

/* ---- URLs ---- */

/* Strict dotted quad in 127.0.0.0/8: four decimal parts 0-255 without leading zeros. */
static int url_ipv4_loopback(const char *h)
{
	int part, v[4];

	for (part = 0; part < 4; part++) {
		int n = 0;

		v[part] = 0;
		while (h[n] >= '0' && h[n] <= '9' && n < 4)
			v[part] = v[part] * 10 + (h[n++] - '0');
		if (n == 0 || n > 3 || (n > 1 && h[0] == '0') || v[part] > 255)
			return 0;
		h += n;
		if (part < 3 && *h++ != '.')
			return 0;
	}
	return *h == '\0' && v[0] == 127;
}

static int url_port_ok(const char *p, const char *end)
{
	long v = 0;
	const char *d;

	if (p == end)
		return 1;
	if (*p != ':' || end - p < 2 || end - p > 6)
		return 0;
	for (d = p + 1; d < end; d++) {
		if (*d < '0' || *d > '9')
			return 0;
		v = v * 10 + (*d - '0');
	}
	return v >= 1 && v <= 65535;
}

/* The authority of an http:// URL names a loopback host, with no userinfo. */
static int url_loopback(const char *a)
{
	size_t n = strcspn(a, "/?#");
	const char *end = a + n, *host_end, *port;
	char host[64];
	struct in6_addr in6;

	if (n == 0 || memchr(a, '@', n) || memchr(a, '\\', n) || memchr(a, '%', n))
		return 0;
	if (a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (!close || (size_t)(close - a - 1) >= sizeof(host))
			return 0;
		memcpy(host, a + 1, (size_t)(close - a - 1));
		host[close - a - 1] = '\0';
		if (inet_pton(AF_INET6, host, &in6) != 1 ||
		    memcmp(&in6, &in6addr_loopback, sizeof(in6)))
			return 0;
		return url_port_ok(close + 1, end);
	}
	port = memchr(a, ':', n);
	host_end = port ? port : end;
	if ((size_t)(host_end - a) >= sizeof(host))
		return 0;
	memcpy(host, a, (size_t)(host_end - a));
	host[host_end - a] = '\0';
	if (strcasecmp(host, "localhost") && !url_ipv4_loopback(host))
		return 0;
	return url_port_ok(host_end, end);
}

int ot_url_allowed(const char *url)
{
	const char *p;

	if (!url)
		return 0;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	if (!strncasecmp(url, "https://", 8))
		return strcspn(url + 8, "/?#") > 0;
	if (!strncasecmp(url, "http://", 7))
		return url_loopback(url + 7);
	return 0;
}

const char *ot_grant_name(ot_grant g)
{
	switch (g) {
	case OT_GRANT_REFRESH_TOKEN:
		return "refresh_token";
	case OT_GRANT_CLIENT_CREDENTIALS:
		return "client_credentials";
	}
	return "?";
}

const char *ot_auth_method_name(ot_auth_method m)
{
	switch (m) {
	case OT_AUTH_BASIC:
		return "client_secret_basic";
	case OT_AUTH_POST:
		return "client_secret_post";
	case OT_AUTH_NONE:
		return "none";
	}
	return "?";
}
